// The variables loadtest/drill.js reads (k6's __ENV), named once: the local
// orchestrator (loadtest/local/drill.ts) and the in-cluster CronJob
// (infra/components/loadtest.ts) type their env against these names, and
// loadtest/test/drill-env.test.ts checks that drill.js reads exactly them.
export const DRILL_ENV = {
  GATEWAY_URL: "the gateway (or the edge's public URL) the HTTP and WebSocket flows go to",
  FEED_GRPC_ADDRS: "comma-separated feed gRPC addresses k6 calls directly",
  PROTO_DIR: "where feed/v1/feed.proto is, for k6's gRPC client",
  PROFILE: "smoke, load or soak",
  DURATION: "replaces the profile's length (a k6 duration)",
  WAF_MODE: "blocking, detection or none: what the attack scenario expects",
  WAF_ENGINE:
    "wasm or ext-authz (golive:waf.engine): ext-authz also expects every attack refused before the gateway",
  EDGE_ADDR_FILE: "a file holding the edge Service's address, which the public host name resolves to",
  DRILL_TOKEN: "the token that lifts the per-client rate limit for the drill's requests",
  LATENCY_P95_MS: "the p95 threshold per flow (default 50, the SLO)",
  TRACE_SHARE: "the share of requests sent with a sampled traceparent",
  SUMMARY_PATH: "where k6 writes its end-of-test summary (JSON)",
} as const;

export type DrillEnvName = keyof typeof DRILL_ENV;

/** A drill environment whose names are checked at compile time. */
export type DrillEnv = Partial<Record<DrillEnvName, string>>;
