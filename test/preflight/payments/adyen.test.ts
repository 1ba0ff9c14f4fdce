// The Adyen payment check: a card authorisation of one minor unit with manual
// capture, cancelled at once, and a plain "money may be held" when the cancel
// or the answer is missing. Adyen's SDK speaks HTTPS only: the fake sits
// behind a loopback TLS front whose throwaway certificate this process trusts.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import tls from "node:tls";
import { startAdyenFake } from "@golive/devkit/payment-fakes/adyen";
import type { FakeProvider, RecordedRequest, Scenario } from "@golive/devkit/payment-fakes/fake-server";
import { adyen } from "@golive/preflight/payments/adyen";
import {
  assertMoneyHeldAfterVoid,
  assertRefusedBeforeAnyCall,
  assertUnansweredHoldsMoney,
  paymentCheck,
} from "./harness";

const CREDENTIALS = { apiKey: "adyen-test-key", merchantAccount: "GoliveECOM" };

let trusted = false;
/** Starts the fake; the first one's certificate (the same for every fake) becomes trusted by this process. */
async function startTrustedAdyenFake(scenario: Scenario) {
  const started = await startAdyenFake(scenario);
  if (!trusted) {
    tls.setDefaultCACertificates([...tls.getCACertificates("default"), started.certificate]);
    trusted = true;
  }
  return started;
}

const body = (request: RecordedRequest | undefined): Record<string, unknown> =>
  JSON.parse(request?.body ?? "{}") as Record<string, unknown>;
const payments = (fake: FakeProvider) => fake.requests.filter((r) => r.path === "/v72/payments");
const cancels = (fake: FakeProvider) => fake.requests.filter((r) => r.path.endsWith("/cancels"));

describe("Adyen payment check", { timeout: 60_000 }, () => {
  const { fake, run } = paymentCheck(adyen, startTrustedAdyenFake);

  test("authorises one minor unit with manual capture, then cancels that pspReference", async () => {
    const approve = await fake("approve");
    const result = await run(approve, CREDENTIALS);
    assert.equal(result.status, "ok", result.reason);
    const id = result.reason.match(/\((FAKEPSP\d+)\)/)?.[1];
    assert.ok(id, `the reason names the pspReference: ${result.reason}`);
    assert.match(result.reason, /0\.01 EUR/);
    assert.match(result.reason, /cancel received \(Adyen confirms it by webhook\)/);

    assert.equal(payments(approve).length, 1, "exactly one authorisation");
    const sent = body(payments(approve)[0]);
    assert.deepEqual(sent.amount, { value: adyen.minimumAmount("EUR"), currency: "EUR" });
    assert.equal(adyen.minimumAmount("EUR"), 1);
    assert.equal(sent.merchantAccount, "GoliveECOM");
    assert.equal(sent.reference, "golive-preflight-run1");
    assert.deepEqual(sent.additionalData, { manualCapture: "true" });
    assert.deepEqual(sent.paymentMethod, {
      type: "scheme",
      encryptedCardNumber: "test_4111111111111111",
      encryptedExpiryMonth: "test_03",
      encryptedExpiryYear: "test_2030",
      encryptedSecurityCode: "test_737",
    });
    assert.ok(!approve.requests.some((r) => r.path.includes("/captures")), "nothing is captured");

    assert.deepEqual(
      cancels(approve).map((r) => r.path),
      [`/v72/payments/${id}/cancels`],
    );
    assert.deepEqual(body(cancels(approve)[0]), {
      merchantAccount: "GoliveECOM",
      reference: "golive-preflight-run1",
    });
    const authorizeKey = payments(approve)[0]?.headers["idempotency-key"];
    const voidKey = cancels(approve)[0]?.headers["idempotency-key"];
    assert.equal(authorizeKey, "golive-preflight-run1-adyen-authorize");
    assert.equal(voidKey, "golive-preflight-run1-adyen-void");
    assert.notEqual(authorizeKey, voidKey);
    assert.ok(approve.requests.every((r) => r.headers["x-api-key"] === "adyen-test-key"));
  });

  test("a stored card is charged as the merchant's unscheduled card-on-file payment", async () => {
    const approve = await fake("approve");
    const card = { storedPaymentMethodId: "8415718415172204", shopperReference: "golive-company-card" };
    const result = await run(approve, { ...CREDENTIALS, card });
    assert.equal(result.status, "ok", result.reason);
    const sent = body(payments(approve)[0]);
    assert.deepEqual(sent.paymentMethod, { type: "scheme", storedPaymentMethodId: "8415718415172204" });
    assert.equal(sent.shopperReference, "golive-company-card");
    assert.equal(sent.shopperInteraction, "ContAuth");
    assert.equal(sent.recurringProcessingModel, "UnscheduledCardOnFile");
  });

  test("a refused card fails with Adyen's refusalReasonCode and holds nothing", async () => {
    const decline = await fake("decline");
    const result = await run(decline, CREDENTIALS);
    assert.equal(result.status, "failed");
    assert.equal(result.moneyMayBeHeld, undefined);
    assert.match(result.reason, /declined \(2\): Adyen refused FAKEPSP\d+: Refused/);
    assert.equal(payments(decline).length, 1);
    assert.equal(cancels(decline).length, 0, "nothing to cancel");
  });

  test("an authorisation without an answer fails within the timeout and says money may be held", async () => {
    const hang = await fake("hang");
    const result = await assertUnansweredHoldsMoney((options) => run(hang, CREDENTIALS, options));
    assert.match(result.reason, /no clear answer/);
    assert.equal(payments(hang).length, 1, "no retry");
  });

  test("a refused cancel fails, names the pspReference and says money may be held", async () => {
    const voidFails = await fake("void-fails");
    const result = await run(voidFails, CREDENTIALS);
    assertMoneyHeldAfterVoid(result, "Adyen", /\((FAKEPSP\d+)\)/);
    assert.match(result.reason, /Adyen HTTP 403 010 \(security\): Not allowed/);
  });

  test("credentials without a merchant account fail naming the field, before any call to Adyen", async () => {
    const approve = await fake("approve");
    const result = await run(approve, { apiKey: "adyen-test-key" });
    assertRefusedBeforeAnyCall(result, approve, /credentials: merchantAccount/);
  });

  test("a live run with Adyen's test card fails before any call to Adyen", async () => {
    const approve = await fake("approve");
    const credentials = { ...CREDENTIALS, liveEndpointUrlPrefix: "1797a841fbb37ca7-GoliveECOM" };
    const result = await run(approve, credentials, { live: true });
    assertRefusedBeforeAnyCall(result, approve, /test card/);
  });
});
