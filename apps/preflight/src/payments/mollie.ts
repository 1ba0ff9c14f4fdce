// Mollie: the strongest check its API allows without a payer. Mollie
// authorizes a card only once a payer completes its checkout (or sends a
// card token from Mollie Components, made in a browser): there is no test
// card to charge from a server. So the check creates a card payment of one
// cent with manual capture (authorization only) and then releases it.
//
// What it proves: the key is valid for the mode, the profile accepts card
// payments with manual capture, and Mollie accepts a payment of the
// smallest amount. What it does not: that a card would be authorized. No
// money can move, because no payer ever opens the payment's checkout.
import createMollieClient, {
  CaptureMethod,
  MollieApiError,
  type MollieClient,
  type Payment,
  PaymentMethod,
  PaymentStatus,
} from "@mollie/api-client";
import { mollieCredentials as credentials, type MollieCredentials } from "./credentials";
import {
  type Authorization,
  majorUnits,
  OutcomeUnknown,
  type PaymentAttempt,
  PaymentDeclined,
  type PaymentProcessor,
  type ProcessorModule,
  type ProcessorOptions,
} from "./processor";

/**
 * One cent: docs.mollie.com/docs/cards lists EUR 0.00 as the card minimum,
 * but a zero amount only sets up a mandate (a first payment); a one-off
 * payment needs a positive amount, so the smallest is one minor unit.
 */
function minimumAmount(): number {
  return 1;
}

/** Mollie requires a redirect URL for a payment with a checkout; no payer follows this one. */
const REDIRECT_URL = "https://example.com/golive-preflight";

/** Statuses in which no payer has authorized anything: nothing is held. */
const NOTHING_HELD: ReadonlySet<string> = new Set([
  PaymentStatus.open,
  PaymentStatus.canceled,
  PaymentStatus.expired,
  PaymentStatus.failed,
]);

/** The SDK keeps title protected; Mollie's error body has it (e.g. "Unprocessable Entity"). */
function title(err: MollieApiError): string | undefined {
  const value: unknown = Reflect.get(err, "title");
  return typeof value === "string" ? value : undefined;
}

function describe(err: MollieApiError): string {
  const field = err.field ? ` (field ${err.field})` : "";
  return `Mollie HTTP ${err.statusCode ?? "?"} ${title(err) ?? "error"}${field}: ${err.message}`;
}

/** Failures where the request never reached Mollie: nothing can have been created. */
const NOT_SENT = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|certificate|self[- ]signed/i;

/** Maps what the SDK threw to the contract's outcomes. */
function callError(err: unknown, what: string): Error {
  if (err instanceof MollieApiError && err.statusCode === undefined) {
    // No HTTP answer: the SDK wraps the socket error's message.
    if (NOT_SENT.test(err.message)) return new Error(`Mollie unreachable: ${err.message}`);
    return new OutcomeUnknown(`Mollie ${what}: ${err.message}`);
  }
  // A 5xx that survived the SDK's own retries: the create may have gone through.
  if (err instanceof MollieApiError && (err.statusCode ?? 0) >= 500) return new OutcomeUnknown(describe(err));
  if (err instanceof MollieApiError) return new Error(describe(err));
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * The SDK has no timeout option (its fetch runs until the socket ends), so
 * the adapter gives up on the call itself: the request may still reach
 * Mollie, hence an unknown outcome.
 */
async function withinTimeout<T>(timeoutMs: number, what: string, request: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new OutcomeUnknown(`Mollie ${what}: no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([request(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** One call to Mollie, its failure mapped to the contract's outcomes. */
async function call<T>(timeoutMs: number, what: string, request: () => Promise<T>): Promise<T> {
  try {
    return await withinTimeout(timeoutMs, what, request);
  } catch (err) {
    throw callError(err, what);
  }
}

/** Mollie tells test from live by the key alone, so the key must match the mode asked for. */
function checkMode(creds: MollieCredentials, live: boolean): void {
  const keyIsLive = creds.apiKey.startsWith("live_");
  if (keyIsLive !== live)
    throw new Error(
      `credentials: apiKey is a ${keyIsLive ? "live" : "test"} key but the check runs ${live ? "live" : "in sandbox"}`,
    );
}

/** Releases what the payment holds, reading its state from Mollie first. */
/** Returns the report's account: nothing was authorized, so "voided" would be wrong. */
async function release(client: MollieClient, id: string, attempt: PaymentAttempt): Promise<string> {
  const amount = `${majorUnits(attempt.amountMinor, attempt.currency)} ${attempt.currency}`;
  const payment: Payment = await call(attempt.timeoutMs, "get payment", () => client.payments.get(id));
  if (payment.isCancelable) {
    const canceled = await call(attempt.timeoutMs, "cancel payment", () =>
      client.payments.cancel(id, { idempotencyKey: `${attempt.idempotencyKey}-void` }),
    );
    if (canceled.status !== PaymentStatus.canceled)
      throw new Error(`Mollie answered the cancel of ${id} with status ${canceled.status}`);
    return `created a ${amount} payment no payer completed, and cancelled it`;
  }
  // Mollie cannot cancel an open card payment; with no payer it holds
  // nothing and expires by itself (the card checkout times out after 15
  // minutes). Any other status means a payer got through.
  if (!NOTHING_HELD.has(payment.status))
    throw new Error(`Mollie reports ${id} as ${payment.status}: a payer completed it, release it by hand`);
  return `created a ${amount} payment no payer can complete (${payment.status}: it expires unpaid)`;
}

function create(creds: MollieCredentials, options: ProcessorOptions): PaymentProcessor {
  checkMode(creds, options.live);
  // One host for test and live (the key picks the mode); the endpoint is the API root without /v2.
  const client = createMollieClient({
    apiKey: creds.apiKey,
    ...(options.endpoint
      ? { apiEndpoint: new URL("v2/", `${options.endpoint.replace(/\/$/, "")}/`).toString() }
      : {}),
  });

  return {
    async authorize(attempt: PaymentAttempt): Promise<Authorization> {
      let payment: Payment;
      try {
        payment = await withinTimeout(attempt.timeoutMs, "create payment", () =>
          client.payments.create({
            amount: { currency: attempt.currency, value: majorUnits(attempt.amountMinor, attempt.currency) },
            description: attempt.reference,
            redirectUrl: REDIRECT_URL,
            method: PaymentMethod.creditcard,
            captureMode: CaptureMethod.manual,
            // Sent as the Idempotency-Key header; the SDK resends it on its own 5xx retries.
            idempotencyKey: `${attempt.idempotencyKey}-authorize`,
          }),
        );
      } catch (err) {
        // Mollie refuses the payment itself (an amount below the minimum, a
        // method the profile lacks): a clear answer, and nothing was created.
        if (err instanceof MollieApiError && err.statusCode === 422)
          throw new PaymentDeclined(err.field ?? title(err) ?? "422", `Mollie: ${err.message}`);
        throw callError(err, "create payment");
      }
      if (payment.status === PaymentStatus.open) return { id: payment.id };
      const unexpected = `Mollie created ${payment.id} as ${payment.status}, expected open`;
      if (!NOTHING_HELD.has(payment.status)) throw new OutcomeUnknown(unexpected);
      throw new Error(unexpected);
    },

    void: (authorization: Authorization, attempt: PaymentAttempt) =>
      release(client, authorization.id, attempt),
  };
}

export const mollie: ProcessorModule<MollieCredentials> = {
  name: "mollie",
  displayName: "Mollie",
  credentials,
  minimumAmount,
  defaultCurrency: "EUR",
  create,
};
