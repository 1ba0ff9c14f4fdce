// Feed service configuration, read once from the environment at start-up.

import { featureFlagsEnvSchema } from "@golive/flags/feature-flags";
import { envInt } from "@golive/shared/env";
import { serviceEnvSchema } from "@golive/shared/service-env";
import { tracingEnvSchema } from "@golive/tracing/env";
import { z } from "zod";
import { FEED_GRPC_PORT } from "./contract";

export const feedConfigSchema = z.object({
  DATABASE_URL: z
    .string({ error: "is required (postgres://user:password@host:5432/db)" })
    .pipe(z.url({ protocol: /^postgres(ql)?$/, error: "must be a postgres:// connection string" })),
  GRPC_HOST: z.string().min(1).default("0.0.0.0"),
  GRPC_PORT: envInt(0, 65535).default(FEED_GRPC_PORT),
  // A client looks a dns:/// name up again only when a connection drops, so
  // each connection is closed (GOAWAY, its calls finish) after this long,
  // +-10 %: then a running gateway finds replicas added since it connected.
  GRPC_MAX_CONNECTION_AGE_MS: envInt(1_000, 3_600_000).default(30_000),
  ...serviceEnvSchema.shape,
  DB_POOL_MAX: envInt(1, 1000).default(10),
  // Short timeouts so a database outage turns into fast UNAVAILABLE answers
  // instead of calls queueing until their deadlines.
  // Bounds the wait for a pooled connection as well as a new connection's
  // handshake: well under the gateway's deadline (1 s), so a saturated or
  // stalled replica answers UNAVAILABLE in time for a retry on another one.
  DB_CONNECT_TIMEOUT_MS: envInt(50, 60_000).default(300),
  DB_STATEMENT_TIMEOUT_MS: envInt(100, 600_000).default(5_000),
  DB_PROBE_INTERVAL_MS: envInt(100, 60_000).default(1_000),
  LIKE_WORKER_INTERVAL_MS: envInt(10, 60_000).default(250),
  /** GetFeed pages are served from memory this long (0: off); the staleness bound of GetFeed. */
  FEED_PAGE_CACHE_TTL_MS: envInt(0, 60_000).default(1_000),
  LIKE_WORKER_BATCH: envInt(1, 10_000).default(500),
  ...featureFlagsEnvSchema.shape,
  ...tracingEnvSchema.shape,
});

export type FeedConfig = z.infer<typeof feedConfigSchema>;
