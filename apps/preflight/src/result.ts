// One line of the preflight report. `moneyMayBeHeld` is set when a payment
// check got an authorization it could not release (or cannot tell whether
// it got one): the report says so and the verdict fails.
export type CheckStatus = "ok" | "failed" | "skipped";

export interface CheckResult {
  name: string;
  status: CheckStatus;
  latencyMs: number;
  reason: string;
  moneyMayBeHeld?: boolean;
}

/** Runs one check with a stopwatch; a thrown error is a failed line with its message. */
export async function timed(
  name: string,
  check: () => Promise<Omit<CheckResult, "name" | "latencyMs">>,
): Promise<CheckResult> {
  const started = performance.now();
  try {
    const outcome = await check();
    return { name, latencyMs: Math.round(performance.now() - started), ...outcome };
  } catch (err) {
    return {
      name,
      status: "failed",
      latencyMs: Math.round(performance.now() - started),
      reason: errorMessage(err),
    };
  }
}

export function skipped(name: string, reason: string): CheckResult {
  return { name, status: "skipped", latencyMs: 0, reason };
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

/** Rejects after `ms` so that no check can hold the preflight longer than its budget. */
export function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceeded(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

export class DeadlineExceeded extends Error {
  override name = "DeadlineExceeded";
}
