// How the real-pods lane reads the trigger's output: kubectl's prefixed,
// time-stamped log lines, failures placed in windows, k6's summary table.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { chaosWindow, failuresIn, parseLogLine, summaryFlows } from "./support/drill";

const pod = "pod/golive-drill-20261204-080000-abcde";
const at = (s: number) => `2026-12-04T08:00:${String(s).padStart(2, "0")}.123456789Z`;
const output = [
  "started job golive-local-loadtest/golive-drill-20261204-080000",
  `[${pod}/chaos] ${at(10)} chaos: deleting pod feed-6c9d-x2`,
  `[${pod}/k6] ${at(11)} time="2026-12-04T08:00:11Z" level=warning msg="drill: like failed (HTTP 503); trace_id=ab" source=console`,
  `[${pod}/k6] ${at(12)} time="2026-12-04T08:00:12Z" level=warning msg="drill: grpc feed failed (status 14); trace_id=cd" source=console`,
  `[${pod}/chaos] ${at(20)} chaos: recovered: 2/2 ready after 10s`,
  `[${pod}/k6] ${at(22)} time="2026-12-04T08:00:22Z" level=warning msg="drill: message failed (not delivered in 3 s); marker=drill-1-2-3" source=console`,
  `[${pod}/k6] ${at(40)} time="2026-12-04T08:00:40Z" level=warning msg="drill: feed failed (HTTP 502); trace_id=ef" source=console`,
  `[${pod}/k6] ${at(59)} go-live drill (smoke), WAF none`,
  `[${pod}/k6] ${at(59)} flows (requests, failed, p95 ms):`,
  `[${pod}/k6] ${at(59)}   feed_http      1201      1    21.5`,
  `[${pod}/k6] ${at(59)}   feed_grpc      1200      1    12.0`,
  `[${pod}/k6] ${at(59)}   like            600      1    30.2`,
  `[${pod}/k6] ${at(59)}   messages        110      1       -`,
  `[${pod}/k6] ${at(59)} messages: 109 delivered, 1 lost`,
  `[${pod}/k6] ${at(59)} verdict: PASS`,
  "drill golive-drill-20261204-080000: PASS",
].join("\n");
const lines = output
  .split("\n")
  .map(parseLogLine)
  .filter((l) => l !== undefined);

describe("reading the drill's log", () => {
  it("parses container, time and text; other lines are not log lines", () => {
    assert.equal(lines.length, 14);
    assert.deepEqual(lines[0], {
      container: "chaos",
      at: Date.parse(at(10)),
      text: "chaos: deleting pod feed-6c9d-x2",
    });
  });

  it("places failures in the chaos window, counting the client timeout after its end", () => {
    const w = chaosWindow(lines);
    assert.ok(w);
    assert.equal(w.toMs - w.fromMs, 10_000);
    assert.deepEqual(failuresIn(lines, w), { like: 1, "grpc feed": 1, message: 1 });
    assert.deepEqual(
      failuresIn(lines, { label: "later", fromMs: Date.parse(at(30)), toMs: Date.parse(at(45)) }),
      {
        feed: 1,
      },
    );
  });

  it("reads the summary's table, lost messages and verdict", () => {
    const s = summaryFlows(lines);
    assert.deepEqual(s.flows.feed_http, { requests: 1201, failed: 1, p95: 21.5 });
    assert.deepEqual(s.flows.messages, { requests: 110, failed: 1, p95: undefined });
    assert.equal(s.lostMessages, 1);
    assert.equal(s.verdict, "PASS");
  });

  it("no chaos window when the chaos step never recovered", () => {
    assert.equal(chaosWindow(lines.filter((l) => !l.text.startsWith("chaos: recovered"))), undefined);
  });
});
