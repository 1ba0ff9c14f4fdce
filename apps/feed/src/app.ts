// The feed as infra deploys it (apps/shared/src/app-descriptor.ts): a gRPC
// service on Postgres, balanced per call through its headless Service, called
// by the gateway and by the drill's k6 directly.
import { defineService } from "@golive/shared/app-descriptor";
import {
  FEED_COMMANDS,
  FEED_GRPC_PORT,
  FEED_HEADLESS_SERVICE,
  FEED_SERVICE_NAME,
  type FeedEnv,
} from "./contract";

export const feedApp = defineService<FeedEnv>({
  kind: "service",
  name: "feed",
  image: {
    dockerfile: "apps/feed/Dockerfile",
    about: [
      "Image for the feed gRPC service; its migrations Job runs the same image with",
      `  command: ["${FEED_COMMANDS.migrate.join('", "')}"] (and dist/db-roles.js).`,
    ],
    cmd: "main.js",
  },
  ports: [{ name: "grpc", port: FEED_GRPC_PORT }],
  headless: { name: FEED_HEADLESS_SERVICE, port: "grpc" },
  env: {
    DATABASE_URL: { databaseUrl: true },
    GRPC_PORT: String(FEED_GRPC_PORT),
    // The drills' faults on GetFeed.
    FLAGS_FILE: { flags: "file" },
    FAULT_INJECTION: { flags: "faultInjection" },
  },
  probes: {
    startup: { grpc: { port: "grpc", service: "" }, periodSeconds: 2, failureThreshold: 30 },
    liveness: { http: "live", periodSeconds: 10, failureThreshold: 3 },
    readiness: { grpc: { port: "grpc", service: FEED_SERVICE_NAME }, periodSeconds: 5, failureThreshold: 2 },
  },
  database: true,
  migrations: true,
  drillCalls: "grpc",
  dashboard: "dashboards/feed.json",
  rules: "apps/feed/alerts.yaml",
});
