// End to end against the real services: Postgres, the feed and the gateway
// run as processes (their real main.ts), a real Prometheus scrapes their ops
// ports with the rule files loaded. Proves that (1) every metric name the
// rules and dashboards use is exported by the services (or produced by a
// recording rule, or comes from a listed external exporter), (2) the rules
// evaluate without errors, (3) every service dashboard query returns data,
// (4) a real k6 run of loadtest/drill.js (PROFILE=probe) pushing through
// Prometheus remote write fills every k6 query of the drill dashboard, and
// (5) a preflight report sent through a real collector's remote write fills
// the preflight dashboard and fires PreflightMoneyMayBeHeld.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { freePort, startTestPostgres, type TestPostgres } from "@golive/devkit/postgres";
import { seedDatabase } from "@golive/devkit/seed-data";
import { spawnService } from "@golive/devkit/service-process";
import { startMetricsCollector } from "@golive/devkit/trace-backends";
import { runMigrations } from "@golive/feed/migrate";
import { exportReport } from "@golive/preflight/metrics";
import { buildReport } from "@golive/preflight/report";
import { Pool } from "pg";
import { WebSocket } from "ws";
import { stringify } from "yaml";
import { dashboards } from "../dashboards/build";
import { metricNames } from "./promql";
import { allRuleFiles, ruleFilePaths } from "./rule-files";

const repoRoot = path.resolve(__dirname, "..");
const HOST = "127.0.0.1";

// Series that come from exporters other than our services. Kept small on purpose.
const EXTERNAL = [
  /^up$/, // Prometheus itself, per target
  /^kube_pod_container_(status_restarts_total|resource_limits)$/, // kube-state-metrics
  /^container_memory_working_set_bytes$/, // kubelet (cAdvisor)
  /^kubelet_volume_stats_(used|capacity)_bytes$/, // kubelet
  /^kube_cronjob_(status_last_successful_time|status_last_schedule_time|next_schedule_time)$/, // kube-state-metrics
  /^prometheus_(rule_evaluation_failures|notifications_errors|notifications_sent)_total$/, // Prometheus self-metrics
  /^loki_request_duration_seconds_count$/, // Loki
  /^otelcol_/, // the OpenTelemetry Collector (names checked against a real one in test/tracing)
  // A service not built here, by the OpenTelemetry HTTP server metric (Go's otelhttp, Python's
  // instrumentations; infra/test/bring-your-own.test.ts runs its alerts under promtool).
  /^http_server_request_duration_seconds_(bucket|count)$/,
  /^probe_(success|ssl_earliest_cert_expiry)$/, // the blackbox exporter (test/synthetic runs a real one)
  /^preflight_(check_status|check_latency_seconds|money_may_be_held|passed|last_run_timestamp_seconds)$/, // a preflight run, through the collector's remote write (before() sends one)
  /^k6_(vus|http_reqs_total|http_req_failed_rate|http_req_duration_p95|http_req_duration_p99|grpc_req_duration_p95|grpc_req_duration_p99|checks_rate|iterations_total)$/, // k6 remote write
];
function exportedNames(metricsText: string): Set<string> {
  const names = new Set<string>();
  for (const m of metricsText.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [name, type] = [m[1] as string, m[2]];
    names.add(name);
    if (type === "histogram") for (const s of ["_bucket", "_sum", "_count"]) names.add(name + s);
    // OpenMetrics (the services' exposition) names a counter's family without _total.
    if (type === "counter" && !name.endsWith("_total")) names.add(`${name}_total`);
  }
  return names;
}

const ruleFiles = allRuleFiles();
const rules = ruleFiles.flatMap((f) => f.groups.flatMap((g) => g.rules));
const recorded = new Set(rules.flatMap((r) => r.record ?? []));
const K6 = path.join(repoRoot, ".tools/bin/k6");
// Grafana substitutes these before a query reaches Prometheus; the values match
// the 1 s scrape and push interval used here (4 x interval, Grafana's rule).
const GRAFANA_VARS: [RegExp, string][] = [
  [/\$__rate_interval\b/g, "4s"],
  [/\$__interval\b/g, "1s"],
];
const substitute = (expr: string): string => GRAFANA_VARS.reduce((e, [re, v]) => e.replace(re, v), expr);
const dashboardQueries = dashboards.flatMap((d) =>
  d.panels.flatMap((p) => p.targets.map((t) => ({ dashboard: d.uid, panel: p.title, expr: t.expr }))),
);

describe("observability end to end (real services, real Prometheus)", { timeout: 85_000 }, () => {
  let pg: TestPostgres;
  const procs: ChildProcess[] = [];
  let tmp: string;
  let feedOps = 0;
  let gatewayOps = 0;
  let gatewayHttp = 0;
  let promUrl = "";
  let stopCollector: (() => Promise<void>) | undefined;
  const scraped = { feed: "", gateway: "" };
  const k6 = { code: null as number | null, output: "" };

  /** The drill, short profile, pushing its metrics to Prometheus; bounded by a kill timer. */
  function runDrill(env: Record<string, string>): Promise<void> {
    const child = spawn(K6, ["run", "--quiet", "-o", "experimental-prometheus-rw", "loadtest/drill.js"], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? "", HOME: tmp, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    procs.push(child);
    const collect = (b: Buffer) => {
      k6.output += b;
    };
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    const timer = setTimeout(() => child.kill("SIGKILL"), 40_000);
    return new Promise((resolve) =>
      child.once("exit", (code) => {
        clearTimeout(timer);
        k6.code = code;
        resolve();
      }),
    );
  }

  async function start(entry: string, env: Record<string, string>): Promise<void> {
    const proc = await spawnService({
      entry,
      env: { LOG_LEVEL: "warn", ...env },
      opsPort: Number(env.OPS_PORT),
      probe: "ready",
    });
    procs.push(proc.child);
  }

  async function waitFor(url: string, ok: (status: number) => boolean = (s) => s === 200): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const status = await fetch(url).then(
        (r) => r.status,
        () => 0,
      );
      if (ok(status)) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${url} not ready within 30 s`);
  }

  before(async () => {
    tmp = mkdtempSync(path.join(tmpdir(), "golive-e2e-"));
    pg = await startTestPostgres();
    await runMigrations(pg.url);
    // The drill's setup() reads videos and their authors through the gateway.
    const pool = new Pool({ connectionString: pg.url, max: 2 });
    try {
      await seedDatabase(pool, { users: 20, videos: 60, likes: 100 });
    } finally {
      await pool.end();
    }
    const grpcPort = await freePort();
    [feedOps, gatewayOps, gatewayHttp] = [await freePort(), await freePort(), await freePort()];
    await start("apps/feed/src/main.ts", {
      DATABASE_URL: pg.url,
      GRPC_HOST: HOST,
      GRPC_PORT: String(grpcPort),
      OPS_HOST: HOST,
      OPS_PORT: String(feedOps),
    });
    await start("apps/gateway/src/main.ts", {
      FEED_ADDRESS: `${HOST}:${grpcPort}`,
      HTTP_HOST: HOST,
      HTTP_PORT: String(gatewayHttp),
      OPS_HOST: HOST,
      OPS_PORT: String(gatewayOps),
    });

    const promPort = await freePort();
    const config = {
      global: { scrape_interval: "1s", evaluation_interval: "1s" },
      rule_files: ruleFilePaths(ruleFiles, tmp),
      scrape_configs: [
        { job_name: "feed", static_configs: [{ targets: [`${HOST}:${feedOps}`] }] },
        { job_name: "gateway", static_configs: [{ targets: [`${HOST}:${gatewayOps}`] }] },
      ],
    };
    writeFileSync(path.join(tmp, "prometheus.yml"), stringify(config));
    const prom = spawn(
      "prometheus",
      [
        `--config.file=${path.join(tmp, "prometheus.yml")}`,
        `--storage.tsdb.path=${path.join(tmp, "data")}`,
        `--web.listen-address=${HOST}:${promPort}`,
        "--log.level=warn",
        // k6's experimental-prometheus-rw output pushes here (/api/v1/write).
        "--web.enable-remote-write-receiver",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    prom.stderr?.on("data", (b: Buffer) => process.stderr.write(`[prometheus] ${b}`));
    procs.push(prom);
    promUrl = `http://${HOST}:${promPort}`;
    await waitFor(`${promUrl}/-/ready`);

    // A preflight report through the collector's remote write, as a Job's
    // run reaches the stack's Prometheus (its dashboard reads these series).
    const collector = await startMetricsCollector({ remoteWriteUrl: `${promUrl}/api/v1/write` });
    stopCollector = () => collector.stop();
    await exportReport(
      buildReport("local", "run-e2e", new Date(), [
        { name: "dns", status: "ok", latencyMs: 3, reason: "" },
        { name: "payment:stripe", status: "failed", latencyMs: 900, reason: "", moneyMayBeHeld: true },
        { name: "payment:mollie", status: "skipped", latencyMs: 0, reason: "" },
      ]),
      collector.endpoint,
      5_000,
    );

    // The k6 drill runs alongside the hand-made traffic below, to keep the file short.
    const drill = runDrill({
      GATEWAY_URL: `http://${HOST}:${gatewayHttp}`,
      FEED_GRPC_ADDRS: `${HOST}:${grpcPort}`,
      PROTO_DIR: path.join(repoRoot, "proto"),
      PROFILE: "probe",
      K6_PROMETHEUS_RW_SERVER_URL: `${promUrl}/api/v1/write`,
      // The drill dashboard reads p95 and p99 (dashboards/build.ts); med for the summary.
      K6_PROMETHEUS_RW_TREND_STATS: "p(95),p(99),med",
      K6_PROMETHEUS_RW_PUSH_INTERVAL: "1s",
      K6_NO_USAGE_REPORT: "true",
    });

    // Traffic: feed reads, video lookups (404: a client fault, not an error),
    // likes, and one WebSocket session; about 6 s so rates have several samples.
    const base = `http://${HOST}:${gatewayHttp}`;
    const until = Date.now() + 6_000;
    let i = 0;
    while (Date.now() < until) {
      i++;
      const [user, video] = [randomUUID(), randomUUID()];
      await Promise.all([
        fetch(`${base}/v1/feed?userId=${user}&limit=5`).then((r) => r.arrayBuffer()),
        fetch(`${base}/v1/videos/${video}`).then((r) => r.arrayBuffer()),
        fetch(`${base}/v1/videos/${video}/likes`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ userId: user }),
        }).then((r) => r.arrayBuffer()),
      ]);
      if (i === 1) {
        const ws = new WebSocket(`ws://${HOST}:${gatewayHttp}/v1/messages?userId=${user}`);
        ws.on("error", () => {});
        setTimeout(() => ws.close(), 4_000);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    scraped.feed = await fetch(`http://${HOST}:${feedOps}/metrics`).then((r) => r.text());
    scraped.gateway = await fetch(`http://${HOST}:${gatewayOps}/metrics`).then((r) => r.text());
    // A few rule evaluations after the traffic, and the drill's last push.
    await Promise.all([drill, new Promise((r) => setTimeout(r, 3_000))]);
  });

  after(async () => {
    await stopCollector?.();
    for (const p of procs.reverse()) p.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 500));
    for (const p of procs) if (p.exitCode === null) p.kill("SIGKILL");
    pg?.destroy();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test("every metric name in the rules and dashboards is exported by the services, recorded, or external", () => {
    const exported = new Set([...exportedNames(scraped.feed), ...exportedNames(scraped.gateway)]);
    assert.ok(
      exported.has("grpc_server_handled_total") && exported.has("http_requests_total"),
      "scraped both services",
    );
    const used = [...rules.map((r) => r.expr), ...dashboardQueries.map((q) => q.expr)].flatMap(metricNames);
    const unknown = [...new Set(used)].filter(
      (n) => !exported.has(n) && !recorded.has(n) && !EXTERNAL.some((re) => re.test(n)),
    );
    assert.deepEqual(unknown, [], "names used but exported by no service, rule or listed exporter");
  });

  test("the feed labels gRPC codes with grpc-js status names (OK, NOT_FOUND, ...), the form the error rules match", () => {
    assert.match(scraped.feed, /grpc_server_handled_total\{[^}]*grpc_code="(OK|NOT_FOUND|INVALID_ARGUMENT)"/);
  });

  test("Prometheus evaluates every rule group without errors", async () => {
    const body = (await fetch(`${promUrl}/api/v1/rules`).then((r) => r.json())) as {
      data: { groups: { name: string; rules: { name: string; health: string; lastError?: string }[] }[] };
    };
    const all = body.data.groups.flatMap((g) => g.rules.map((r) => ({ group: g.name, ...r })));
    assert.equal(all.length, rules.length);
    const unhealthy = all.filter((r) => r.health !== "ok");
    assert.deepEqual(unhealthy, []);
  });

  async function resultCount(expr: string): Promise<number> {
    const url = `${promUrl}/api/v1/query?query=${encodeURIComponent(substitute(expr))}`;
    const res = (await fetch(url).then((r) => r.json())) as { status: string; data: { result: unknown[] } };
    assert.equal(res.status, "success", expr);
    return res.data.result.length;
  }

  test("every service dashboard query returns data", async (t) => {
    const empty: string[] = [];
    const withData: string[] = [];
    // The drill's k6 series are checked below; the collector's in test/tracing (none runs here).
    for (const q of dashboardQueries.filter((d) => !/\b(k6|otelcol)_/.test(d.expr))) {
      ((await resultCount(q.expr)) > 0 ? withData : empty).push(`${q.dashboard} / ${q.panel}: ${q.expr}`);
    }
    for (const q of withData) t.diagnostic(`data: ${q}`);
    // Retries appear only once a feed call has failed and been retried.
    const expectedEmpty = [/gateway_feed_retries_total/];
    const unexpected = empty.filter((q) => !expectedEmpty.some((re) => re.test(q)));
    for (const q of empty) t.diagnostic(`no data: ${q}`);
    assert.deepEqual(unexpected, []);
  });

  test("a preflight run that left money held fires PreflightMoneyMayBeHeld for that processor only", async () => {
    const query = 'ALERTS{alertname="PreflightMoneyMayBeHeld",alertstate="firing"}';
    const res = (await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(query)}`).then((r) =>
      r.json(),
    )) as {
      data: { result: { metric: Record<string, string> }[] };
    };
    assert.deepEqual(
      res.data.result.map((r) => r.metric.check),
      ["payment:stripe"],
    );
  });

  test("a real k6 drill (PROFILE=probe, remote write) fills every k6 query of the drill dashboard", async (t) => {
    // Exit code 99 means thresholds failed: timing on a shared 2-core machine,
    // not a fault in the metrics path. Anything else means k6 did not run the drill.
    assert.ok(k6.code === 0 || k6.code === 99, `k6 exited ${k6.code}:\n${k6.output}`);
    const k6Queries = dashboardQueries.filter((q) => /\bk6_/.test(q.expr));
    assert.ok(k6Queries.length > 0, "the drill dashboard has k6 queries");
    const empty: string[] = [];
    for (const q of k6Queries) {
      const n = await resultCount(q.expr);
      t.diagnostic(`${n > 0 ? "data" : "no data"} (${n} series): ${q.dashboard} / ${q.panel}: ${q.expr}`);
      if (n === 0) empty.push(`${q.dashboard} / ${q.panel}: ${q.expr}`);
    }
    assert.deepEqual(empty, [], `k6 output:\n${k6.output}`);
    // The panels' legends are {{scenario}}: the drill's scenarios must arrive as that label.
    const url = `${promUrl}/api/v1/query?query=${encodeURIComponent("sum by (scenario) (k6_http_reqs_total)")}`;
    const res = (await fetch(url).then((r) => r.json())) as {
      data: { result: { metric: { scenario?: string } }[] };
    };
    const scenarios = res.data.result.map((r) => r.metric.scenario ?? "").sort();
    for (const s of ["feed_http", "like"]) assert.ok(scenarios.includes(s), `scenario ${s} in ${scenarios}`);
    t.diagnostic(`k6 exit code ${k6.code}; HTTP scenarios: ${scenarios.join(", ")}`);
    for (const line of k6.output.split("\n").filter((l) => /^\s*FAIL\s/.test(l)))
      t.diagnostic(`k6 threshold ${line.trim()}`);
  });
});
