// The gateway as infra deploys it (apps/shared/src/app-descriptor.ts): the
// public API's backend behind the edge, calling the feed over gRPC.
import { defineService } from "@golive/shared/app-descriptor";
import { GATEWAY_HTTP_PORT, type GatewayEnv } from "./contract";

export const gatewayApp = defineService<GatewayEnv>({
  kind: "service",
  name: "gateway",
  image: {
    dockerfile: "apps/gateway/Dockerfile",
    about: ["Image for the gateway (HTTP and WebSocket in front of the feed gRPC service)."],
    cmd: "main.js",
    env: {
      why: [
        "Memory sized for the pod's 256Mi limit (resources.gateway.limits.memory)",
        "rather than left to what node detects: on Node 24, V8 sizes its heap from",
        "the machine (under a 256Mi cgroup a 259 MiB heap limit; where no limit is",
        "visible a 128 MiB young generation and gigabytes of old one, and a gateway",
        "under malformed traffic sat at 305 MiB of RSS, issue 29), and glibc gives",
        "each thread that allocates at once an arena of its own. Young (3 x 8) +",
        "old (96) + about 90 MiB outside the heap (node's code, malloc) leaves room",
        "for socket buffers; 96 MiB of old space holds some 4,000 open sockets",
        "(18 KiB each). Past it V8 stops with a heap error in the log rather than an",
        "OOM kill. apps/gateway/test/memory.test.ts holds this to the stack files.",
      ],
      vars: 'NODE_OPTIONS="--max-semi-space-size=8 --max-old-space-size=96" MALLOC_ARENA_MAX=2',
    },
  },
  ports: [{ name: "http", port: GATEWAY_HTTP_PORT }],
  env: {
    FEED_ADDRESS: { addressOf: "feed", port: "grpc" },
    HTTP_PORT: String(GATEWAY_HTTP_PORT),
    // Behind the edge: its X-Forwarded-For entry names the caller.
    TRUST_PROXY_HOPS: "1",
    LOG_IP_HASH_KEY: { generatedSecret: "log-ip-hash-key" },
    // The kill switches (likes-writes, messages).
    FLAGS_FILE: { flags: "file" },
    FAULT_INJECTION: { flags: "faultInjection" },
  },
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
