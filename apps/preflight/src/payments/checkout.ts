// Checkout.com: a card payment requested with capture false (an
// authorization only) for the smallest amount the API takes, then voided.
import Checkout from "checkout-sdk-node";
import { z } from "zod";
import {
  CHECKOUT_TEST_CARD_NUMBER,
  type CheckoutCredentials,
  checkoutCredentials as credentials,
} from "./credentials";
import {
  type Authorization,
  OutcomeUnknown,
  type PaymentAttempt,
  PaymentDeclined,
  type PaymentProcessor,
  type ProcessorModule,
  type ProcessorOptions,
} from "./processor";

/** Amounts in these currencies are in thousandths and must end in 0 (see minimumAmount). */
const THOUSANDTHS = new Set(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"]);

/**
 * checkout.com/docs/payments/accept-payments/format-the-amount-value: the
 * amount must be greater than zero, so 1 minor unit; for the three-decimal
 * currencies its last digit must be 0, so 10.
 */
function minimumAmount(currency: string): number {
  return THOUSANDTHS.has(currency.toUpperCase()) ? 10 : 1;
}

/** The fields of a payment response the check reads; the SDK types the answer as Object. */
const paymentResponse = z.object({
  id: z.string(),
  approved: z.boolean().optional(),
  status: z.string().optional(),
  response_code: z.string().optional(),
  response_summary: z.string().optional(),
});

const voidResponse = z.object({ action_id: z.string() });

/** What checkout-sdk-node throws: its error classes carry a name, an HTTP code and the body. */
interface SdkError {
  name: string;
  httpCode: number | undefined;
  body: unknown;
  message: string;
}

function sdkError(err: unknown): SdkError {
  const value = (typeof err === "object" && err !== null ? err : {}) as Record<string, unknown>;
  return {
    name: typeof value.name === "string" ? value.name : "Error",
    httpCode: typeof value.http_code === "number" && value.http_code > 0 ? value.http_code : undefined,
    body: value.body,
    message: err instanceof Error ? err.message : String(err),
  };
}

/** Checkout.com's error body: { request_id, error_type, error_codes[] }; 401 and 403 come empty. */
function bodyText(body: unknown): string {
  if (typeof body === "string") return body;
  if (typeof body !== "object" || body === null) return "";
  const { error_type, error_codes } = body as { error_type?: unknown; error_codes?: unknown };
  const codes = Array.isArray(error_codes) ? error_codes.join(", ") : "";
  return [typeof error_type === "string" ? error_type : "", codes].filter(Boolean).join(": ");
}

function describe(error: SdkError): string {
  const detail = bodyText(error.body) || error.message;
  // The SDK puts the request URL in connection errors; the key is never part of it.
  return `Checkout.com HTTP ${error.httpCode ?? "-"} ${error.name}: ${detail}`.replace(/sk_\w+/g, "[key]");
}

/** Connection failures where the request never left this host: nothing can be authorized. */
const NOT_SENT = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN/;

function authorizeError(err: unknown): Error {
  const error = sdkError(err);
  if (error.name === "ApiTimeout")
    return new OutcomeUnknown("Checkout.com: no answer within the SDK timeout");
  if (error.name === "ValueError")
    return new Error(`checkout-sdk-node refused the request: ${error.message}`);
  const text = describe(error);
  // No HTTP status: the connection broke, possibly after the request went out.
  if (error.httpCode === undefined) return NOT_SENT.test(text) ? new Error(text) : new OutcomeUnknown(text);
  // A 5xx does not say whether the payment was made.
  if (error.httpCode >= 500) return new OutcomeUnknown(text);
  return new Error(text);
}

function voidError(err: unknown): Error {
  const error = sdkError(err);
  if (error.name === "ApiTimeout")
    return new Error("Checkout.com: no answer to the void within the SDK timeout");
  return new Error(describe(error));
}

/** The payment answer, read: an authorization, a decline, or something that is neither. */
function authorization(answer: unknown): Authorization {
  const payment = paymentResponse.safeParse(answer);
  if (!payment.success) throw new OutcomeUnknown("Checkout.com answered the payment without a payment id");
  const { id, approved, status, response_code, response_summary } = payment.data;
  if (approved === true && status === "Authorized") return { id };
  if (approved === false)
    throw new PaymentDeclined(
      response_code ?? "declined",
      response_summary ?? `payment ${id} ${status ?? "declined"}`,
    );
  const unexpected = `Checkout.com payment ${id} is ${status ?? "without a status"}, expected Authorized`;
  // Approved but not merely authorized (captured, say): money moved and a void will not return it.
  if (approved === true) throw new OutcomeUnknown(unexpected);
  // Pending: 3-D Secure or a redirect the preflight cannot complete; nothing authorized yet.
  throw new Error(unexpected);
}

function sourceOf(source: CheckoutCredentials["paymentSource"]): Record<string, unknown> {
  if (source.type === "id") return { type: "id", id: source.id };
  return {
    type: "card",
    number: source.number,
    expiry_month: source.expiryMonth,
    expiry_year: source.expiryYear,
    cvv: source.cvv,
  };
}

/** The SDK decides sandbox or live from the key, so the key must match the mode asked for. */
function checkMode(creds: CheckoutCredentials, live: boolean): void {
  const keyIsLive = !creds.secretKey.startsWith("sk_sbox_");
  if (keyIsLive !== live)
    throw new Error(
      `credentials: secretKey is a ${keyIsLive ? "live" : "sandbox"} key but the check runs ${live ? "live" : "in sandbox"}`,
    );
  if (live && creds.paymentSource.type === "card" && creds.paymentSource.number === CHECKOUT_TEST_CARD_NUMBER)
    throw new Error(
      "credentials: paymentSource is Checkout.com's test card; live needs the company card's stored src_…",
    );
  // checkout-sdk-node prefers these variables to the key it is given.
  for (const name of ["CKO_SECRET", "CKO_SECRET_KEY"])
    if (process.env[name])
      throw new Error(`${name} is set in the environment and would replace the stack's key`);
}

function create(creds: CheckoutCredentials, options: ProcessorOptions): PaymentProcessor {
  checkMode(creds, options.live);
  const cko = new Checkout(creds.secretKey, {
    // Without a host the SDK builds https://{subdomain}.api[.sandbox].checkout.com from the key's mode.
    ...(options.endpoint ? { host: options.endpoint.replace(/\/+$/, "") } : {}),
    subdomain: creds.subdomain,
    timeout: options.timeoutMs,
    // The SDK's default fetch client ignores `timeout`; its axios client applies it. It never retries.
    httpClient: "axios",
  });

  return {
    async authorize(attempt: PaymentAttempt): Promise<Authorization> {
      let answer: unknown;
      try {
        answer = await cko.payments.request(
          {
            source: sourceOf(creds.paymentSource),
            amount: attempt.amountMinor,
            currency: attempt.currency.toUpperCase(),
            capture: false,
            reference: attempt.reference,
            processing_channel_id: creds.processingChannelId,
          },
          `${attempt.idempotencyKey}-authorize`,
        );
      } catch (err) {
        throw authorizeError(err);
      }
      return authorization(answer);
    },

    async void(auth: Authorization, attempt: PaymentAttempt): Promise<undefined> {
      let answer: unknown;
      try {
        answer = await cko.payments.void(
          auth.id,
          { reference: attempt.reference },
          `${attempt.idempotencyKey}-void`,
        );
      } catch (err) {
        throw voidError(err);
      }
      // 202 Void accepted carries the void's action id; the SDK resolves only on 2xx.
      if (!voidResponse.safeParse(answer).success)
        throw new Error(`Checkout.com answered the void of ${auth.id} without an action id`);
    },
  };
}

export const checkout: ProcessorModule<CheckoutCredentials> = {
  name: "checkout",
  displayName: "Checkout.com",
  credentials,
  minimumAmount,
  defaultCurrency: "USD",
  create,
};
