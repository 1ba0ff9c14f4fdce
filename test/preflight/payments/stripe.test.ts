// The Stripe payment check: authorize Stripe's minimum with manual capture,
// cancel it at once, and say plainly when money may be held. The approve
// path runs against the real stripe-mock (Stripe's OpenAPI spec); declines,
// hangs and refused cancels against the fake, which speaks Stripe's errors.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { FakeProvider, RecordedRequest } from "@golive/devkit/payment-fakes/fake-server";
import { startStripeFake, startStripeMock } from "@golive/devkit/payment-fakes/stripe";
import { stripe } from "@golive/preflight/payments/stripe";
import {
  assertMoneyHeldAfterVoid,
  assertRefusedBeforeAnyCall,
  assertUnansweredHoldsMoney,
  paymentCheck,
} from "./harness";

const CREDENTIALS = { secretKey: "sk_test_preflight123" };

const creates = (fake: FakeProvider) =>
  fake.requests.filter(
    (r) => r.method === "POST" && new URL(r.path, fake.url).pathname === "/v1/payment_intents",
  );
const form = (request: RecordedRequest | undefined) => new URLSearchParams(request?.body ?? "");

describe("Stripe payment check", { timeout: 60_000 }, () => {
  const { fake, run } = paymentCheck(stripe, startStripeFake);

  describe("against stripe-mock", () => {
    let mock: FakeProvider;
    before(async () => {
      mock = await startStripeMock();
    });
    after(() => mock.close());

    // stripe-mock checks each call against Stripe's OpenAPI spec (paths,
    // parameter names and types, form encoding, auth header) and answers
    // 4xx otherwise, so an "ok" here proves the SDK calls are valid Stripe
    // API calls. It cannot prove Stripe's behaviour: its fixture is the
    // same for every call (the recording proxy sets the status Stripe
    // answers at each step).
    test("authorizes Stripe's minimum with manual capture, then cancels that intent", async () => {
      const result = await run(mock, CREDENTIALS);
      assert.equal(result.status, "ok", result.reason);
      const id = result.reason.match(/\((pi_\w+)\)/)?.[1];
      assert.ok(id, `the reason names the PaymentIntent: ${result.reason}`);
      assert.match(result.reason, /0\.50 USD/);

      const authorizations = creates(mock);
      assert.equal(authorizations.length, 1, "exactly one authorization");
      const sent = form(authorizations[0]);
      assert.equal(sent.get("amount"), String(stripe.minimumAmount("USD")));
      assert.equal(sent.get("currency"), "usd");
      assert.equal(sent.get("capture_method"), "manual");
      assert.equal(sent.get("confirm"), "true");
      assert.equal(sent.get("payment_method"), "pm_card_visa");
      assert.equal(sent.get("description"), "golive-preflight-run1");
      assert.ok(!mock.requests.some((r) => r.path.includes("/capture")), "nothing is captured");

      const cancels = mock.requests.filter((r) => r.method === "POST" && r.path.endsWith("/cancel"));
      assert.deepEqual(
        cancels.map((r) => r.path),
        [`/v1/payment_intents/${id}/cancel`],
      );
      const authorizeKey = authorizations[0]?.headers["idempotency-key"];
      const voidKey = cancels[0]?.headers["idempotency-key"];
      assert.equal(authorizeKey, "golive-preflight-run1-stripe-authorize");
      assert.equal(voidKey, "golive-preflight-run1-stripe-void");
      assert.notEqual(authorizeKey, voidKey);
    });
  });

  describe("against the fake", () => {
    test("a declined card fails with Stripe's decline code and holds nothing", async () => {
      const decline = await fake("decline");
      const result = await run(decline, CREDENTIALS);
      assert.equal(result.status, "failed");
      assert.equal(result.moneyMayBeHeld, undefined);
      assert.match(result.reason, /declined \(insufficient_funds\)/);
      assert.equal(creates(decline).length, 1);
      assert.ok(!decline.requests.some((r) => r.path.endsWith("/cancel")), "nothing to cancel");
    });

    test("an authorization without an answer fails within the SDK timeout and says money may be held", async () => {
      const hang = await fake("hang");
      await assertUnansweredHoldsMoney((options) => run(hang, CREDENTIALS, options));
      assert.equal(creates(hang).length, 1, "no SDK retry");
    });

    test("a refused cancel fails, names the intent and says money may be held", async () => {
      const voidFails = await fake("void-fails");
      const result = await run(voidFails, CREDENTIALS);
      assertMoneyHeldAfterVoid(result, "Stripe", /\((pi_\w+)\)/);
      assert.match(result.reason, /HTTP 400 invalid_request_error payment_intent_unexpected_state/);
    });

    test("credentials without a secret key fail naming the field, before any call to Stripe", async () => {
      const approve = await fake("approve");
      const result = await run(approve, { paymentMethod: "pm_card_visa" });
      assertRefusedBeforeAnyCall(result, approve, /secretKey/);
    });

    test("a live key in a sandbox run fails before any call to Stripe", async () => {
      const approve = await fake("approve");
      const result = await run(approve, { secretKey: "sk_live_preflight123" });
      assertRefusedBeforeAnyCall(result, approve, /live key/);
      assert.doesNotMatch(result.reason, /sk_live_preflight123/);
    });
  });
});
