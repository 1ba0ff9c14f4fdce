// The comparison table: each row against its anchor, measured in the same
// run at the same fixed concurrency, the rows alternating round after round
// (the machine is shared, so a noisy minute hits every row) and every figure
// the median of the rounds.
import { type Load, type LoadResult, type Requests, runLoad, type Target, writeRequests } from "./loadgen";
import type { BenchStack } from "./stack";

export type RowName = "bare" | "feed" | "feedCold" | "passthrough" | "gateway" | "gatewayUntraced";

export interface Row {
  name: RowName;
  label: string;
  target: Target;
  /** Only this user's page (the cached-page row), or every seeded user in turn. */
  oneUser?: boolean;
}

export function rowsOf(stack: BenchStack): Row[] {
  const { address: a, pid } = stack;
  return [
    { name: "bare", label: "bare grpc-js GetFeed", target: { address: a.bare, pids: { server: pid.bare } } },
    {
      name: "feed",
      label: "feed GetFeed, cached page",
      target: { address: a.feed, pids: { feed: pid.feed } },
      oneUser: true,
    },
    {
      name: "feedCold",
      label: "feed GetFeed, cold page",
      target: { address: a.feedCold, pids: { feed: pid.feedCold } },
    },
    {
      name: "passthrough",
      label: "bare passthrough /v1/feed",
      target: { address: a.passthrough, pids: { passthrough: pid.passthrough, feed: pid.feed } },
    },
    {
      name: "gateway",
      label: "gateway /v1/feed",
      target: { address: a.gateway, pids: { gateway: pid.gateway, feed: pid.feed } },
    },
    {
      name: "gatewayUntraced",
      label: "gateway, tracing off",
      target: { address: a.gatewayUntraced, pids: { gateway: pid.gatewayUntraced, feed: pid.feed } },
    },
  ];
}

/** Same-run ratios: what the regression gate compares with its baseline. */
export interface Ratios {
  /** Throughput, gateway over the bare passthrough (1 = as cheap as the bare minimum). */
  gatewayThroughput: number;
  /** CPU µs per request, gateway process over passthrough process. */
  gatewayCpu: number;
  /** Throughput, the feed (cached page) over the bare grpc-js server. */
  feedThroughput: number;
  /** Throughput, the feed on a cold page over the bare grpc-js server. */
  feedColdThroughput: number;
  /** Throughput, the gateway with tracing at the prod ratio over tracing off. */
  tracingThroughput: number;
}

export function ratiosOf(m: Record<RowName, LoadResult>): Ratios {
  return {
    gatewayThroughput: m.gateway.rps / m.passthrough.rps,
    gatewayCpu: (m.gateway.cpuUs.gateway ?? 0) / (m.passthrough.cpuUs.passthrough ?? 1),
    feedThroughput: m.feed.rps / m.bare.rps,
    feedColdThroughput: m.feedCold.rps / m.bare.rps,
    tracingThroughput: m.gateway.rps / m.gatewayUntraced.rps,
  };
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

function medianOf(runs: LoadResult[]): LoadResult {
  const pick = (f: (r: LoadResult) => number) => median(runs.map(f));
  const labels = Object.keys(runs[0]?.cpuUs ?? {});
  return {
    rps: pick((r) => r.rps),
    p50: pick((r) => r.p50),
    p95: pick((r) => r.p95),
    p99: pick((r) => r.p99),
    requests: pick((r) => r.requests),
    seconds: pick((r) => r.seconds),
    errors: runs.reduce((n, r) => n + r.errors, 0),
    errorSamples: runs.flatMap((r) => r.errorSamples).slice(0, 3),
    cpuUs: Object.fromEntries(labels.map((l) => [l, pick((r) => r.cpuUs[l] ?? 0)])),
    cpuCores: Object.fromEntries(labels.map((l) => [l, pick((r) => r.cpuCores[l] ?? 0)])),
  };
}

/** One target of a comparison: what to load, with which requests. */
export interface Contestant {
  label: string;
  target: Target;
  requests: Requests;
}

/**
 * Runs every contestant in turn, round after round, under the same load (by
 * default closed-loop at `concurrency`), after a round that is not counted
 * (the first run of each process is slower by a third while V8 compiles its
 * hot paths). Returns each one's median result.
 */
export async function alternate(
  contestants: Contestant[],
  opts: { concurrency: number; seconds: number; rounds: number; load?: Load; log: (line: string) => void },
): Promise<Map<string, LoadResult>> {
  const load = opts.load ?? ({ model: "closed", concurrency: opts.concurrency } as const);
  for (const c of contestants) await runLoad(c.target, c.requests, load, 2);
  const runs = new Map<string, LoadResult[]>(contestants.map((c) => [c.label, []]));
  for (let round = 1; round <= opts.rounds; round++) {
    for (const c of contestants) {
      const result = await runLoad(c.target, c.requests, load, opts.seconds);
      runs.get(c.label)?.push(result);
      const cpu = Object.entries(result.cpuUs)
        .map(([k, us]) => `${k} ${us.toFixed(0)}`)
        .join(", ");
      opts.log(
        `round ${round} ${c.label}: ${result.rps.toFixed(0)} req/s, p50 ${result.p50.toFixed(2)} ms, CPU µs ${cpu}`,
      );
    }
  }
  return new Map(contestants.map((c) => [c.label, medianOf(runs.get(c.label) ?? [])]));
}

export async function compareRows(
  stack: BenchStack,
  opts: {
    concurrency: number;
    seconds: number;
    rounds: number;
    only?: RowName[];
    log: (line: string) => void;
  },
): Promise<Map<RowName, LoadResult>> {
  const rows = rowsOf(stack).filter((r) => !opts.only || opts.only.includes(r.name));
  const all = writeRequests(stack.dir, "all-users", stack.userIds);
  const one = writeRequests(stack.dir, "one-user", [stack.userIds[0] as string]);
  const med = await alternate(
    rows.map((r) => ({ label: r.label, target: r.target, requests: r.oneUser ? one : all })),
    opts,
  );
  return new Map(rows.map((r) => [r.name, med.get(r.label) as LoadResult]));
}

/**
 * The rate of the latency comparison, on a fixed arrival schedule: a fifth
 * of the lowest HTTP knee on the curve (docs/benchmarks.md), so a request
 * seldom waits behind another and p50 is the time the path takes, not a
 * queue. At the closed loop's 16 in flight, p50 is mostly queueing: it
 * grows with 16 / throughput whatever a request itself costs.
 */
export const LATENCY_RATE = 400;

/** The HTTP rows at LATENCY_RATE, alternating, medians: what each adds to a request's latency. */
export async function compareLatency(
  stack: BenchStack,
  opts: { seconds: number; rounds: number; log: (line: string) => void },
): Promise<Map<RowName, LoadResult>> {
  const http: RowName[] = ["passthrough", "gateway", "gatewayUntraced"];
  const rows = rowsOf(stack).filter((r) => http.includes(r.name));
  const requests = writeRequests(stack.dir, "all-users", stack.userIds);
  const med = await alternate(
    rows.map((r) => ({ label: `${r.label} at ${LATENCY_RATE} req/s`, target: r.target, requests })),
    { ...opts, concurrency: 0, load: { model: "open", rate: LATENCY_RATE } },
  );
  return new Map(rows.map((r) => [r.name, med.get(`${r.label} at ${LATENCY_RATE} req/s`) as LoadResult]));
}

export function formatComparison(rows: Row[], med: Map<RowName, LoadResult>): string {
  const head = `${"target".padEnd(28)} ${"req/s".padStart(7)} ${"p50 ms".padStart(7)} ${"p95 ms".padStart(7)} ${"p99 ms".padStart(7)} ${"errors".padStart(6)}  CPU µs per request`;
  const lines = rows.flatMap((row) => {
    const m = med.get(row.name);
    if (!m) return [];
    const cpu = Object.entries(m.cpuUs)
      .map(([k, us]) => `${k} ${us.toFixed(0)}`)
      .join(", ");
    const figures = [m.rps.toFixed(0), m.p50.toFixed(2), m.p95.toFixed(2), m.p99.toFixed(2)];
    return [
      `${row.label.padEnd(28)} ${figures.map((f) => f.padStart(7)).join(" ")} ${String(m.errors).padStart(6)}  ${cpu}`,
    ];
  });
  return [head, ...lines].join("\n");
}
