// Stripe: a PaymentIntent with manual capture, confirmed at once for Stripe's
// minimum charge (so the card is only authorized), then cancelled.
import Stripe from "stripe";
import {
  stripeCredentials as credentials,
  STRIPE_SANDBOX_PAYMENT_METHOD,
  type StripeCredentials,
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

/**
 * Stripe's minimum charge per currency, in its API's minor units, from
 * docs.stripe.com/currencies#minimum-and-maximum-charge-amounts (USD 0.50).
 */
const MINIMUM_CHARGE: Record<string, number> = {
  USD: 50,
  AED: 200,
  AUD: 50,
  BGN: 100,
  BRL: 50,
  CAD: 50,
  CHF: 50,
  CZK: 1500,
  DKK: 250,
  EUR: 50,
  GBP: 30,
  HKD: 400,
  HUF: 17500,
  INR: 50,
  JPY: 50,
  MXN: 1000,
  MYR: 200,
  NOK: 300,
  NZD: 50,
  PLN: 200,
  RON: 200,
  SEK: 300,
  SGD: 50,
  THB: 1000,
};

function minimumAmount(currency: string): number {
  const minimum = MINIMUM_CHARGE[currency.toUpperCase()];
  // Other currencies are bound by the settlement currency's minimum after conversion: not knowable here.
  if (minimum === undefined) throw new Error(`Stripe documents no fixed minimum charge in ${currency}`);
  return minimum;
}

/** Stripe's own messages show keys masked, but a message must never carry one. */
function redactKeys(text: string): string {
  return text.replace(/\b(sk|rk|pk)_(test|live)_[\w*]+/g, "[key]");
}

/** Connection failures where the request never left this host: nothing can be authorized. */
const NOT_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN"]);

function connectionCode(err: Stripe.errors.StripeConnectionError): string | undefined {
  const detail: unknown = err.detail;
  if (typeof detail === "object" && detail !== null && "code" in detail && typeof detail.code === "string")
    return detail.code;
  return undefined;
}

function describe(err: Stripe.errors.StripeError): string {
  const code = err.code ? ` ${err.code}` : "";
  return redactKeys(`Stripe HTTP ${err.statusCode ?? "?"} ${err.rawType ?? err.type}${code}: ${err.message}`);
}

/** Maps what the SDK threw on create to the contract's outcomes. */
function authorizeError(err: unknown): Error {
  if (err instanceof Stripe.errors.StripeCardError)
    return new PaymentDeclined(err.decline_code || err.code || "card_declined", redactKeys(err.message));
  if (err instanceof Stripe.errors.StripeConnectionError) {
    const code = connectionCode(err);
    if (code && NOT_SENT.has(code)) return new Error(`Stripe unreachable (${code})`);
    return new OutcomeUnknown(`Stripe: ${redactKeys(err.message)}`);
  }
  // Stripe documents the result of a 500 as indeterminate: the intent may exist.
  if (err instanceof Stripe.errors.StripeError && (err.statusCode ?? 0) >= 500)
    return new OutcomeUnknown(describe(err));
  if (err instanceof Stripe.errors.StripeError) return new Error(describe(err));
  return err instanceof Error ? err : new Error(String(err));
}

function voidError(err: unknown): Error {
  if (err instanceof Stripe.errors.StripeError) return new Error(describe(err));
  return err instanceof Error ? err : new Error(String(err));
}

/** Host settings for the SDK: another base URL when given, else Stripe's (one host for test and live). */
function hostConfig(endpoint: string | undefined): Stripe.StripeConfig {
  if (!endpoint) return {};
  const url = new URL(endpoint);
  const protocol = url.protocol === "http:" ? "http" : "https";
  return { host: url.hostname, port: url.port || (protocol === "http" ? 80 : 443), protocol };
}

/** Stripe tells test from live by the key alone, so the key must match the mode asked for. */
function checkMode(creds: StripeCredentials, live: boolean): void {
  const keyIsLive = /^(sk|rk)_live_/.test(creds.secretKey);
  if (keyIsLive !== live)
    throw new Error(
      `credentials: secretKey is a ${keyIsLive ? "live" : "test"} key but the check runs ${live ? "live" : "in sandbox"}`,
    );
  if (live && creds.paymentMethod === STRIPE_SANDBOX_PAYMENT_METHOD)
    throw new Error(
      "credentials: paymentMethod is Stripe's test card; live needs the company card's saved pm_…",
    );
}

function create(creds: StripeCredentials, options: ProcessorOptions): PaymentProcessor {
  checkMode(creds, options.live);
  const stripe = new Stripe(creds.secretKey, {
    ...hostConfig(options.endpoint),
    timeout: options.timeoutMs,
    // The SDK resends a closed connection once with the same Idempotency-Key; no other retries.
    maxNetworkRetries: 0,
  });

  return {
    async authorize(attempt: PaymentAttempt): Promise<Authorization> {
      let intent: Stripe.PaymentIntent;
      try {
        intent = await stripe.paymentIntents.create(
          {
            amount: attempt.amountMinor,
            currency: attempt.currency.toLowerCase(),
            capture_method: "manual",
            confirm: true,
            payment_method: creds.paymentMethod,
            // A redirecting method could not finish here: only methods that confirm in place.
            automatic_payment_methods: { enabled: true, allow_redirects: "never" },
            description: attempt.reference,
            // A saved card is charged by the merchant, with no cardholder present to pass 3-D Secure.
            ...(creds.customer ? { customer: creds.customer, off_session: true } : {}),
          },
          { idempotencyKey: `${attempt.idempotencyKey}-authorize` },
        );
      } catch (err) {
        throw authorizeError(err);
      }
      if (intent.status === "requires_capture") return { id: intent.id };
      const unexpected = `Stripe PaymentIntent ${intent.id} is ${intent.status}, expected requires_capture`;
      // These move money: the cancel cannot release it, a person has to look.
      if (intent.status === "processing" || intent.status === "succeeded")
        throw new OutcomeUnknown(unexpected);
      // The others (requires_action, requires_payment_method) hold nothing.
      throw new Error(unexpected);
    },

    async void(authorization: Authorization, attempt: PaymentAttempt): Promise<undefined> {
      let intent: Stripe.PaymentIntent;
      try {
        intent = await stripe.paymentIntents.cancel(
          authorization.id,
          {},
          { idempotencyKey: `${attempt.idempotencyKey}-void` },
        );
      } catch (err) {
        throw voidError(err);
      }
      if (intent.status !== "canceled")
        throw new Error(`Stripe answered the cancel of ${authorization.id} with status ${intent.status}`);
    },
  };
}

export const stripe: ProcessorModule<StripeCredentials> = {
  name: "stripe",
  displayName: "Stripe",
  credentials,
  minimumAmount,
  defaultCurrency: "USD",
  create,
};
