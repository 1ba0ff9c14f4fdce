// The PayPal payment check: an Orders v2 order with intent AUTHORIZE paid
// by a card, the authorization voided at once, and a plain statement when
// money may be held. The fake speaks PayPal's OAuth2, Orders v2 and
// Payments v2 shapes and checks the token, the body and PayPal-Request-Id.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { FakeProvider, RecordedRequest } from "@golive/devkit/payment-fakes/fake-server";
import { PAYPAL_FAKE_CREDENTIALS, startPaypalFake } from "@golive/devkit/payment-fakes/paypal";
import { PAYPAL_SANDBOX_CARD } from "@golive/preflight/payments/credentials";
import { paypal } from "@golive/preflight/payments/paypal";
import {
  assertMoneyHeldAfterVoid,
  assertRefusedBeforeAnyCall,
  assertUnansweredHoldsMoney,
  paymentCheck,
} from "./harness";

const CREDENTIALS = { ...PAYPAL_FAKE_CREDENTIALS };

const posts = (fake: FakeProvider, pattern: RegExp) =>
  fake.requests.filter((r) => r.method === "POST" && pattern.test(r.path));
const createOrders = (fake: FakeProvider) => posts(fake, /^\/v2\/checkout\/orders$/);
const orderAuthorizations = (fake: FakeProvider) => posts(fake, /^\/v2\/checkout\/orders\/\w+\/authorize$/);
const voids = (fake: FakeProvider) => posts(fake, /^\/v2\/payments\/authorizations\/\w+\/void$/);
const captures = (fake: FakeProvider) => fake.requests.filter((r) => r.path.includes("capture"));
const requestId = (request: RecordedRequest | undefined) => request?.headers["paypal-request-id"];
const AUTHORIZATION_ID = /\(([A-Z0-9]{17})\)/;
const authorizationId = (reason: string) => reason.match(AUTHORIZATION_ID)?.[1];

describe("PayPal payment check", { timeout: 60_000 }, () => {
  const { fake, run } = paymentCheck(paypal, startPaypalFake);

  test("authorizes one cent with the sandbox card in one order, then voids that authorization", async () => {
    const approve = await fake("approve");
    const result = await run(approve, CREDENTIALS);
    assert.equal(result.status, "ok", result.reason);
    const id = authorizationId(result.reason);
    assert.ok(id, `the reason names the authorization: ${result.reason}`);
    assert.match(result.reason, /0\.01 USD/);

    assert.equal(posts(approve, /^\/v1\/oauth2\/token$/).length, 1, "one OAuth2 token");
    const orders = createOrders(approve);
    assert.equal(orders.length, 1, "exactly one authorization");
    const body = JSON.parse(orders[0]?.body ?? "{}");
    assert.equal(body.intent, "AUTHORIZE");
    assert.deepEqual(body.purchase_units[0].amount, {
      currency_code: "USD",
      value: (paypal.minimumAmount("USD") / 100).toFixed(2),
    });
    assert.equal(body.purchase_units[0].invoice_id, "golive-preflight-run1");
    assert.equal(body.payment_source.card.number, PAYPAL_SANDBOX_CARD.number);
    assert.equal(orderAuthorizations(approve).length, 0, "the card order authorized in one step");
    assert.equal(captures(approve).length, 0, "nothing is captured");

    assert.deepEqual(
      voids(approve).map((r) => r.path),
      [`/v2/payments/authorizations/${id}/void`],
    );
    const authorizeKey = requestId(orders[0]);
    const voidKey = requestId(voids(approve)[0]);
    assert.equal(authorizeKey, "golive-preflight-run1-paypal-authorize");
    assert.equal(voidKey, "golive-preflight-run1-paypal-void");
    assert.notEqual(authorizeKey, voidKey);
  });

  test("an order that comes back without an authorization is authorized with its own PayPal-Request-Id", async () => {
    const twoStep = await fake("approve", { flow: "two-step" });
    const result = await run(twoStep, CREDENTIALS);
    assert.equal(result.status, "ok", result.reason);
    const id = authorizationId(result.reason);
    const [authorize] = orderAuthorizations(twoStep);
    assert.equal(orderAuthorizations(twoStep).length, 1);
    const keys = [createOrders(twoStep)[0], authorize, voids(twoStep)[0]].map(requestId);
    assert.deepEqual(keys, [
      "golive-preflight-run1-paypal-authorize",
      "golive-preflight-run1-paypal-authorize-order",
      "golive-preflight-run1-paypal-void",
    ]);
    assert.deepEqual(
      voids(twoStep).map((r) => r.path),
      [`/v2/payments/authorizations/${id}/void`],
    );
  });

  test("a denied card fails with the processor response code and holds nothing", async () => {
    const decline = await fake("decline");
    const result = await run(decline, CREDENTIALS);
    assert.equal(result.status, "failed");
    assert.equal(result.moneyMayBeHeld, undefined);
    assert.match(result.reason, /declined \(0500\)/);
    assert.equal(voids(decline).length, 0, "nothing to void");
  });

  test("an authorization without an answer fails within the SDK timeout and says money may be held", async () => {
    const hang = await fake("hang");
    await assertUnansweredHoldsMoney((options) => run(hang, CREDENTIALS, options));
    assert.equal(createOrders(hang).length, 1, "no SDK retry");
  });

  test("a refused void fails, names the authorization and says money may be held", async () => {
    const voidFails = await fake("void-fails");
    const result = await run(voidFails, CREDENTIALS);
    assertMoneyHeldAfterVoid(result, "PayPal", AUTHORIZATION_ID);
    assert.match(result.reason, /HTTP 500 INTERNAL_SERVER_ERROR/);
  });

  test("a wrong client secret fails with PayPal's OAuth2 error and no order", async () => {
    const approve = await fake("approve");
    const result = await run(approve, { ...CREDENTIALS, clientSecret: "not-the-secret" });
    assert.equal(result.status, "failed");
    assert.equal(result.moneyMayBeHeld, undefined);
    assert.match(result.reason, /HTTP 401 invalid_client/);
    assert.doesNotMatch(result.reason, /not-the-secret/);
    assert.equal(createOrders(approve).length, 0);
  });

  test("credentials without a client secret fail naming the field, before any call to PayPal", async () => {
    const approve = await fake("approve");
    const result = await run(approve, { clientId: CREDENTIALS.clientId });
    assertRefusedBeforeAnyCall(result, approve, /clientSecret/);
  });

  test("a live run without the vault id of the company's card fails before any call to PayPal", async () => {
    const approve = await fake("approve");
    const result = await run(approve, CREDENTIALS, { live: true });
    assertRefusedBeforeAnyCall(result, approve, /cardVaultId/);
  });
});
