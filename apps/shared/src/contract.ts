// What every service promises whoever deploys it, and the type that ties the
// deployer's environment variables to the names a config schema reads.
import type { z } from "zod";

/** The ops port every service serves /metrics and /health/* on. */
export const OPS_PORT = 9464;

/**
 * The only form in which a caller's request id or idempotency key is kept,
 * logged or passed on (anything else is replaced or refused): a short token
 * of safe characters.
 */
export const SAFE_TOKEN = /^[A-Za-z0-9._:-]{1,128}$/;

/** The environment variable names a config schema reads: a misspelt one is a type error. */
export type EnvName<S extends z.ZodType> = keyof z.input<S> & string;
