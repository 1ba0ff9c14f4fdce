// What each of the gateway's pieces costs on its own: the bare passthrough
// with one piece added at a time (from the gateway's own modules,
// passthrough.ts), all of them together, and the real gateway, in one run,
// alternating, medians. The CPU each adds over the bare passthrough is the
// floor the gateway cannot go below while that piece is on.
import { alternate } from "./compare";
import { type LoadResult, writeRequests } from "./loadgen";
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
  const med = await alternate(
    variants.map((v) => ({
      label: v.label,
      target: { address: v.address, pids: { server: v.pid } },
      requests,
    })),
    opts,
  );
  const bare = med.get("bare passthrough") as LoadResult;
  const bareUs = bare.cpuUs.server ?? 0;
  opts.log(
    `\n${"variant".padEnd(18)} ${"req/s".padStart(7)} ${"x bare".padStart(7)} ${"CPU µs".padStart(7)} ${"+µs".padStart(6)}`,
  );
  for (const v of variants) {
    const m = med.get(v.label) as LoadResult;
    const us = m.cpuUs.server ?? 0;
    opts.log(
      `${v.label.padEnd(18)} ${m.rps.toFixed(0).padStart(7)} ${(m.rps / bare.rps).toFixed(2).padStart(7)} ${us.toFixed(0).padStart(7)} ${(us - bareUs).toFixed(0).padStart(6)}`,
    );
  }
}
