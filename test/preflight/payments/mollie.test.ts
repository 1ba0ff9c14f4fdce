// The Mollie payment check: a one-cent card payment with manual capture that
// no payer ever completes, then released (read back, cancelled where Mollie
// allows it), and a plain "money may be held" when that cannot be confirmed.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { FakeProvider, RecordedRequest } from "@golive/devkit/payment-fakes/fake-server";
import { startMollieFake } from "@golive/devkit/payment-fakes/mollie";
import { mollie } from "@golive/preflight/payments/mollie";
import {
  assertMoneyHeldAfterVoid,
  assertRefusedBeforeAnyCall,
  assertUnansweredHoldsMoney,
  paymentCheck,
} from "./harness";

// Mollie's SDK speaks HTTPS only and pins its own CA bundle, so nothing but
// switching verification off lets it reach the fake's throwaway certificate.
// This test process talks to nothing but its loopback fakes.
process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";

const CREDENTIALS = { apiKey: "test_preflight0000000000000000000000" };

const body = (request: RecordedRequest | undefined): Record<string, unknown> =>
  JSON.parse(request?.body ?? "{}") as Record<string, unknown>;
const creates = (fake: FakeProvider) =>
  fake.requests.filter((r) => r.method === "POST" && r.path === "/v2/payments");
const calls = (fake: FakeProvider, method: string) =>
  fake.requests.filter((r) => r.method === method && r.path.startsWith("/v2/payments/"));

describe("Mollie payment check", { timeout: 60_000 }, () => {
  const { fake, run } = paymentCheck(mollie, startMollieFake);

  test("creates a one-cent card payment with manual capture, then reads it back as holding nothing", async () => {
    const approve = await fake("approve");
    const result = await run(approve, CREDENTIALS);
    assert.equal(result.status, "ok", result.reason);
    const id = result.reason.match(/\((tr_\w+)\)/)?.[1];
    assert.ok(id, `the reason names the payment id: ${result.reason}`);
    assert.match(result.reason, /0\.01 EUR/);
    // Nothing was authorized: the line says what happened instead of "voided".
    assert.match(result.reason, /payment no payer can complete .*expires unpaid/);
    assert.doesNotMatch(result.reason, /voided/);

    assert.equal(creates(approve).length, 1, "exactly one payment");
    const sent = body(creates(approve)[0]);
    assert.equal(mollie.minimumAmount("EUR"), 1);
    assert.deepEqual(sent.amount, { currency: "EUR", value: "0.01" });
    assert.equal(sent.method, "creditcard");
    assert.equal(sent.captureMode, "manual", "authorization only");
    assert.equal(sent.description, "golive-preflight-run1");
    assert.equal(typeof sent.redirectUrl, "string");
    assert.equal(creates(approve)[0]?.headers["idempotency-key"], "golive-preflight-run1-mollie-authorize");
    assert.ok(!approve.requests.some((r) => r.path.includes("/captures")), "nothing is captured");

    // An open card payment is not cancelable at Mollie: the release reads its
    // state and finds nothing authorized.
    assert.deepEqual(
      calls(approve, "GET").map((r) => r.path),
      [`/v2/payments/${id}`],
    );
    assert.equal(calls(approve, "DELETE").length, 0);
  });

  test("a payment Mollie marks cancelable is cancelled with its own idempotency key", async () => {
    const approve = await fake("approve", { cancelable: true });
    const result = await run(approve, CREDENTIALS);
    assert.equal(result.status, "ok", result.reason);
    const id = result.reason.match(/\((tr_\w+)\)/)?.[1];
    assert.deepEqual(
      calls(approve, "DELETE").map((r) => r.path),
      [`/v2/payments/${id}`],
    );
    const authorizeKey = creates(approve)[0]?.headers["idempotency-key"];
    const voidKey = calls(approve, "DELETE")[0]?.headers["idempotency-key"];
    assert.equal(voidKey, "golive-preflight-run1-mollie-void");
    assert.notEqual(authorizeKey, voidKey);
  });

  test("a payment Mollie refuses fails with Mollie's field and holds nothing", async () => {
    const decline = await fake("decline");
    const result = await run(decline, CREDENTIALS);
    assert.equal(result.status, "failed");
    assert.equal(result.moneyMayBeHeld, undefined);
    assert.match(result.reason, /declined \(amount\): Mollie: The amount is lower than the minimum/);
    assert.equal(creates(decline).length, 1);
    assert.equal(calls(decline, "GET").length + calls(decline, "DELETE").length, 0, "nothing to release");
  });

  test("a create without an answer fails within the timeout and says money may be held", async () => {
    const hang = await fake("hang");
    const result = await assertUnansweredHoldsMoney((options) => run(hang, CREDENTIALS, options));
    assert.match(result.reason, /no answer within 400 ms/);
    assert.equal(creates(hang).length, 1, "no retry");
  });

  test("a release Mollie cannot confirm fails, names the payment and says money may be held", async () => {
    const voidFails = await fake("void-fails");
    const result = await run(voidFails, CREDENTIALS);
    assertMoneyHeldAfterVoid(result, "Mollie", /\((tr_\w+)\)/);
    assert.match(result.reason, /Mollie HTTP 503 Service Unavailable/);
    assert.equal(calls(voidFails, "GET").length, 3, "the SDK's own retries of a 5xx, then it gives up");
  });

  test("credentials without an API key fail naming the field, before any call to Mollie", async () => {
    const approve = await fake("approve");
    const result = await run(approve, {});
    assertRefusedBeforeAnyCall(result, approve, /credentials: apiKey/);
  });

  test("a live key in a sandbox run fails before any call to Mollie", async () => {
    const approve = await fake("approve");
    const result = await run(approve, { apiKey: "live_preflight0000000000000000000000" });
    assertRefusedBeforeAnyCall(result, approve, /live key/);
    assert.doesNotMatch(result.reason, /live_preflight/);
  });
});
