import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { DEFAULTS, runDrill } from "../local/drill";

// The README's main job in its smoke profile: real Postgres, two real feed
// processes, the real gateway, real k6, and a feed process killed mid-run.
test("the smoke drill passes its thresholds with one feed process killed mid-run", {
  timeout: 180_000,
}, async () => {
  const lines: string[] = [];
  // The drill keeps its logs for a user; the test removes them, also on failure.
  const workDir = mkdtempSync(path.join(tmpdir(), "golive-drill-test-"));
  const result = await runDrill({
    profile: "smoke",
    ...DEFAULTS.smoke,
    log: (line) => lines.push(line),
    workDir,
  }).finally(() => rmSync(workDir, { recursive: true, force: true }));
  console.log(`${result.k6Summary.trim()}\n${result.table}`);
  assert.ok(
    lines.some((l) => l.includes("chaos: killing feed-2")),
    "the chaos step ran",
  );
  assert.equal(result.recovered, true, "the killed replica came back within the bound");
  for (const row of result.report.flows) {
    assert.ok(row.requests > 0, `${row.flow} sent requests`);
  }
  assert.ok(
    result.report.chaos && result.report.chaos.requests > 0,
    "traffic flowed during the outage window",
  );
  assert.equal(result.k6ExitCode, 0, `k6 thresholds failed:\n${result.k6Summary}`);
  assert.equal(result.passed, true);
});
