// End to end against the real services: Postgres, the feed and the gateway
// run as processes (their real main.ts), a real Prometheus scrapes their ops
// ports with the rule files loaded. Proves that (1) every metric name the
// rules and dashboards use is exported by the services (or produced by a
// recording rule, or comes from a listed external exporter), (2) the rules
// evaluate without errors, and (3) every service dashboard query returns data.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { WebSocket } from "ws";
import { stringify } from "yaml";
import { runMigrations } from "../apps/feed/src/migrate";
import { dashboards } from "../dashboards/build";
import { freePort, startTestPostgres, type TestPostgres } from "../test/support/postgres";
import { spawnService } from "../test/support/service-process";
import { loadRuleFiles } from "./rule-files";

const repoRoot = path.resolve(__dirname, "..");
const HOST = "127.0.0.1";

// Series that come from exporters other than our services. Kept small on purpose.
const EXTERNAL = [
  /^up$/, // Prometheus itself, per target
  /^kube_pod_container_status_restarts_total$/, // kube-state-metrics
  /^prometheus_(rule_evaluation_failures|notifications_errors|notifications_sent)_total$/, // Prometheus self-metrics
  /^loki_request_duration_seconds_count$/, // Loki
  /^k6_(vus|http_reqs_total|http_req_failed_rate|http_req_duration_p95|http_req_duration_p99|grpc_req_duration_p95|grpc_req_duration_p99|checks_rate|iterations_total)$/, // k6 remote write
];
const PROMQL_WORDS = new Set(
  "sum by without on ignoring group_left group_right rate increase irate max min avg count histogram_quantile label_replace absent max_over_time min_over_time and or unless offset bool le inf nan topk bottomk".split(
    " ",
  ),
);

/** Metric names in a PromQL expression: identifiers not inside {} or "" and not functions or keywords. */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, "{}")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ")
    .replace(/\[[^\]]*\]/g, "");
  const names = new Set<string>();
  for (const m of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const word = m[0];
    const next = stripped.slice((m.index ?? 0) + word.length).trimStart();
    if (PROMQL_WORDS.has(word) || next.startsWith("(")) continue;
    names.add(word);
  }
  return [...names];
}

function exportedNames(metricsText: string): Set<string> {
  const names = new Set<string>();
  for (const m of metricsText.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [name, type] = [m[1] as string, m[2]];
    names.add(name);
    if (type === "histogram") for (const s of ["_bucket", "_sum", "_count"]) names.add(name + s);
  }
  return names;
}

const ruleFiles = loadRuleFiles();
const rules = ruleFiles.flatMap((f) => f.groups.flatMap((g) => g.rules));
const recorded = new Set(rules.flatMap((r) => r.record ?? []));
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
  const scraped = { feed: "", gateway: "" };

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
      rule_files: ruleFiles.map((f) => f.path),
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
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    prom.stderr?.on("data", (b: Buffer) => process.stderr.write(`[prometheus] ${b}`));
    procs.push(prom);
    promUrl = `http://${HOST}:${promPort}`;
    await waitFor(`${promUrl}/-/ready`);

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
    // A few rule evaluations after the traffic.
    await new Promise((r) => setTimeout(r, 3_000));
  });

  after(async () => {
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

  test("every service dashboard query returns data (k6 drill panels need a k6 run and are listed as skipped)", async (t) => {
    const empty: string[] = [];
    const withData: string[] = [];
    for (const q of dashboardQueries) {
      if (/\bk6_/.test(q.expr)) {
        t.diagnostic(`skipped (k6 remote write only): ${q.dashboard} / ${q.panel}: ${q.expr}`);
        continue;
      }
      const url = `${promUrl}/api/v1/query?query=${encodeURIComponent(q.expr)}`;
      const res = (await fetch(url).then((r) => r.json())) as { status: string; data: { result: unknown[] } };
      assert.equal(res.status, "success", q.expr);
      (res.data.result.length > 0 ? withData : empty).push(`${q.dashboard} / ${q.panel}: ${q.expr}`);
    }
    for (const q of withData) t.diagnostic(`data: ${q}`);
    // Retries appear only once a feed call has failed and been retried.
    const expectedEmpty = [/gateway_feed_retries_total/];
    const unexpected = empty.filter((q) => !expectedEmpty.some((re) => re.test(q)));
    for (const q of empty) t.diagnostic(`no data: ${q}`);
    assert.deepEqual(unexpected, []);
  });
});
