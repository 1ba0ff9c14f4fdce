// The Braintree payment check: a sale that only authorizes (submit for
// settlement off), voided at once, and a plain statement when money may be
// held. The fake speaks the gateway's API as the Node SDK does (JSON in,
// XML out, HTTP Basic) and refuses what the gateway refuses with its codes.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  BRAINTREE_FAKE_CREDENTIALS,
  BRAINTREE_FAKE_PAYMENT_METHOD_TOKEN,
  startBraintreeFake,
} from "@golive/devkit/payment-fakes/braintree";
import type { FakeProvider, RecordedRequest } from "@golive/devkit/payment-fakes/fake-server";
import { braintree } from "@golive/preflight/payments/braintree";
import { BRAINTREE_SANDBOX_NONCE } from "@golive/preflight/payments/credentials";
import {
  assertMoneyHeldAfterVoid,
  assertRefusedBeforeAnyCall,
  assertUnansweredHoldsMoney,
  paymentCheck,
} from "./harness";

const CREDENTIALS = { ...BRAINTREE_FAKE_CREDENTIALS };
const MERCHANT_PATH = `/merchants/${CREDENTIALS.merchantId}/transactions`;

const sales = (fake: FakeProvider) =>
  fake.requests.filter((r) => r.method === "POST" && r.path === MERCHANT_PATH);
const voids = (fake: FakeProvider) =>
  fake.requests.filter((r) => r.method === "PUT" && r.path.endsWith("/void"));
const settlements = (fake: FakeProvider) => fake.requests.filter((r) => r.path.includes("settlement"));
const sent = (request: RecordedRequest | undefined) => JSON.parse(request?.body || "{}").transaction ?? {};
const TRANSACTION_ID = /\(([a-z0-9]{8})\)/;
const transactionId = (reason: string) => reason.match(TRANSACTION_ID)?.[1];

describe("Braintree payment check", { timeout: 60_000 }, () => {
  const { fake, run } = paymentCheck(braintree, startBraintreeFake);

  test("authorizes one cent with the sandbox nonce, unsettled, then voids that transaction", async () => {
    const approve = await fake("approve");
    const result = await run(approve, CREDENTIALS);
    assert.equal(result.status, "ok", result.reason);
    const id = transactionId(result.reason);
    assert.ok(id, `the reason names the transaction: ${result.reason}`);
    assert.match(result.reason, /0\.01 USD/);

    assert.equal(sales(approve).length, 1, "exactly one authorization");
    const sale = sent(sales(approve)[0]);
    assert.equal(sale.type, "sale");
    assert.equal(sale.amount, (braintree.minimumAmount("USD") / 100).toFixed(2));
    assert.equal(sale.payment_method_nonce, BRAINTREE_SANDBOX_NONCE);
    assert.deepEqual(sale.options, { submit_for_settlement: false });
    assert.equal(settlements(approve).length, 0, "nothing is submitted for settlement");

    assert.deepEqual(
      voids(approve).map((r) => r.path),
      [`${MERCHANT_PATH}/${id}/void`],
    );
    // No idempotency key by default (see the adapter): the run's reference,
    // as order id, is what finds the transaction again; nothing is resent.
    assert.equal(sale.order_id, "golive-preflight-run1");
    assert.equal(sale.api_request_key, undefined);
    assert.equal(voids(approve)[0]?.body, "");
  });

  test("with At-Most-Once processing enabled, the sale and the void carry their own apiRequestKey", async () => {
    const atMostOnce = await fake("approve", { atMostOnce: true });
    const result = await run(atMostOnce, { ...CREDENTIALS, apiRequestKeys: true });
    assert.equal(result.status, "ok", result.reason);
    const authorizeKey = sent(sales(atMostOnce)[0]).api_request_key;
    const voidKey = sent(voids(atMostOnce)[0]).api_request_key;
    assert.equal(authorizeKey, "golive-preflight-run1-braintree-authorize");
    assert.equal(voidKey, "golive-preflight-run1-braintree-void");
    assert.notEqual(authorizeKey, voidKey);
  });

  test("apiRequestKey on a merchant without At-Most-Once processing fails with the gateway's code, nothing held", async () => {
    const approve = await fake("approve");
    const result = await run(approve, { ...CREDENTIALS, apiRequestKeys: true });
    assert.equal(result.status, "failed");
    assert.equal(result.moneyMayBeHeld, undefined);
    assert.match(result.reason, /HTTP 422 915231 api_request_key/);
  });

  test("a live run charges the vaulted card's token", async () => {
    const approve = await fake("approve");
    // live: true would pick Braintree's production host; the endpoint overrides it.
    const result = await run(
      approve,
      { ...CREDENTIALS, paymentMethodToken: BRAINTREE_FAKE_PAYMENT_METHOD_TOKEN },
      { live: true },
    );
    assert.equal(result.status, "ok", result.reason);
    const sale = sent(sales(approve)[0]);
    assert.equal(sale.payment_method_token, BRAINTREE_FAKE_PAYMENT_METHOD_TOKEN);
    assert.equal(sale.payment_method_nonce, undefined);
  });

  test("a processor decline fails with the processor response code and holds nothing", async () => {
    const decline = await fake("decline");
    const result = await run(decline, CREDENTIALS);
    assert.equal(result.status, "failed");
    assert.equal(result.moneyMayBeHeld, undefined);
    assert.match(
      result.reason,
      /declined \(2000\): transaction [a-z0-9]{8} processor_declined: Do Not Honor/,
    );
    assert.equal(voids(decline).length, 0, "nothing to void");
  });

  test("an authorization without an answer fails within the SDK timeout and says money may be held", async () => {
    const hang = await fake("hang");
    await assertUnansweredHoldsMoney((options) => run(hang, CREDENTIALS, options));
    assert.equal(sales(hang).length, 1, "never resent");
  });

  test("a refused void fails, names the transaction and says money may be held", async () => {
    const voidFails = await fake("void-fails");
    const result = await run(voidFails, CREDENTIALS);
    assertMoneyHeldAfterVoid(result, "Braintree", TRANSACTION_ID);
    assert.match(result.reason, /HTTP 422 91504 base: Transaction can only be voided/);
  });

  test("a wrong private key fails with the gateway's authentication error, nothing held", async () => {
    const approve = await fake("approve");
    const result = await run(approve, { ...CREDENTIALS, privateKey: "not-the-key" });
    assert.equal(result.status, "failed");
    assert.equal(result.moneyMayBeHeld, undefined);
    assert.match(result.reason, /HTTP 401 authenticationError/);
    assert.doesNotMatch(result.reason, /not-the-key/);
  });

  test("credentials without a private key fail naming the field, before any call to Braintree", async () => {
    const approve = await fake("approve");
    const { privateKey: _, ...withoutPrivateKey } = CREDENTIALS;
    const result = await run(approve, withoutPrivateKey);
    assertRefusedBeforeAnyCall(result, approve, /privateKey/);
  });

  test("a live run without the vaulted card's token fails before any call to Braintree", async () => {
    const approve = await fake("approve");
    const result = await run(approve, CREDENTIALS, { live: true });
    assertRefusedBeforeAnyCall(result, approve, /paymentMethodToken/);
  });
});
