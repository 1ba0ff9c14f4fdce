// The payment check's contract, whatever the processor: what a report line
// says for each way an authorization and its release can end. A scripted
// processor stands in for the SDKs here; the adapters' own tests run each
// SDK against a server that speaks its provider's API.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkPayment } from "@golive/preflight/payments/check";
import {
  type Authorization,
  OutcomeUnknown,
  type PaymentAttempt,
  PaymentDeclined,
  type PaymentProcessor,
  type ProcessorModule,
} from "@golive/preflight/payments/processor";
import { z } from "zod";

type Step = () => Promise<unknown>;

/** A processor whose authorize and void do what the test says, recording what they were asked. */
function scripted(authorize: Step, release: Step = async () => undefined) {
  const calls: { step: "authorize" | "void"; attempt: PaymentAttempt; id?: string }[] = [];
  let created = 0;
  const module: ProcessorModule<{ key: string }> = {
    name: "scripted",
    displayName: "Scripted Pay",
    credentials: z.strictObject({ key: z.string().min(1) }),
    minimumAmount: (currency) => (currency === "JPY" ? 50 : 1),
    defaultCurrency: "USD",
    create(): PaymentProcessor {
      created++;
      return {
        async authorize(attempt) {
          calls.push({ step: "authorize", attempt });
          return (await authorize()) as Authorization;
        },
        async void(authorization, attempt) {
          calls.push({ step: "void", attempt, id: authorization.id });
          return (await release()) as string | undefined;
        },
      };
    },
  };
  return { module, calls, created: () => created };
}

const never = () => new Promise<never>(() => {});
const approved = async () => ({ id: "pay_1" });
const check = (
  module: ProcessorModule<{ key: string }>,
  extra: Partial<Parameters<typeof checkPayment>[0]> = {},
) =>
  checkPayment({ module, credentials: { key: "k" }, live: false, timeoutMs: 200, runId: "run-7", ...extra });

describe("payment check", () => {
  test("authorized and voided: ok, the smallest amount, one idempotency key per call", async () => {
    const p = scripted(approved);
    const result = await check(p.module);
    assert.equal(result.status, "ok");
    assert.equal(result.reason, "authorized and voided 0.01 USD (pay_1)");
    const [auth, release] = p.calls;
    assert.equal(auth?.attempt.amountMinor, 1);
    assert.equal(auth?.attempt.idempotencyKey, "golive-preflight-run-7-scripted");
    assert.equal(auth?.attempt.reference, "golive-preflight-run-7");
    assert.equal(release?.id, "pay_1");
  });

  test("the currency a stack sets decides the amount: the processor's minimum in it", async () => {
    const p = scripted(approved);
    const result = await check(p.module, { currency: "JPY" });
    assert.equal(p.calls[0]?.attempt.amountMinor, 50);
    assert.match(result.reason, /authorized and voided 50 JPY/);
  });

  test("a release that is less than a void is reported in the adapter's words", async () => {
    const p = scripted(approved, async () => "authorized 0.01 USD, cancel received");
    assert.equal((await check(p.module)).reason, "authorized 0.01 USD, cancel received (pay_1)");
  });

  test("no credentials: skipped, and no client is even made", async () => {
    const p = scripted(approved);
    const result = await check(p.module, { credentials: undefined });
    assert.deepEqual([result.status, result.reason], ["skipped", "no key configured"]);
    assert.equal(p.created(), 0);
  });

  test("credentials that do not fit the schema fail naming the field, before any call", async () => {
    const p = scripted(approved);
    const result = await check(p.module, { credentials: { key: "" } });
    assert.equal(result.status, "failed");
    assert.match(result.reason, /^credentials: key: /);
    assert.equal(p.created(), 0);
  });

  test("a decline fails with the processor's code and holds nothing; there is nothing to void", async () => {
    const p = scripted(async () => {
      throw new PaymentDeclined("card_declined", "Your card was declined.");
    });
    const result = await check(p.module);
    assert.equal(result.status, "failed");
    assert.equal(result.reason, "declined (card_declined): Your card was declined.");
    assert.equal(result.moneyMayBeHeld, undefined);
    assert.equal(p.calls.length, 1);
  });

  test("an error that proves nothing was authorized (a refused key) fails without held money", async () => {
    const p = scripted(async () => {
      throw new Error("HTTP 401 authentication_error");
    });
    const result = await check(p.module);
    assert.equal(result.moneyMayBeHeld, undefined);
    assert.match(result.reason, /authorize 0\.01 USD: HTTP 401 authentication_error/);
  });

  test("an authorization with an unknown outcome says money may be held and where to look", async () => {
    const p = scripted(async () => {
      throw new OutcomeUnknown("socket hang up after the request was sent");
    });
    const result = await check(p.module);
    assert.equal(result.status, "failed");
    assert.equal(result.moneyMayBeHeld, true);
    assert.match(
      result.reason,
      /money may be held; look for reference golive-preflight-run-7 in the Scripted Pay dashboard/,
    );
  });

  test("an adapter that never answers is cut at its timeout plus a grace second, money may be held", async () => {
    const p = scripted(never);
    const started = performance.now();
    const result = await check(p.module);
    const took = performance.now() - started;
    assert.ok(took >= 1_150 && took < 3_000, `took ${took} ms`);
    assert.equal(result.moneyMayBeHeld, true);
    assert.match(result.reason, /authorize: no answer within 1200 ms/);
  });

  test("a void that fails after the authorization: failed, money may be held, the payment to release named", async () => {
    const p = scripted(approved, async () => {
      throw new Error("HTTP 500 internal error");
    });
    const result = await check(p.module);
    assert.equal(result.status, "failed");
    assert.equal(result.moneyMayBeHeld, true);
    assert.equal(
      result.reason,
      "authorized 0.01 USD (pay_1) but the void failed: HTTP 500 internal error. Money may be held: void pay_1 in the Scripted Pay dashboard",
    );
  });

  test("a void that never answers is cut the same way, money may be held", async () => {
    const p = scripted(approved, never);
    const result = await check(p.module);
    assert.equal(result.moneyMayBeHeld, true);
    assert.match(result.reason, /but the void failed: void: no answer within 1200 ms/);
  });
});
