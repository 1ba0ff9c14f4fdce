// Gateway configuration, read once from the environment at start-up.

import { featureFlagsEnvSchema } from "@golive/flags/feature-flags";
import { envInt, parseEnv } from "@golive/shared/env";
import { serviceEnvSchema } from "@golive/shared/service-env";
import { tracingEnvSchema } from "@golive/tracing/env";
import { z } from "zod";
import { GATEWAY_HTTP_PORT } from "./contract";

export const gatewayEnvSchema = z.object({
  FEED_ADDRESS: z.string().min(1, "required: the feed gRPC target, e.g. dns:///feed-grpc:50051"),
  HTTP_HOST: z.string().min(1).default("0.0.0.0"),
  HTTP_PORT: envInt(0, 65535).default(GATEWAY_HTTP_PORT),
  ...serviceEnvSchema.shape,
  /** Whole budget of one feed call, retries included: no HTTP request waits on the feed longer. */
  FEED_DEADLINE_MS: envInt(10, 60_000).default(1000),
  FEED_RETRY_MAX_ATTEMPTS: envInt(0, 5).default(2),
  /** Retries allowed as a fraction of calls (token bucket), so an outage cannot multiply load. */
  FEED_RETRY_BUDGET_RATIO: z.coerce.number().min(0).max(1).default(0.2),
  FEED_RETRY_BUDGET_MIN_PER_SECOND: envInt(0, 1000).default(5),
  BREAKER_CONSECUTIVE_FAILURES: envInt(1, 1000).default(5),
  BREAKER_HALF_OPEN_AFTER_MS: envInt(50, 600_000).default(5000),
  STALE_CACHE_ENTRIES: envInt(0, 1_000_000).default(1000),
  STALE_MAX_AGE_MS: envInt(1000, 86_400_000).default(600_000),
  HTTP_BODY_LIMIT_BYTES: envInt(256, 1_048_576).default(16_384),
  /** A request's headers and body must arrive within this, or it gets 408 (slow clients hold no socket). */
  HTTP_REQUEST_TIMEOUT_MS: envInt(1000, 300_000).default(10_000),
  /** Idle keep-alive connections close after this; above common load balancer idle timeouts (60 s). */
  HTTP_KEEP_ALIVE_TIMEOUT_MS: envInt(1000, 600_000).default(72_000),
  WS_MAX_PAYLOAD_BYTES: envInt(256, 1_048_576).default(8192),
  WS_MAX_BUFFERED_BYTES: envInt(1024, 64 * 1_048_576).default(1_048_576),
  WS_PING_INTERVAL_MS: envInt(100, 600_000).default(30_000),
  /**
   * Proxies in front of the gateway whose X-Forwarded-For entry is trusted:
   * 1 behind the edge (Envoy appends the address it was called from), so
   * the request log's client is the caller and not the edge. 0: the socket's peer.
   */
  TRUST_PROXY_HOPS: envInt(0, 5).default(0),
  /** The key the request log hashes client addresses under (client-ip.ts); a Pulumi-generated Secret in the stack. */
  // Empty is unset (a per-process key).
  LOG_IP_HASH_KEY: z
    .union([z.literal(""), z.string().min(32, "must be at least 32 characters (the stack generates 48)")])
    .optional()
    .transform((v) => v || undefined),
  ...featureFlagsEnvSchema.shape,
  ...tracingEnvSchema.shape,
});

export type GatewayConfig = z.infer<typeof gatewayEnvSchema>;

export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  return parseEnv(gatewayEnvSchema, env);
}
