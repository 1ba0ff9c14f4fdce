// What each of the gateway's pieces costs on its own: the bare passthrough
// with one piece added at a time (from the gateway's own modules,
// passthrough.ts), all of them together, and the real gateway, in one run,
// alternating, medians. The CPU each adds over the bare passthrough is the
// floor the gateway cannot go below while that piece is on.
import { median } from "./compare";
import { type LoadResult, runLoad, writeRequests } from "./loadgen";
import type { BenchStack } from "./stack";

const PIECES = ["validate", "client", "metrics", "log", "tracing"];

interface Variant {
  label: string;
  address: string;
  pid: number;
}

async function variantsOf(stack: BenchStack): Promise<Variant[]> {
  const variants: Variant[] = [
    { label: "bare passthrough", address: stack.address.passthrough, pid: stack.pid.passthrough },
  ];
  for (const piece of PIECES)
    variants.push({ label: `+ ${piece}`, ...(await stack.startPassthrough([piece])) });
  variants.push({ label: "+ all five", ...(await stack.startPassthrough(PIECES)) });
  variants.push({ label: "the gateway", address: stack.address.gateway, pid: stack.pid.gateway });
  return variants;
}

export async function runAblation(
  stack: BenchStack,
  opts: { concurrency: number; seconds: number; rounds: number; log: (line: string) => void },
): Promise<void> {
  const variants = await variantsOf(stack);
  const requests = writeRequests(stack.dir, "all-users", stack.userIds);
  const load = { model: "closed", concurrency: opts.concurrency } as const;
  const target = (v: Variant) => ({ address: v.address, pids: { server: v.pid } });
  for (const v of variants) await runLoad(target(v), requests, load, 2);
  const runs = new Map<string, LoadResult[]>(variants.map((v) => [v.label, []]));
  for (let round = 1; round <= opts.rounds; round++) {
    for (const v of variants) {
      const r = await runLoad(target(v), requests, load, opts.seconds);
      runs.get(v.label)?.push(r);
      opts.log(
        `round ${round} ${v.label}: ${r.rps.toFixed(0)} req/s, ${(r.cpuUs.server ?? 0).toFixed(0)} µs`,
      );
    }
  }
  const med = (label: string, f: (r: LoadResult) => number) => median((runs.get(label) ?? []).map(f));
  const bareUs = med("bare passthrough", (r) => r.cpuUs.server ?? 0);
  const bareRps = med("bare passthrough", (r) => r.rps);
  opts.log(
    `\n${"variant".padEnd(18)} ${"req/s".padStart(7)} ${"x bare".padStart(7)} ${"CPU µs".padStart(7)} ${"+µs".padStart(6)}`,
  );
  for (const v of variants) {
    const us = med(v.label, (r) => r.cpuUs.server ?? 0);
    const rps = med(v.label, (r) => r.rps);
    opts.log(
      `${v.label.padEnd(18)} ${rps.toFixed(0).padStart(7)} ${(rps / bareRps).toFixed(2).padStart(7)} ${us.toFixed(0).padStart(7)} ${(us - bareUs).toFixed(0).padStart(6)}`,
    );
  }
}
