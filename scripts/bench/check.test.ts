// The regression gate's verdicts on given ratios (the measuring itself is
// `npm run bench -- --check`, never a timed test).
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { type Baseline, checkAgainstBaseline, readBaseline } from "./check";
import type { Ratios } from "./compare";

const baseline: Baseline = {
  measured: "test",
  rounds: 3,
  seconds: 5,
  tolerance: 0.2,
  ratios: {
    gatewayThroughput: { value: 0.8, better: "higher" },
    gatewayCpu: { value: 1.5, better: "lower" },
  },
};
const measured: Ratios = {
  gatewayThroughput: 0.8,
  gatewayCpu: 1.5,
  feedThroughput: 0.6,
  feedColdThroughput: 0.25,
  tracingThroughput: 0.9,
};

test("ratios within the tolerance of the baseline pass, on either side", () => {
  assert.equal(checkAgainstBaseline(baseline, measured).failed, false);
  assert.equal(
    checkAgainstBaseline(baseline, { ...measured, gatewayThroughput: 0.65, gatewayCpu: 1.79 }).failed,
    false,
  );
  assert.equal(
    checkAgainstBaseline(baseline, { ...measured, gatewayThroughput: 1.2, gatewayCpu: 0.9 }).failed,
    false,
  );
});

test("a throughput ratio below its floor fails, and the report names it", () => {
  const result = checkAgainstBaseline(baseline, { ...measured, gatewayThroughput: 0.6 });
  assert.equal(result.failed, true);
  assert.match(
    result.report.join("\n"),
    /FAIL gatewayThroughput\s+0\.60x \(baseline 0\.80x, at least 0\.64x\)/,
  );
  assert.match(result.report.join("\n"), /ok {3}gatewayCpu/);
});

test("a CPU ratio above its ceiling fails", () => {
  const result = checkAgainstBaseline(baseline, { ...measured, gatewayCpu: 1.85 });
  assert.equal(result.failed, true);
  assert.match(result.report.join("\n"), /FAIL gatewayCpu\s+1\.85x \(baseline 1\.50x, at most 1\.80x\)/);
});

test("a ratio that could not be measured fails instead of passing", () => {
  assert.equal(checkAgainstBaseline(baseline, { ...measured, gatewayCpu: Number.NaN }).failed, true);
});

test("the committed baseline parses, and a broken one is refused naming the field", () => {
  const committed = readBaseline();
  assert.ok(Object.keys(committed.ratios).length >= 4);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "golive-baseline-"));
  try {
    const file = path.join(dir, "baseline.json");
    fs.writeFileSync(file, JSON.stringify({ ...committed, tolerance: 1.5 }));
    assert.throws(() => readBaseline(file), /tolerance: /);
    fs.writeFileSync(
      file,
      JSON.stringify({ ...committed, ratios: { gatewayThroughputt: committed.ratios.gatewayCpu } }),
    );
    assert.throws(() => readBaseline(file), /ratios/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
