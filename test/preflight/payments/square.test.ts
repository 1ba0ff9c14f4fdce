// The Square payment check: a card payment of one minor unit left APPROVED
// (autocomplete false, nothing captured), cancelled at once, and a plain
// "money may be held" when the cancel or the answer is missing.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { FakeProvider, RecordedRequest } from "@golive/devkit/payment-fakes/fake-server";
import { startSquareFake } from "@golive/devkit/payment-fakes/square";
import { checkPayment } from "@golive/preflight/payments/check";
import { square } from "@golive/preflight/payments/square";
import {
  assertMoneyHeldAfterVoid,
  assertRefusedBeforeAnyCall,
  assertUnansweredHoldsMoney,
  paymentCheck,
} from "./harness";

const CREDENTIALS = { accessToken: "square-sandbox-token" };
const TIMEOUT_MS = 2_000;
/** A run id as the preflight makes them (plan.ts newRunId): the keys come out at full length. */
const RUN_ID = "20260101T120000Z-a1b2c3";
const REFERENCE = `golive-preflight-${RUN_ID}`;

const body = (request: RecordedRequest | undefined): Record<string, unknown> =>
  JSON.parse(request?.body ?? "{}") as Record<string, unknown>;
const creates = (fake: FakeProvider) => fake.requests.filter((r) => r.path === "/v2/payments");
const cancels = (fake: FakeProvider) => fake.requests.filter((r) => r.path.endsWith("/cancel"));

describe("Square payment check", { timeout: 60_000 }, () => {
  const { fake, run } = paymentCheck(square, startSquareFake, { runId: RUN_ID });

  test("approves one minor unit without capturing it, then cancels that payment", async () => {
    const approve = await fake("approve");
    const result = await run(approve, CREDENTIALS);
    assert.equal(result.status, "ok", result.reason);
    const id = result.reason.match(/\((fakepay\d+)\)/)?.[1];
    assert.ok(id, `the reason names the payment id: ${result.reason}`);
    assert.match(result.reason, /0\.01 USD/);

    assert.equal(creates(approve).length, 1, "exactly one authorization");
    const sent = body(creates(approve)[0]);
    assert.equal(square.minimumAmount("USD"), 1);
    assert.deepEqual(sent.amount_money, { amount: square.minimumAmount("USD"), currency: "USD" });
    assert.equal(sent.autocomplete, false, "authorization only");
    assert.equal(sent.source_id, "cnon:card-nonce-ok");
    assert.equal(sent.reference_id, REFERENCE.slice(0, 40));
    assert.equal(sent.note, REFERENCE);
    assert.ok(!approve.requests.some((r) => r.path.endsWith("/complete")), "nothing is captured");

    assert.deepEqual(
      cancels(approve).map((r) => r.path),
      [`/v2/payments/${id}/cancel`],
    );
    // Square's key goes in the body, at most 45 characters; CancelPayment takes none.
    const key = sent.idempotency_key;
    assert.equal(typeof key, "string");
    assert.ok(String(key).length <= 45, `idempotency_key ${key}`);
    assert.equal(cancels(approve)[0]?.body, "", "the cancel carries no body");
    assert.ok(approve.requests.every((r) => r.headers.authorization === "Bearer square-sandbox-token"));
  });

  test("the authorize key is the same on every attempt of a run and differs between runs", async () => {
    const approve = await fake("approve");
    await run(approve, CREDENTIALS);
    await checkPayment({
      module: square,
      credentials: CREDENTIALS,
      live: false,
      endpoint: approve.url,
      timeoutMs: TIMEOUT_MS,
      runId: "20260101T120000Z-d4e5f6",
    });
    const keys = creates(approve).map((r) => body(r).idempotency_key);
    assert.equal(keys.length, 2);
    assert.notEqual(keys[0], keys[1]);
    const again = await fake("approve");
    await run(again, CREDENTIALS);
    assert.equal(body(creates(again)[0]).idempotency_key, keys[0]);
  });

  test("a card on file is charged with its customer", async () => {
    const approve = await fake("approve");
    const card = { sourceId: "ccof:company-card", customerId: "CUSTOMER1", locationId: "LMAIN" };
    const result = await run(approve, { ...CREDENTIALS, ...card });
    assert.equal(result.status, "ok", result.reason);
    const sent = body(creates(approve)[0]);
    assert.equal(sent.source_id, "ccof:company-card");
    assert.equal(sent.customer_id, "CUSTOMER1");
    assert.equal(sent.location_id, "LMAIN");
  });

  test("a declined card fails with Square's error code and holds nothing", async () => {
    const decline = await fake("decline");
    const result = await run(decline, CREDENTIALS);
    assert.equal(result.status, "failed");
    assert.equal(result.moneyMayBeHeld, undefined);
    assert.match(result.reason, /declined \(CARD_DECLINED\)/);
    assert.equal(creates(decline).length, 1);
    assert.equal(cancels(decline).length, 0, "nothing to cancel");
  });

  test("a payment without an answer fails within the SDK timeout and says money may be held", async () => {
    const hang = await fake("hang");
    const result = await assertUnansweredHoldsMoney((options) => run(hang, CREDENTIALS, options), REFERENCE);
    assert.match(result.reason, /no answer within the SDK's timeout/);
    assert.equal(creates(hang).length, 1, "no SDK retry");
  });

  test("a refused cancel fails, names the payment and says money may be held", async () => {
    const voidFails = await fake("void-fails");
    const result = await run(voidFails, CREDENTIALS);
    assertMoneyHeldAfterVoid(result, "Square", /\((fakepay\d+)\)/);
    assert.match(result.reason, /Square HTTP 503 API_ERROR SERVICE_UNAVAILABLE/);
    assert.equal(cancels(voidFails).length, 1, "no SDK retry");
  });

  test("credentials without an access token fail naming the field, before any call to Square", async () => {
    const approve = await fake("approve");
    const result = await run(approve, { sourceId: "cnon:card-nonce-ok" });
    assertRefusedBeforeAnyCall(result, approve, /credentials: accessToken/);
  });

  test("a card on file without its customer fails naming customerId, before any call to Square", async () => {
    const approve = await fake("approve");
    const result = await run(approve, { ...CREDENTIALS, sourceId: "ccof:company-card" });
    assertRefusedBeforeAnyCall(result, approve, /credentials: customerId/);
  });

  test("a live run with Square's test nonce fails before any call to Square", async () => {
    const approve = await fake("approve");
    const result = await run(approve, CREDENTIALS, { live: true });
    assertRefusedBeforeAnyCall(result, approve, /card on file/);
  });
});
