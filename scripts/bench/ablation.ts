// What each of the gateway's pieces costs on its own: the bare passthrough
// with one piece added at a time (from the gateway's own modules,
// passthrough.ts), all of them together, and the real gateway, in one run,
// alternating, medians. The CPU each adds over the bare passthrough is the
// floor the gateway cannot go below while that piece is on. Leave-one-out
// runs all five but one instead: the pieces cost more together than the sum
// of each alone (tracing's context rides on the feed call and the log line),
// and what all five lose without one is what that piece costs in place.
import { alternate } from "./compare";
import { type LoadResult, writeRequests } from "./loadgen";
import type { BenchStack } from "./stack";

const PIECES = ["validate", "client", "metrics", "log", "tracing"];

interface Variant {
  label: string;
  address: string;
  pid: number;
}

async function variantsOf(stack: BenchStack, leaveOneOut: boolean): Promise<Variant[]> {
  const variants: Variant[] = [
    { label: "bare passthrough", address: stack.address.passthrough, pid: stack.pid.passthrough },
  ];
  for (const piece of PIECES) {
    const pieces = leaveOneOut ? PIECES.filter((p) => p !== piece) : [piece];
    variants.push({
      label: `${leaveOneOut ? "-" : "+"} ${piece}`,
      ...(await stack.startPassthrough(pieces)),
    });
  }
  variants.push({ label: "+ all five", ...(await stack.startPassthrough(PIECES)) });
  variants.push({ label: "the gateway", address: stack.address.gateway, pid: stack.pid.gateway });
  return variants;
}

export async function runAblation(
  stack: BenchStack,
  opts: {
    concurrency: number;
    seconds: number;
    rounds: number;
    leaveOneOut: boolean;
    log: (line: string) => void;
  },
): Promise<void> {
  const variants = await variantsOf(stack, opts.leaveOneOut);
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
