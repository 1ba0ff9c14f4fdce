// What the payment adapters' tests share: fakes that close when the suite ends, the check run
// against one of them, and the assertions for the outcomes every adapter must report alike.
import assert from "node:assert/strict";
import { after } from "node:test";
import type { FakeProvider } from "@golive/devkit/payment-fakes/fake-server";
import { checkPayment } from "@golive/preflight/payments/check";
import type { ProcessorModule } from "@golive/preflight/payments/processor";
import type { CheckResult } from "@golive/preflight/result";

export interface RunOptions {
  /** The SDK's timeout; the check gives up a grace second later. */
  timeoutMs?: number;
  /** A production run: adapters refuse test cards and sandbox keys. */
  live?: boolean;
}

/**
 * Call synchronously inside a `describe` callback: every fake `fake()` starts
 * is closed after that suite. `run` checks `module` against a fake's URL.
 */
export function paymentCheck<Credentials, Args extends unknown[], Fake extends FakeProvider>(
  module: ProcessorModule<Credentials>,
  start: (...args: Args) => Promise<Fake>,
  defaults: { timeoutMs?: number; runId?: string } = {},
) {
  const started: Fake[] = [];
  after(() => Promise.all(started.map((f) => f.close())));
  return {
    async fake(...args: Args): Promise<Fake> {
      const fake = await start(...args);
      started.push(fake);
      return fake;
    },
    /** `credentials` is passed as given: undefined means the stack holds no key. */
    run(fake: FakeProvider, credentials: unknown, options: RunOptions = {}): Promise<CheckResult> {
      return checkPayment({
        module,
        credentials,
        live: options.live ?? false,
        endpoint: fake.url,
        timeoutMs: options.timeoutMs ?? defaults.timeoutMs ?? 2_000,
        runId: defaults.runId ?? "run1",
      });
    },
  };
}

const literal = (text: string) => new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));

/**
 * Authorized, then the void was refused: failed, money may be held, and the
 * line names the id to void in `displayName`'s dashboard. `idPattern` finds
 * that id in the reason as its first group; the id is returned.
 */
export function assertMoneyHeldAfterVoid(
  result: CheckResult,
  displayName: string,
  idPattern: RegExp,
): string {
  assert.equal(result.status, "failed", result.reason);
  assert.equal(result.moneyMayBeHeld, true, result.reason);
  assert.match(result.reason, /money may be held/i);
  const id = result.reason.match(idPattern)?.[1];
  assert.ok(id, `the reason names the id: ${result.reason}`);
  assert.match(result.reason, literal(`void ${id} in the ${displayName} dashboard`));
  return id;
}

/**
 * Credentials the adapter refuses up front: failed, the reason names `field`
 * (the one missing, or the rule they break), and no request reached the fake.
 */
export function assertRefusedBeforeAnyCall(result: CheckResult, fake: FakeProvider, field: RegExp): void {
  assert.equal(result.status, "failed", result.reason);
  assert.match(result.reason, field);
  assert.equal(fake.requests.length, 0, "no call reached the provider");
}

/**
 * The authorization never answered: run with a 400 ms SDK timeout, the check
 * fails before its own deadline (1,400 ms), says money may be held and names
 * the run's reference to look for. Returns the result for the provider's checks.
 */
export async function assertUnansweredHoldsMoney(
  check: (options: RunOptions) => Promise<CheckResult>,
  reference = "golive-preflight-run1",
): Promise<CheckResult> {
  const started = performance.now();
  const result = await check({ timeoutMs: 400 });
  assert.equal(result.status, "failed", result.reason);
  assert.equal(result.moneyMayBeHeld, true, result.reason);
  assert.match(result.reason, /money may be held/i);
  assert.match(result.reason, literal(reference), "names the reference to look for");
  assert.ok(performance.now() - started < 1_400, "the SDK's own timeout ended the call");
  return result;
}
