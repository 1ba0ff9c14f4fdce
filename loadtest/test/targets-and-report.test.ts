import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { formatTable, percentile, readK6Points } from "../local/report";
import { assertLoopbackTargets, isLoopback } from "../local/targets";

test("the drill accepts loopback targets only, unless explicitly allowed", () => {
  for (const host of ["127.0.0.1", "127.3.2.1", "::1", "localhost"])
    assert.equal(isLoopback(host), true, host);
  for (const host of ["10.0.0.5", "192.168.1.2", "8.8.8.8", "::ffff:10.0.0.1", "example.com"]) {
    assert.equal(isLoopback(host), false, host);
  }
  assertLoopbackTargets(
    ["http://127.0.0.1:8080", "127.0.0.1:50051", "ws://[::1]:8080", "[::1]:50051"],
    false,
  );
  assert.throws(
    () => assertLoopbackTargets(["http://127.0.0.1:8080", "feed.prod.svc:50051"], false),
    /refusing to send load to non-loopback target\(s\) feed\.prod\.svc:50051/,
  );
  assertLoopbackTargets(["http://gateway.staging.example:8080"], true);
});

test("percentile picks the nearest rank", () => {
  const values = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(values, 95), 95);
  assert.equal(percentile(values, 99), 99);
  assert.equal(percentile([7], 99), 7);
  assert.ok(Number.isNaN(percentile([], 95)));
});

test("the k6 point stream becomes per-flow rows and a chaos window", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k6-points-"));
  const file = path.join(dir, "points.json");
  const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString().replace("Z", "123456Z");
  const point = (metric: string, s: number, value: number, flow: string) =>
    JSON.stringify({ type: "Point", metric, data: { time: at(s), value, tags: { flow } } });
  const lines = [
    JSON.stringify({ type: "Metric", metric: "flow_errors", data: {} }),
    ...Array.from({ length: 10 }, (_, i) => point("http_req_duration", i, 10 + i, "feed_http")),
    ...Array.from({ length: 10 }, (_, i) => point("flow_errors", i, i === 5 ? 1 : 0, "feed_http")),
    point("grpc_req_duration", 1, 3, "feed_grpc"),
    point("flow_errors", 1, 0, "feed_grpc"),
    point("http_req_duration", 2, 999, "setup"),
  ];
  fs.writeFileSync(file, `${lines.join("\n")}\n`);
  const chaos = { fromMs: Date.UTC(2026, 0, 1, 0, 0, 4), toMs: Date.UTC(2026, 0, 1, 0, 0, 6) };
  const report = await readK6Points(file, chaos);
  const http = report.flows.find((r) => r.flow === "feed_http");
  assert.deepEqual(http, { flow: "feed_http", requests: 10, errorRate: 0.1, p95: 19, p99: 19 });
  assert.equal(report.flows.find((r) => r.flow === "feed_grpc")?.requests, 1);
  assert.equal(report.flows.find((r) => r.flow === "like")?.requests, 0);
  assert.deepEqual(report.chaos, { requests: 3, errors: 1, errorRate: 1 / 3, windowMs: 2000 });
  const table = formatTable(report, 3500);
  assert.match(table, /feed_http\s+10\s+10\.00 %\s+19\.0 ms\s+19\.0 ms/);
  assert.match(
    table,
    /chaos: 1 of 3 requests failed during the 2\.0 s outage window \(33\.33 %\); replicas ready again after 3\.5 s/,
  );
  fs.rmSync(dir, { recursive: true, force: true });
});
