// The gateway's Prometheus metrics, names and labels as the alert rules and
// dashboards expect them (see HELPERS contract / docs/gateway.md).

import { createServiceRegistry, LATENCY_BUCKETS, type ServiceRegistry } from "@golive/shared/metrics";
import { Counter, Gauge, Histogram } from "prom-client";

export interface GatewayMetrics {
  registry: ServiceRegistry;
  httpRequests: Counter<"route" | "method" | "status_code">;
  httpDuration: Histogram<"route" | "method">;
  breakerState: Gauge<"breaker">;
  feedRetries: Counter<"method">;
  staleResponses: Counter;
  websocketConnections: Gauge;
  streamResumes: Counter;
}

export function createGatewayMetrics(): GatewayMetrics {
  const registry = createServiceRegistry();
  return {
    registry,
    httpRequests: new Counter({
      name: "http_requests_total",
      help: "HTTP requests by route template, method and status code.",
      labelNames: ["route", "method", "status_code"] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: "http_request_duration_seconds",
      help: "HTTP request latency by route template and method.",
      labelNames: ["route", "method"] as const,
      buckets: LATENCY_BUCKETS,
      enableExemplars: true,
      registers: [registry],
    }),
    breakerState: new Gauge({
      name: "gateway_circuit_breaker_state",
      help: "Circuit breaker state: 0 closed, 1 half-open, 2 open.",
      labelNames: ["breaker"] as const,
      registers: [registry],
    }),
    feedRetries: new Counter({
      name: "gateway_feed_retries_total",
      help: "Retried feed gRPC calls by method.",
      labelNames: ["method"] as const,
      registers: [registry],
    }),
    staleResponses: new Counter({
      name: "gateway_feed_stale_responses_total",
      help: "Feed pages served from the stale cache while the breaker was open.",
      registers: [registry],
    }),
    websocketConnections: new Gauge({
      name: "gateway_websocket_connections",
      help: "Open WebSocket connections.",
      registers: [registry],
    }),
    streamResumes: new Counter({
      name: "gateway_message_stream_resumes_total",
      help: "Attempts to resume a WebSocket's broken feed message stream from where it left off.",
      registers: [registry],
    }),
  };
}
