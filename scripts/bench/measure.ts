// Closed-loop load at a fixed concurrency: `concurrency` workers each issue
// the next call as soon as the previous one finishes, for a fixed time after
// a warm-up, from inside this process. Reports throughput and latency
// percentiles. Used by the tracing benchmark (`npm run bench:tracing`);
// `npm run bench` drives its rows with tools/loadgen instead and shares only
// cpuMs.
import fs from "node:fs";

export interface BenchResult {
  name: string;
  concurrency: number;
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  /** CPU milliseconds per request of each watched process during the measured window. */
  cpuMsPerRequest: Record<string, number>;
}

/** user + system CPU of a process so far, in ms (Linux /proc; "self" is this process). */
export function cpuMs(pid: number | "self"): number {
  if (pid === "self") {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  }
  // Fields 14 and 15 (utime, stime) in clock ticks of 10 ms; the command
  // name (field 2) may hold spaces, so count from its closing parenthesis.
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] as number;
}

export async function measure(opts: {
  name: string;
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  call: () => Promise<void>;
  /** Processes whose CPU time per request is reported, by label. */
  cpu?: Record<string, number | "self">;
}): Promise<BenchResult> {
  const latencies: number[] = [];
  let errors = 0;
  let recording = false;
  let running = true;
  const worker = async () => {
    while (running) {
      const started = performance.now();
      try {
        await opts.call();
        if (recording) latencies.push(performance.now() - started);
      } catch {
        if (recording) errors += 1;
      }
    }
  };
  const workers = Array.from({ length: opts.concurrency }, worker);
  await new Promise((resolve) => setTimeout(resolve, opts.warmupMs));
  const watched = Object.entries(opts.cpu ?? {});
  const cpuBefore = watched.map(([, pid]) => cpuMs(pid));
  recording = true;
  const began = performance.now();
  await new Promise((resolve) => setTimeout(resolve, opts.durationMs));
  recording = false;
  const seconds = (performance.now() - began) / 1000;
  const cpuUsed = watched.map(([, pid], i) => cpuMs(pid) - (cpuBefore[i] as number));
  running = false;
  await Promise.all(workers);
  latencies.sort((a, b) => a - b);
  return {
    name: opts.name,
    concurrency: opts.concurrency,
    requests: latencies.length,
    errors,
    seconds,
    rps: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    cpuMsPerRequest: Object.fromEntries(
      watched.map(([label], i) => [label, (cpuUsed[i] as number) / Math.max(1, latencies.length)]),
    ),
  };
}

/** One line per result: CPU time per request of each watched process, in microseconds. */
export function formatCpu(results: BenchResult[]): string {
  return results
    .map(
      (r) =>
        `${r.name.padEnd(34)} CPU per request: ${Object.entries(r.cpuMsPerRequest)
          .map(([label, ms]) => `${label} ${(ms * 1000).toFixed(0)} µs`)
          .join(", ")}`,
    )
    .join("\n");
}

export function formatTable(results: BenchResult[]): string {
  const rows = results.map((r) =>
    [
      r.name.padEnd(34),
      String(r.concurrency).padStart(4),
      r.rps.toFixed(0).padStart(8),
      r.p50.toFixed(2).padStart(8),
      r.p95.toFixed(2).padStart(8),
      r.p99.toFixed(2).padStart(8),
      String(r.errors).padStart(7),
    ].join(" "),
  );
  const header = `${"target".padEnd(34)} ${"conc".padStart(4)} ${"req/s".padStart(8)} ${"p50 ms".padStart(8)} ${"p95 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"errors".padStart(7)}`;
  return [header, ...rows].join("\n");
}
