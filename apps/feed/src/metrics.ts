// The feed's Prometheus metrics, on a registry per service instance so tests
// can run several instances in one process.

import { createServiceRegistry, LATENCY_BUCKETS } from "@golive/shared/metrics";
import { Counter, Gauge, Histogram } from "prom-client";

export interface PoolStats {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

export function createFeedMetrics(pool: PoolStats) {
  const registry = createServiceRegistry();
  return {
    registry,
    handled: new Counter({
      name: "grpc_server_handled_total",
      help: "RPCs completed on the server, by status code.",
      labelNames: ["grpc_service", "grpc_method", "grpc_code"] as const,
      registers: [registry],
    }),
    handling: new Histogram({
      name: "grpc_server_handling_seconds",
      help: "Time from the start of an RPC to its status, in seconds.",
      labelNames: ["grpc_service", "grpc_method"] as const,
      buckets: LATENCY_BUCKETS,
      enableExemplars: true,
      registers: [registry],
    }),
    dbQuery: new Histogram({
      name: "feed_db_query_duration_seconds",
      help: "Time per SQL statement by its name (FeedStore), round trip included.",
      labelNames: ["statement"] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    likeQueueDepth: new Gauge({
      name: "feed_like_queue_depth",
      help: "Like events waiting for the worker to fold them into like counts.",
      registers: [registry],
    }),
    dbUp: new Gauge({
      name: "feed_db_up",
      help: "1 when the database answered the last probe, else 0.",
      registers: [registry],
    }),
    poolConnections: new Gauge({
      name: "feed_db_pool_connections",
      help: "Database pool clients by state.",
      labelNames: ["state"] as const,
      registers: [registry],
      collect() {
        this.set({ state: "total" }, pool.totalCount);
        this.set({ state: "idle" }, pool.idleCount);
        this.set({ state: "waiting" }, pool.waitingCount);
      },
    }),
    pageCache: new Counter({
      name: "feed_page_cache_lookups_total",
      help: "GetFeed page cache lookups: hit, miss (a query ran) or shared (waited for another call's query).",
      labelNames: ["result"] as const,
      registers: [registry],
    }),
    streamsOpen: new Gauge({
      name: "feed_message_streams_open",
      help: "Open StreamMessages calls on this replica.",
      registers: [registry],
    }),
  };
}

export type FeedMetrics = ReturnType<typeof createFeedMetrics>;
