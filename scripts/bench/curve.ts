// The scaling curve: open-model load (arrivals on a fixed schedule, whatever
// the answers) in rising steps, against one gateway in front of one feed and
// against one feed alone, until p95 passes the SLO, errors appear or the
// server falls behind the offered rate. Writes docs/bench/curve.json and
// docs/bench/curve.svg, and prints what the knee means for the HPA.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { REPO_ROOT } from "@golive/devkit/service-process";
import { type CurvePoint, type CurveSeries, curveSvg } from "./curve-plot";
import { runLoad, type Target, writeRequests } from "./loadgen";
import type { BenchStack } from "./stack";

/** The HighLatency alert and the drill's gate (docs/alerting.md): p95 under 50 ms. */
export const SLO_P95_MS = 50;
const OUT_DIR = path.join(REPO_ROOT, "docs/bench");

export interface CurveOptions {
  seconds: number;
  /** First offered rate and the step, req/s. */
  start?: number;
  step?: number;
  maxSteps?: number;
  log: (line: string) => void;
}

/** The curve's series, by the process each measures (infra/test/hpa-curve.test.ts reads them). */
export const SERIES = {
  gateway: "GET /v1/feed: 1 gateway, 1 feed",
  passthrough: "GET /v1/feed: 1 bare passthrough, 1 feed",
  feed: "GetFeed: 1 feed (direct gRPC)",
} as const;

/** Within the SLO: p95 under the objective, no errors, and keeping up with the offered rate. */
export const withinSlo = (p: CurvePoint) =>
  p.p95 <= SLO_P95_MS && p.errors === 0 && p.achievedRps >= 0.95 * p.offeredRps;

export function kneeOf(points: CurvePoint[]): number | null {
  const ok = points.filter(withinSlo);
  return ok.length ? Math.max(...ok.map((p) => p.offeredRps)) : null;
}

async function climb(
  name: string,
  target: Target,
  requests: { http: string; grpc: string },
  o: CurveOptions,
) {
  const points: CurvePoint[] = [];
  const start = o.start ?? 200;
  const step = o.step ?? 200;
  for (let i = 0; i < (o.maxSteps ?? 40); i++) {
    const rate = start + i * step;
    const r = await runLoad(target, requests, { model: "open", rate }, o.seconds);
    const point: CurvePoint = {
      offeredRps: rate,
      achievedRps: r.rps,
      p50: r.p50,
      p95: r.p95,
      p99: r.p99,
      requests: r.requests,
      errors: r.errors,
      cpuCores: r.cpuCores,
    };
    points.push(point);
    const cpu = Object.entries(r.cpuCores)
      .map(([k, c]) => `${k} ${c.toFixed(2)}`)
      .join(", ");
    o.log(
      `${name} ${rate} req/s offered: ${r.rps.toFixed(0)} answered, p50 ${r.p50.toFixed(1)} p95 ${r.p95.toFixed(1)} p99 ${r.p99.toFixed(1)} ms, ${r.errors} errors; cores ${cpu}`,
    );
    if (!withinSlo(point)) break;
  }
  return { name, points, knee: kneeOf(points) } satisfies CurveSeries;
}

/** What the knee implies for one replica under the stack's CPU limit and the HPA's target. */
export function replicaFigures(
  series: CurveSeries,
  process: string,
  limitCores: number,
  requestCores: number,
) {
  const at = series.points.find((p) => p.offeredRps === series.knee);
  if (!at) return undefined;
  const coresPerRps = (at.cpuCores[process] ?? 0) / at.achievedRps;
  return {
    kneeRps: at.offeredRps,
    coresAtKnee: at.cpuCores[process] ?? 0,
    cpuUsPerRequest: coresPerRps * 1e6,
    /** The rate at which the process would use its whole CPU limit. */
    rpsAtLimit: limitCores / coresPerRps,
    /** The rate at which the HPA (70 % of the CPU request) adds a replica. */
    rpsAtHpaTarget: (0.7 * requestCores) / coresPerRps,
  };
}

export async function runCurve(stack: BenchStack, o: CurveOptions): Promise<void> {
  const requests = writeRequests(stack.dir, "all-users", stack.userIds);
  const { address: a, pid } = stack;
  const climbs: [string, Target, number][] = [
    [SERIES.gateway, { address: a.gateway, pids: { gateway: pid.gateway, feed: pid.feed } }, 200],
    [
      SERIES.passthrough,
      { address: a.passthrough, pids: { passthrough: pid.passthrough, feed: pid.feed } },
      200,
    ],
    [SERIES.feed, { address: a.feed, pids: { feed: pid.feed } }, 500],
  ];
  const series: CurveSeries[] = [];
  for (const [name, target, step] of climbs) {
    series.push(await climb(name, target, requests, { ...o, start: o.start ?? step, step: o.step ?? step }));
  }
  const curve = {
    sloP95Ms: SLO_P95_MS,
    machine: `${os.cpus().length} cores, ${os.type()} ${os.release()}, Node ${process.version}; every process on the same machine`,
    date: new Date().toISOString().slice(0, 10),
    series,
  };
  fs.mkdirSync(OUT_DIR, { recursive: true });
  fs.writeFileSync(path.join(OUT_DIR, "curve.json"), `${JSON.stringify(curve, null, 2)}\n`);
  fs.writeFileSync(path.join(OUT_DIR, "curve.svg"), curveSvg(curve));
  o.log(`\nwrote ${path.relative(REPO_ROOT, OUT_DIR)}/curve.json and curve.svg`);
  for (const [s, proc] of [
    [series[0], "gateway"],
    [series[1], "passthrough"],
    [series[2], "feed"],
  ] as const) {
    // The prod stack's per-pod CPU: limit 500m, request 100m (Pulumi.prod.yaml).
    const f = s && replicaFigures(s, proc, 0.5, 0.1);
    o.log(
      f
        ? `${s.name}: knee ${f.kneeRps} req/s (${proc} at ${f.coresAtKnee.toFixed(2)} cores, ${f.cpuUsPerRequest.toFixed(0)} µs per request); ` +
            `at the pod's 500m limit about ${f.rpsAtLimit.toFixed(0)} req/s, the HPA (70 % of 100m) adds a replica from about ${f.rpsAtHpaTarget.toFixed(0)} req/s`
        : `${s?.name}: no step within the SLO`,
    );
  }
}
