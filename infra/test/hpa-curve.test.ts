// The HPA's CPU target held against the measured scaling curve
// (docs/bench/curve.json, `npm run bench -- --curve`): for each stack, the
// rate at which the HPA adds a replica must come before the rate at which one
// replica's p95 passes the SLO, and one replica's CPU limit must hold that
// scale-out rate. The per-replica rates come from the curve's CPU per request
// at the knee and the stack's CPU request and limit (docs/benchmarks.md).
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { SERIES } from "../../scripts/bench/curve";
import { HPA_CPU_TARGET_PERCENT } from "../components/workload";
import { REPO_ROOT, readStackFile } from "../stack-files";

interface Point {
  offeredRps: number;
  achievedRps: number;
  cpuCores: Record<string, number>;
}
interface Curve {
  series: { name: string; knee: number | null; points: Point[] }[];
}

const curve = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "docs/bench/curve.json"), "utf8")) as Curve;

const cores = (quantity: string) =>
  quantity.endsWith("m") ? Number(quantity.slice(0, -1)) / 1000 : Number(quantity);

/** The series that measures this app alone in front of its dependencies, and its knee. */
function measured(app: "gateway" | "feed") {
  const series = curve.series.find((s) => s.name === SERIES[app]);
  assert.ok(series, `curve.json has a series for one ${app}`);
  assert.ok(series.knee, `the ${app} series has a step within the SLO`);
  const at = series.points.find((p) => p.offeredRps === series.knee) as Point;
  const cpuPerRequest = (at.cpuCores[app] ?? Number.NaN) / at.achievedRps;
  assert.ok(cpuPerRequest > 0, `the ${app} knee step has the ${app}'s CPU`);
  return { knee: series.knee, cpuPerRequest };
}

for (const stack of ["staging", "prod"]) {
  for (const app of ["gateway", "feed"] as const) {
    test(`${stack}: the ${app}'s HPA adds a replica before one replica reaches the curve's knee`, () => {
      const { knee, cpuPerRequest } = measured(app);
      const resources = JSON.parse(readStackFile(stack).config["golive:resources"] ?? "{}")[app];
      const request = cores(resources.requests.cpu);
      const limit = cores(resources.limits.cpu);
      const scaleOutRps = ((HPA_CPU_TARGET_PERCENT / 100) * request) / cpuPerRequest;
      const limitRps = limit / cpuPerRequest;
      assert.ok(
        scaleOutRps < knee,
        `${app} scales out at ${scaleOutRps.toFixed(0)} req/s per replica, past its knee (${knee} req/s)`,
      );
      assert.ok(
        limitRps >= scaleOutRps,
        `${app}'s CPU limit holds ${limitRps.toFixed(0)} req/s, less than its scale-out rate`,
      );
    });
  }
}
