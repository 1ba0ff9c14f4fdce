// The gateway as infra deploys it (apps/shared/src/app-descriptor.ts): the
// public API's backend behind the edge, calling the feed over gRPC.
import { defineService } from "@golive/shared/app-descriptor";
import { GATEWAY_HTTP_PORT, type GatewayEnv } from "./contract";

export const gatewayApp = defineService<GatewayEnv>({
  kind: "service",
  name: "gateway",
  image: { dockerfile: "apps/gateway/Dockerfile" },
  ports: [{ name: "http", port: GATEWAY_HTTP_PORT }],
  env: { FEED_ADDRESS: { addressOf: "feed", port: "grpc" }, HTTP_PORT: String(GATEWAY_HTTP_PORT) },
  probes: {
    startup: { http: "live", periodSeconds: 2, failureThreshold: 30 },
    liveness: { http: "live", periodSeconds: 10, failureThreshold: 3 },
    readiness: { http: "ready", periodSeconds: 5, failureThreshold: 2 },
  },
  public: true,
  calls: [{ app: "feed", port: "grpc" }],
  dashboard: "dashboards/gateway.json",
  rules: "apps/gateway/alerts.yaml",
});
