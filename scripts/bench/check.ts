// The regression gate for a noisy machine: it compares ratios measured in
// one run (each row against its anchor, on the same machine, alternating)
// with a committed baseline, never absolute figures or timings, and fails
// only past a tolerance wide enough for the noise between runs.
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import type { Ratios } from "./compare";

export const BASELINE_FILE = path.join(__dirname, "baseline.json");

const ratioName = z.enum([
  "gatewayThroughput",
  "gatewayCpu",
  "feedThroughput",
  "feedColdThroughput",
  "tracingThroughput",
]);

export const baselineSchema = z.object({
  /** Where and when the baseline was measured (free text). */
  measured: z.string(),
  rounds: z.number().int().min(1),
  seconds: z.number().int().min(1),
  /** A ratio fails when it is worse than its baseline by more than this fraction. */
  tolerance: z.number().gt(0).lt(1),
  ratios: z.partialRecord(
    ratioName,
    z.object({ value: z.number().gt(0), better: z.enum(["higher", "lower"]) }),
  ),
});
export type Baseline = z.infer<typeof baselineSchema>;

export function readBaseline(file = BASELINE_FILE): Baseline {
  const parsed = baselineSchema.safeParse(JSON.parse(fs.readFileSync(file, "utf8")));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${file}: ${issue?.path.join(".") || "(root)"}: ${issue?.message}`);
  }
  return parsed.data;
}

export function checkAgainstBaseline(
  baseline: Baseline,
  measured: Ratios,
): { failed: boolean; report: string[] } {
  const report = [`\nregression gate (tolerance ${(baseline.tolerance * 100).toFixed(0)} %):`];
  let failed = false;
  for (const [name, base] of Object.entries(baseline.ratios)) {
    const value = measured[name as keyof Ratios];
    const limit =
      base.better === "higher"
        ? base.value * (1 - baseline.tolerance)
        : base.value * (1 + baseline.tolerance);
    const ok = Number.isFinite(value) && (base.better === "higher" ? value >= limit : value <= limit);
    failed ||= !ok;
    report.push(
      `  ${ok ? "ok  " : "FAIL"} ${name.padEnd(20)} ${value.toFixed(2)}x (baseline ${base.value.toFixed(2)}x, ` +
        `${base.better === "higher" ? "at least" : "at most"} ${limit.toFixed(2)}x)`,
    );
  }
  report.push(failed ? "regression gate: FAILED" : "regression gate: passed");
  return { failed, report };
}
