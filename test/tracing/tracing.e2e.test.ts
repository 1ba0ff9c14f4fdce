// Tracing end to end on real processes: the gateway and the feed export to an
// OpenTelemetry Collector built from tools/otelcol, which tail-samples and
// forwards to Jaeger v2. One HTTP request must come back from Jaeger's query
// API as one trace (edge parent -> gateway HTTP span -> gRPC client span ->
// feed server span -> SQL spans) whose id is in both services' logs; head
// sampling must hold its ratio over 10,000 requests; and the tail sampler must
// keep every error trace while it drops the rest.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { startFeedProcess, waitFor } from "@golive/devkit/feed-process";
import { type GatewayProcess, prepareDatabase, startGatewayProcess } from "@golive/devkit/gateway-process";
import { freePort, startTestPostgres, type TestPostgres } from "@golive/devkit/postgres";
import type { ServiceProcess } from "@golive/devkit/service-process";
import {
  type Collector,
  type Jaeger,
  type JaegerSpan,
  startCollector,
  startJaeger,
} from "@golive/devkit/trace-backends";
import { metricNames } from "../../alerting/promql";
import { loadRuleFiles } from "../../alerting/rule-files";

const hex = (bytes: number) => randomBytes(bytes).toString("hex");

describe("tracing through the collector into Jaeger", { timeout: 300_000 }, () => {
  let pg: TestPostgres;
  let seed: Awaited<ReturnType<typeof prepareDatabase>>;
  let jaeger: Jaeger;
  const collectors: Collector[] = [];
  const procs: ServiceProcess[] = [];
  let feedAddress: string;

  const collector = async (opts: Parameters<typeof startCollector>[0]) => {
    const c = await startCollector(opts);
    collectors.push(c);
    return c;
  };
  const gateway = async (env: Record<string, string>): Promise<GatewayProcess> => {
    const gw = await startGatewayProcess(
      { FEED_ADDRESS: feedAddress, LOG_LEVEL: "info", ...env },
      { http: await freePort(), ops: await freePort() },
    );
    procs.push(gw);
    return gw;
  };

  before(async () => {
    pg = await startTestPostgres();
    seed = await prepareDatabase(pg.url);
    jaeger = await startJaeger();
    const main = await collector({ jaeger: jaeger.otlpGrpc, keepPercent: 100, slowMs: 500 });
    const feed = await startFeedProcess(
      {
        DATABASE_URL: pg.url,
        LOG_LEVEL: "debug",
        FEED_PAGE_CACHE_TTL_MS: "0",
        OTEL_EXPORTER_OTLP_ENDPOINT: main.endpoint,
        OTEL_TRACES_SAMPLER_ARG: "1",
      },
      { grpc: await freePort(), ops: await freePort() },
    );
    procs.push(feed);
    feedAddress = `127.0.0.1:${feed.grpcPort}`;
  });

  after(async () => {
    for (const p of procs) {
      p.child.kill("SIGTERM");
      await p.exited;
    }
    for (const c of collectors) await c.stop();
    await jaeger?.stop();
    pg?.destroy();
  });

  test("one HTTP request is one trace: gateway HTTP and gRPC client spans, the feed's server span and its SQL", async () => {
    const gw = await gateway({
      OTEL_EXPORTER_OTLP_ENDPOINT: collectors[0]?.endpoint ?? "",
      OTEL_TRACES_SAMPLER_ARG: "1",
    });
    const traceId = hex(16);
    const edgeSpan = hex(8);
    const res = await fetch(`${gw.url}/v1/feed?userId=${seed.userIds[0]}&limit=5`, {
      headers: { traceparent: `00-${traceId}-${edgeSpan}-01`, "x-request-id": "trace-rid-1" },
    });
    assert.equal(res.status, 200);

    let spans: JaegerSpan[] = [];
    const service = (s: JaegerSpan, t: { processes: Record<string, { serviceName: string }> }) =>
      t.processes[s.processID]?.serviceName;
    const byService: Record<string, JaegerSpan[]> = {};
    await waitFor(
      "the trace in Jaeger with spans from both services and the database",
      async () => {
        const trace = await jaeger.trace(traceId);
        if (!trace) return false;
        spans = trace.spans;
        for (const key of Object.keys(byService)) delete byService[key];
        for (const s of spans) {
          const name = service(s, trace) ?? "?";
          byService[name] = [...(byService[name] ?? []), s];
        }
        return (byService.feed ?? []).some((s) => /^pg\./.test(s.operationName)) && !!byService.gateway;
      },
      15_000,
    );
    const parentOf = (s: JaegerSpan) => s.references.find((r) => r.refType === "CHILD_OF")?.spanID;
    const tag = (s: JaegerSpan, key: string) => s.tags.find((t) => t.key === key)?.value;
    const named = (list: JaegerSpan[] | undefined, name: string) =>
      list?.find((s) => s.operationName === name);

    const http = named(byService.gateway, "GET /v1/feed");
    assert.ok(http, `no gateway HTTP span in ${spans.map((s) => s.operationName).join(", ")}`);
    assert.equal(parentOf(http), edgeSpan, "the HTTP span continues the edge's trace context");
    assert.equal(tag(http, "request.id"), "trace-rid-1");
    const client = named(byService.gateway, "grpc.feed.v1.FeedService/GetFeed");
    assert.ok(client, "no gRPC client span");
    assert.equal(parentOf(client), http.spanID);
    const server = named(byService.feed, "grpc.feed.v1.FeedService/GetFeed");
    assert.ok(server, "no feed server span");
    assert.equal(
      parentOf(server),
      client.spanID,
      "the feed continues the gateway's trace through gRPC metadata",
    );
    assert.equal(tag(server, "request.id"), "trace-rid-1", "the feed reads the request id");
    const sql = (byService.feed ?? []).filter((s) => /^pg\./.test(s.operationName));
    const feedIds = new Set((byService.feed ?? []).map((s) => s.spanID));
    assert.ok(
      sql.every((s) => feedIds.has(parentOf(s) ?? "")),
      "every SQL span belongs to the feed's call",
    );

    // Both services' latency histograms hold the trace as an exemplar (OpenMetrics).
    const exemplar = new RegExp(`_bucket\\{[^}]*\\} \\d+ # \\{trace_id="${traceId}"\\}`);
    const gatewayMetrics = await (await fetch(`http://127.0.0.1:${gw.opsPort}/metrics`)).text();
    assert.match(gatewayMetrics, new RegExp(`^http_request_duration_seconds${exemplar.source}`, "m"));
    const feedMetrics = await (await fetch(`http://127.0.0.1:${procs[0]?.opsPort}/metrics`)).text();
    assert.match(feedMetrics, new RegExp(`^grpc_server_handling_seconds${exemplar.source}`, "m"));

    // The same id in both services' log lines.
    await waitFor("log lines", async () => procs[0]?.output().includes(traceId) === true, 5000);
    assert.match(gw.output(), new RegExp(`"trace_id":"${traceId}"`));
    assert.match(
      procs[0]?.output() ?? "",
      new RegExp(`"trace_id":"${traceId}".*"rpc ok"|"rpc ok".*"trace_id":"${traceId}"`),
    );
  });

  test("head sampling keeps its ratio over 10,000 requests (10 %, within 5 standard deviations)", async () => {
    const counting = await collector({ keepPercent: 100, slowMs: 60_000, decisionWaitMs: 500 });
    const gw = await gateway({
      OTEL_EXPORTER_OTLP_ENDPOINT: counting.endpoint,
      OTEL_TRACES_SAMPLER_ARG: "0.1",
      LOG_LEVEL: "warn",
    });
    const total = 10_000;
    let next = 0;
    let failed = 0;
    const video = seed.videoIds[0];
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < total) {
          next += 1;
          const res = await fetch(`${gw.url}/v1/videos/${video}`);
          await res.arrayBuffer();
          if (res.status !== 200) failed += 1;
        }
      }),
    );
    assert.equal(failed, 0);
    const expected = total * 0.1;
    const sd = Math.sqrt(total * 0.1 * 0.9);
    // Shutdown flushes the gateway's batched spans ("flush traces"); then the
    // count must hold still for longer than the sampler's decision wait.
    gw.child.kill("SIGTERM");
    await gw.exited;
    let kept = -1;
    let stableSince = Date.now();
    await waitFor(
      "the collector to write what it kept",
      async () => {
        const now = counting.keptTraces().size;
        if (now !== kept) [kept, stableSince] = [now, Date.now()];
        // Longer than the services' export interval (1 s, apps/tracing/src/tracing.ts).
        return kept > 0 && Date.now() - stableSince > 3000;
      },
      30_000,
    );
    console.log(`sampled ${kept} of ${total} traces (expected ${expected} ± ${Math.round(5 * sd)})`);
    // On a miss, what the SDK said (dropped spans, failed exports) and what the collector took in.
    const sdkWarnings = gw
      .output()
      .split("\n")
      .filter((l) => l.includes("opentelemetry:"));
    const received = (await (await fetch(counting.metricsUrl)).text())
      .split("\n")
      .filter((l) => /^otelcol_(receiver_(accepted|refused)|processor_tail_sampling_count_traces)/.test(l));
    assert.ok(
      Math.abs(kept - expected) <= 5 * sd,
      `${kept} traces sampled of ${total}\nSDK: ${sdkWarnings.join("\n") || "no warning"}\ncollector: ${received.join("\n")}`,
    );
  });

  test("the collector exposes every metric the tracing alerts read, with a failing export", async () => {
    const unreachable = `127.0.0.1:${await freePort()}`;
    const failing = await collector({
      jaeger: unreachable,
      keepPercent: 100,
      slowMs: 60_000,
      decisionWaitMs: 200,
      retry: false,
    });
    const gw = await gateway({
      OTEL_EXPORTER_OTLP_ENDPOINT: failing.endpoint,
      OTEL_TRACES_SAMPLER_ARG: "1",
      LOG_LEVEL: "warn",
    });
    const read = new Set(
      loadRuleFiles()
        .filter((f) => f.name === "tracing")
        .flatMap((f) => f.groups.flatMap((g) => g.rules.flatMap((r) => metricNames(r.expr))))
        .filter((m) => m.startsWith("otelcol_")),
    );
    assert.ok(read.size >= 4, `tracing alerts read ${[...read].join(", ")}`);
    let exposed = new Set<string>();
    await waitFor(
      "the failed export to show in the collector's metrics",
      async () => {
        await (await fetch(`${gw.url}/v1/videos/${seed.videoIds[0]}`)).arrayBuffer();
        const text = await (await fetch(failing.metricsUrl)).text();
        exposed = new Set(text.split("\n").map((l) => l.split(/[{ ]/)[0] ?? ""));
        return exposed.has("otelcol_exporter_send_failed_spans");
      },
      30_000,
    );
    assert.deepEqual(
      [...read].filter((m) => !exposed.has(m)),
      [],
      "alerts read metrics the collector does not expose",
    );
  });

  test("the tail sampler keeps every error trace and drops the rest when its share is 0 %", async () => {
    const tail = await collector({ keepPercent: 0, slowMs: 60_000, decisionWaitMs: 500 });
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: tail.endpoint,
      OTEL_TRACES_SAMPLER_ARG: "1",
      LOG_LEVEL: "warn",
    };
    const healthy = await gateway(env);
    // Nothing listens here: every call fails, and the HTTP answer is 503.
    const broken = await gateway({
      ...env,
      FEED_ADDRESS: `127.0.0.1:${await freePort()}`,
      FEED_DEADLINE_MS: "200",
    });
    const ok: string[] = [];
    const failing: string[] = [];
    for (let i = 0; i < 30; i += 1) {
      const id = hex(16);
      const res = await fetch(`${healthy.url}/v1/videos/${seed.videoIds[0]}`, {
        headers: { traceparent: `00-${id}-${hex(8)}-01` },
      });
      assert.equal(res.status, 200);
      ok.push(id);
    }
    for (let i = 0; i < 10; i += 1) {
      const id = hex(16);
      const res = await fetch(`${broken.url}/v1/videos/${seed.videoIds[0]}`, {
        headers: { traceparent: `00-${id}-${hex(8)}-01` },
      });
      assert.ok(res.status >= 500, `status ${res.status}`);
      failing.push(id);
    }
    await waitFor(
      "every error trace kept",
      async () => failing.every((id) => tail.keptTraces().has(id)),
      15_000,
    );
    // Give the sampler its decision wait again, then nothing healthy may have been kept.
    await new Promise((r) => setTimeout(r, 1500));
    const kept = tail.keptTraces();
    assert.deepEqual(
      ok.filter((id) => kept.has(id)),
      [],
      "a healthy trace was kept at a 0 % share",
    );
    assert.ok(
      failing.every((id) => kept.get(id)?.error),
      "kept error traces carry the error status",
    );
  });
});
