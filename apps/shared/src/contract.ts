// What every service promises whoever deploys it, and the type that ties the
// deployer's environment variables to the names a config schema reads.
import type { z } from "zod";

/** The ops port every service serves /metrics and /health/* on. */
export const OPS_PORT = 9464;

/** The environment variable names a config schema reads: a misspelt one is a type error. */
export type EnvName<S extends z.ZodType> = keyof z.input<S> & string;
