// The environment every service reads beside its own: where its ops server
// listens, its log level and its shutdown timing (the deployer sets the names
// in COMMON_SERVICE_ENV, app-descriptor.ts; the tracing variables come from
// @golive/tracing/env). One schema, so the services cannot drift apart.
import { z } from "zod";
import { OPS_PORT } from "./contract";
import { envInt, logLevel } from "./env";

export const serviceEnvSchema = z.object({
  OPS_HOST: z.string().min(1).default("0.0.0.0"),
  OPS_PORT: envInt(0, 65535).default(OPS_PORT),
  LOG_LEVEL: logLevel,
  /** In-flight work gets this long after SIGTERM (and the drain delay) before the process exits. */
  SHUTDOWN_GRACE_MS: envInt(1000, 600_000).default(20_000),
  /** After SIGTERM, readiness is off but requests are still served this long, so endpoints drop this pod first. */
  SHUTDOWN_DRAIN_DELAY_MS: envInt(0, 60_000).default(0),
});
