// The Checkout.com payment check through checkout-sdk-node: request a card
// payment with capture false for the smallest amount the API takes, void it
// at once, and say plainly when money may be held. Against the fake, which
// answers in Checkout.com's documented shapes.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { startCheckoutFake } from "@golive/devkit/payment-fakes/checkout";
import type { FakeProvider, RecordedRequest } from "@golive/devkit/payment-fakes/fake-server";
import { checkout } from "@golive/preflight/payments/checkout";
import {
  assertMoneyHeldAfterVoid,
  assertRefusedBeforeAnyCall,
  assertUnansweredHoldsMoney,
  paymentCheck,
} from "./harness";

const CREDENTIALS = {
  secretKey: "sk_sbox_m73dzbpy7cf3gfd46xr4yj5xo4e",
  subdomain: "abcd1234",
  processingChannelId: "pc_zs5fqhybzc2e3jmq3efvybybpq",
};

const payments = (fake: FakeProvider) =>
  fake.requests.filter((r) => r.method === "POST" && r.path === "/payments");
const json = (request: RecordedRequest | undefined): Record<string, unknown> =>
  JSON.parse(request?.body ?? "{}");

describe("Checkout.com payment check", { timeout: 30_000 }, () => {
  const { fake, run } = paymentCheck(checkout, startCheckoutFake);

  test("authorizes 0.01 USD with the test Visa and capture false, then voids that payment", async () => {
    const approve = await fake("approve");
    const result = await run(approve, CREDENTIALS);
    assert.equal(result.status, "ok", result.reason);
    const id = result.reason.match(/\((pay_[a-z2-7]{26})\)/)?.[1];
    assert.ok(id, `the reason names the payment: ${result.reason}`);
    assert.match(result.reason, /0\.01 USD/);

    const authorizations = payments(approve);
    assert.equal(authorizations.length, 1, "exactly one authorization");
    const sent = json(authorizations[0]);
    assert.equal(sent.amount, checkout.minimumAmount("USD"));
    assert.equal(sent.amount, 1);
    assert.equal(sent.currency, "USD");
    assert.equal(sent.capture, false);
    assert.equal(sent.reference, "golive-preflight-run1");
    assert.equal(sent.processing_channel_id, CREDENTIALS.processingChannelId);
    assert.deepEqual(
      { ...(sent.source as object), expiry_year: undefined },
      { type: "card", number: "4242424242424242", expiry_month: 12, expiry_year: undefined, cvv: "100" },
    );
    assert.ok(!approve.requests.some((r) => r.path.includes("/captures")), "nothing is captured");

    const voids = approve.requests.filter((r) => r.path.endsWith("/voids"));
    assert.deepEqual(
      voids.map((r) => r.path),
      [`/payments/${id}/voids`],
    );
    const authorizeKey = authorizations[0]?.headers["cko-idempotency-key"];
    const voidKey = voids[0]?.headers["cko-idempotency-key"];
    assert.equal(authorizeKey, "golive-preflight-run1-checkout-authorize");
    assert.equal(voidKey, "golive-preflight-run1-checkout-void");
    assert.equal(authorizations[0]?.headers.authorization, `Bearer ${CREDENTIALS.secretKey}`);
  });

  test("a declined card fails with Checkout.com's response code and holds nothing", async () => {
    const decline = await fake("decline");
    const result = await run(decline, CREDENTIALS);
    assert.equal(result.status, "failed");
    assert.equal(result.moneyMayBeHeld, undefined);
    assert.match(result.reason, /declined \(20051\): Insufficient Funds/);
    assert.ok(!decline.requests.some((r) => r.path.endsWith("/voids")), "nothing to void");
  });

  test("a payment without an answer fails within the SDK timeout and says money may be held", async () => {
    const hang = await fake("hang");
    const result = await assertUnansweredHoldsMoney((options) => run(hang, CREDENTIALS, options));
    assert.match(result.reason, /SDK timeout/, "the SDK's own timeout ended the call");
    assert.equal(payments(hang).length, 1, "no retry");
  });

  test("a refused void fails, names the payment and says money may be held", async () => {
    const voidFails = await fake("void-fails");
    const result = await run(voidFails, CREDENTIALS);
    assertMoneyHeldAfterVoid(result, "Checkout.com", /\((pay_[a-z2-7]{26})\)/);
    assert.match(result.reason, /HTTP 403 ActionNotAllowed/);
  });

  test("credentials without a processing channel fail naming the field, before any call", async () => {
    const approve = await fake("approve");
    const { processingChannelId: _, ...withoutChannel } = CREDENTIALS;
    const result = await run(approve, withoutChannel);
    assertRefusedBeforeAnyCall(result, approve, /processingChannelId/);
  });

  test("a sandbox key in a live run fails before any call, without the key in the reason", async () => {
    const approve = await fake("approve");
    const result = await run(approve, CREDENTIALS, { live: true });
    assertRefusedBeforeAnyCall(result, approve, /sandbox key/);
    assert.doesNotMatch(result.reason, /sk_sbox_/);
  });

  test("a key Checkout.com rejects fails with its 401, without the key in the reason", async () => {
    const approve = await fake("approve");
    // Well formed but live: the fake, a sandbox, answers 401 like Checkout.com does to a key it does not know.
    const result = await run(
      approve,
      {
        ...CREDENTIALS,
        secretKey: "sk_m73dzbpy7cf3gfd46xr4yj5xo4e",
        paymentSource: { type: "id", id: "src_abc" },
      },
      { live: true },
    );
    assert.equal(result.status, "failed");
    assert.equal(result.moneyMayBeHeld, undefined);
    assert.match(result.reason, /HTTP 401 AuthenticationError/);
    assert.doesNotMatch(result.reason, /sk_m73/);
  });
});
