// What every service promises whoever deploys it, and the type that ties the
// deployer's environment variables to the names a config schema reads.
import type { z } from "zod";

/** The ops port every service serves /metrics and /health/* on. */
export const OPS_PORT = 9464;

/** The paths the ops server answers the kubelet's probes on (ops-server.ts; infra's probes). */
export const HEALTH_PATHS = { health: "/health", live: "/health/live", ready: "/health/ready" } as const;

/** The request id: an HTTP header at the gateway, gRPC metadata to the feed, a field in both logs. */
export const REQUEST_ID_HEADER = "x-request-id";

/**
 * The only form in which a caller's request id or idempotency key is kept,
 * logged or passed on (anything else is replaced or refused): a short token
 * of safe characters.
 */
export const SAFE_TOKEN = /^[A-Za-z0-9._:-]{1,128}$/;

/** The environment variable names a config schema reads: a misspelt one is a type error. */
export type EnvName<S extends z.ZodType> = keyof z.input<S> & string;
