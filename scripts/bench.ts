// The benchmarks (not tests): every row against its anchor, in one run, on
// loopback, driven by tools/loadgen (a process of its own).
//   npm run bench                  the table: feed vs a bare grpc-js server (cached
//                                  and cold page), the gateway vs a bare passthrough,
//                                  tracing at the prod ratio vs off; ratios
//   npm run bench -- --curve       open-model load in steps until p95 passes the
//                                  SLO: docs/bench/curve.json and curve.svg
//   npm run bench -- --ablation    the passthrough with each of the gateway's pieces
//                                  added alone, all together, and the gateway;
//                                  with --leave-one-out, all five but one instead
//                                  of one alone (what each costs beside the others)
//   npm run bench -- --check       the same-run ratios against scripts/bench/baseline.json;
//                                  exits 1 on a regression
// Options: --concurrency N (16), --seconds N per run (5; 8 per curve step), --rounds N (3),
// --rows a,b (only those rows: bare, feed, feedCold, passthrough, gateway,
// gatewayUntraced), --slow-gateway-us N (a busy loop per gateway request:
// proves --check fails). BENCH_NODE_OPTIONS: Node flags for the Node
// processes under test (e.g. --cpu-prof --cpu-prof-dir=/tmp/prof).
import path from "node:path";
import { parseArgs } from "node:util";
import { REPO_ROOT } from "@golive/devkit/service-process";
import { runAblation } from "./bench/ablation";
import { checkAgainstBaseline, readBaseline } from "./bench/check";
import {
  compareLatency,
  compareRows,
  formatComparison,
  LATENCY_RATE,
  type RowName,
  ratiosOf,
  rowsOf,
} from "./bench/compare";
import { runCurve } from "./bench/curve";
import type { LoadResult } from "./bench/loadgen";
import { type BenchStack, startBenchStack } from "./bench/stack";

const intArg = (value: string | undefined, fallback: number, max: number) =>
  Math.min(max, Math.max(1, Number(value) || fallback));

function options() {
  const { values } = parseArgs({
    options: {
      curve: { type: "boolean", default: false },
      ablation: { type: "boolean", default: false },
      "leave-one-out": { type: "boolean", default: false },
      check: { type: "boolean", default: false },
      concurrency: { type: "string" },
      seconds: { type: "string" },
      rounds: { type: "string" },
      "slow-gateway-us": { type: "string" },
      rows: { type: "string" },
    },
  });
  if (values["leave-one-out"] && !values.ablation)
    throw new Error(
      "--leave-one-out is a mode of --ablation: run `npm run bench -- --ablation --leave-one-out`",
    );
  const slowUs = Number(values["slow-gateway-us"] ?? 0);
  return {
    curve: values.curve,
    ablation: values.ablation,
    leaveOneOut: values["leave-one-out"],
    check: values.check,
    concurrency: intArg(values.concurrency, 16, 512),
    // The curve's steps run longer by default: one 200 ms stall in a 4 s step
    // at 1000 req/s is 5 % of its requests, enough to move p95 on its own.
    seconds: intArg(values.seconds, values.curve ? 8 : 5, 120),
    rounds: intArg(values.rounds, 3, 15),
    rows: values.rows?.split(",") as RowName[] | undefined,
    slowUs: Number.isFinite(slowUs) && slowUs > 0 ? Math.min(100_000, Math.round(slowUs)) : 0,
  };
}

const pct = (ratio: number) => `${ratio.toFixed(2)}x`;

function printRatios(med: Map<RowName, LoadResult>, inFlight: number): void {
  const m = Object.fromEntries(med) as Record<RowName, LoadResult>;
  const r = ratiosOf(m);
  const p50 = (a: LoadResult, b: LoadResult) =>
    `${a.p50 - b.p50 >= 0 ? "+" : ""}${(a.p50 - b.p50).toFixed(2)} ms`;
  console.log(
    `\nfeed / bare grpc-js: cached page ${pct(r.feedThroughput)} (p50 ${p50(m.feed, m.bare)}), ` +
      `cold page ${pct(r.feedColdThroughput)} (p50 ${p50(m.feedCold, m.bare)})`,
  );
  console.log(
    `gateway / passthrough: throughput ${pct(r.gatewayThroughput)}, p50 at ${inFlight} in flight ${p50(m.gateway, m.passthrough)}, ` +
      `CPU ${pct(r.gatewayCpu)} (${(m.gateway.cpuUs.gateway ?? 0).toFixed(0)} vs ${(m.passthrough.cpuUs.passthrough ?? 0).toFixed(0)} µs)`,
  );
  console.log(
    `gateway tracing at the prod ratio / off: throughput ${pct(r.tracingThroughput)}, p50 ${p50(m.gateway, m.gatewayUntraced)}`,
  );
}

async function main(): Promise<void> {
  const opts = options();
  const nodeOptions = opts.slowUs
    ? `--import=${path.join(REPO_ROOT, "scripts/bench/slow-requests.mjs")}`
    : process.env.BENCH_NODE_OPTIONS;
  const stack: BenchStack = await startBenchStack({ nodeOptions, gatewayEnv: slowEnv(opts.slowUs) });
  try {
    if (opts.ablation) {
      await runAblation(stack, { ...opts, log: console.log });
      return;
    }
    if (opts.curve) {
      await runCurve(stack, { seconds: opts.seconds, log: console.log });
      return;
    }
    const baseline = opts.check ? readBaseline() : undefined;
    const rounds = opts.check ? (baseline?.rounds ?? opts.rounds) : opts.rounds;
    const seconds = opts.check ? (baseline?.seconds ?? opts.seconds) : opts.seconds;
    console.log(
      `${opts.concurrency} requests in flight (closed model), ${seconds} s per run after 1 s warm-up, ${rounds} rounds alternating; medians`,
    );
    const only = opts.check ? undefined : opts.rows;
    const med = await compareRows(stack, {
      concurrency: opts.concurrency,
      seconds,
      rounds,
      only,
      log: console.log,
    });
    const rows = rowsOf(stack);
    console.log(`\n${formatComparison(rows, med)}`);
    if (med.size < rows.length) return;
    printRatios(med, opts.concurrency);
    if (!baseline) await printLatency(stack, { seconds, rounds });
    if (baseline) {
      const failures = checkAgainstBaseline(
        baseline,
        ratiosOf(Object.fromEntries(med) as Record<RowName, LoadResult>),
      );
      for (const line of failures.report) console.log(line);
      if (failures.failed) process.exitCode = 1;
    }
  } finally {
    await stack.stop();
  }
}

/** What the gateway adds to one request's latency, at a rate where requests seldom queue. */
async function printLatency(stack: BenchStack, opts: { seconds: number; rounds: number }): Promise<void> {
  console.log(
    `\nlatency at ${LATENCY_RATE} req/s on a fixed schedule (open model), ${opts.rounds} rounds alternating; medians`,
  );
  const med = await compareLatency(stack, { ...opts, log: console.log });
  console.log(`\n${formatComparison(rowsOf(stack), med)}`);
  const m = Object.fromEntries(med) as Record<RowName, LoadResult>;
  const plus = (a: number, b: number) => `${a - b >= 0 ? "+" : ""}${(a - b).toFixed(2)} ms`;
  console.log(
    `gateway over passthrough: p50 ${plus(m.gateway.p50, m.passthrough.p50)}, p95 ${plus(m.gateway.p95, m.passthrough.p95)}; ` +
      `tracing at the prod ratio over off: p50 ${plus(m.gateway.p50, m.gatewayUntraced.p50)}`,
  );
}

function slowEnv(us: number): Record<string, string> {
  return us ? { BENCH_SLOW_US: String(us) } : {};
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
