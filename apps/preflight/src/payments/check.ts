// A payment check: the smallest authorization a processor accepts, released
// at once. The outcome that matters most is the one in between: authorized
// but not released, or no answer at all. Then the line says money may be
// held and where to look, and the verdict fails.
import { type CheckResult, DeadlineExceeded, errorMessage, skipped, timed, withDeadline } from "../result";
import {
  type Authorization,
  majorUnits,
  OutcomeUnknown,
  type PaymentAttempt,
  PaymentDeclined,
  type ProcessorModule,
} from "./processor";

export interface PaymentCheckInput<Credentials> {
  module: ProcessorModule<Credentials>;
  /** Absent: the stack has no key for this processor, and the line says so. */
  credentials: unknown;
  live: boolean;
  endpoint?: string;
  currency?: string;
  timeoutMs: number;
  /** Unique per preflight run: part of every idempotency key and reference. */
  runId: string;
}

/** Extra time past the SDK's own timeout before the check gives up on the call. */
const DEADLINE_GRACE_MS = 1_000;

export function checkPayment<Credentials>(input: PaymentCheckInput<Credentials>): Promise<CheckResult> {
  const { module } = input;
  const name = `payment:${module.name}`;
  if (input.credentials === undefined) return Promise.resolve(skipped(name, "no key configured"));
  return timed(name, async () => {
    const credentials = module.credentials.safeParse(input.credentials);
    if (!credentials.success) {
      const issue = credentials.error.issues[0];
      return {
        status: "failed",
        reason: `credentials: ${issue?.path.join(".") || "(root)"}: ${issue?.message}`,
      };
    }
    const currency = input.currency ?? module.defaultCurrency;
    const attempt: PaymentAttempt = {
      amountMinor: module.minimumAmount(currency),
      currency,
      idempotencyKey: `golive-preflight-${input.runId}-${module.name}`,
      reference: `golive-preflight-${input.runId}`,
      timeoutMs: input.timeoutMs,
    };
    const processor = module.create(credentials.data, {
      live: input.live,
      endpoint: input.endpoint,
      timeoutMs: input.timeoutMs,
    });
    const amount = `${majorUnits(attempt.amountMinor, currency)} ${currency}`;
    const budget = input.timeoutMs + DEADLINE_GRACE_MS;

    let authorization: Authorization;
    try {
      authorization = await withDeadline(processor.authorize(attempt), budget, "authorize");
    } catch (err) {
      if (err instanceof PaymentDeclined)
        return { status: "failed", reason: `declined (${err.code}): ${err.message}` };
      if (err instanceof OutcomeUnknown || err instanceof DeadlineExceeded)
        return {
          status: "failed",
          moneyMayBeHeld: true,
          reason: `authorize ${amount}: ${err.message}. The authorization may exist: money may be held; look for reference ${attempt.reference} in the ${module.displayName} dashboard`,
        };
      return { status: "failed", reason: `authorize ${amount}: ${errorMessage(err)}` };
    }
    let account: string | undefined;
    try {
      account = await withDeadline(processor.void(authorization, attempt), budget, "void");
    } catch (err) {
      return {
        status: "failed",
        moneyMayBeHeld: true,
        reason: `authorized ${amount} (${authorization.id}) but the void failed: ${errorMessage(err)}. Money may be held: void ${authorization.id} in the ${module.displayName} dashboard`,
      };
    }
    return { status: "ok", reason: `${account || `authorized and voided ${amount}`} (${authorization.id})` };
  });
}
