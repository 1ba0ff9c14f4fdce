// Square: a card payment that is only approved (autocomplete false, so the
// card is authorized and nothing is captured) for one minor unit, then cancelled.
import { createHash } from "node:crypto";
import { Square, SquareClient, SquareEnvironment, SquareError, SquareTimeoutError } from "square";
import { squareCredentials as credentials, type SquareCredentials } from "./credentials";
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
 * Square's minimum card payment is one minor unit in every country it
 * serves ($0.01, £0.01, 0.01 EUR, ¥1): developer.squareup.com/docs/payment-minimums.
 */
function minimumAmount(): number {
  return 1;
}

/** Square limits reference_id to 40 characters; the full reference goes in the note. */
const REFERENCE_ID_MAX = 40;

/** Square caps idempotency_key at 45 characters. */
const IDEMPOTENCY_KEY_MAX = 45;

/** A longer key becomes a digest of itself: as unique per run, and the same on a retry. */
function squareIdempotencyKey(key: string): string {
  if (key.length <= IDEMPOTENCY_KEY_MAX) return key;
  return createHash("sha256").update(key).digest("hex").slice(0, IDEMPOTENCY_KEY_MAX);
}

const CURRENCIES: ReadonlySet<string> = new Set(Object.values(Square.Currency));

function isCurrency(code: string): code is Square.Currency {
  return CURRENCIES.has(code);
}

/** Connection failures where the request never left this host: nothing can be authorized. */
const NOT_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN"]);

/** fetch wraps the socket error (with its code) in a cause, the SDK wraps that in another. */
function socketCode(err: unknown): string | undefined {
  for (let cause = err; typeof cause === "object" && cause !== null; ) {
    if ("code" in cause && typeof cause.code === "string") return cause.code;
    cause = "cause" in cause ? cause.cause : undefined;
  }
  return undefined;
}

function describe(err: SquareError): string {
  const errors = err.errors
    .map((e) => `${e.category} ${e.code}${e.detail ? `: ${e.detail}` : ""}`)
    .join("; ");
  return `Square HTTP ${err.statusCode ?? "?"} ${errors || err.message}`;
}

/**
 * The SDK aborts a call at its timeout with the reason "timeout"; Node's
 * fetch rejects with that reason as is, so the SDK reports a SquareError
 * whose cause is the string, not its SquareTimeoutError.
 */
function isTimeout(err: unknown): boolean {
  return err instanceof SquareTimeoutError || (err instanceof SquareError && err.cause === "timeout");
}

/** Maps what the SDK threw to the contract's outcomes. */
function callError(err: unknown, what: string): Error {
  if (isTimeout(err)) return new OutcomeUnknown(`Square ${what}: no answer within the SDK's timeout`);
  if (err instanceof SquareError && err.statusCode === undefined) {
    const code = socketCode(err);
    if (code && NOT_SENT.has(code)) return new Error(`Square unreachable (${code})`);
    return new OutcomeUnknown(`Square ${what}: ${err.message}`);
  }
  if (err instanceof SquareError) return new Error(describe(err));
  return err instanceof Error ? err : new Error(String(err));
}

function authorizeError(err: unknown): Error {
  if (err instanceof SquareError) {
    // A card the issuer refused: Square answers 402 (or 400) with a PAYMENT_METHOD_ERROR.
    const refusal = err.errors.find((e) => e.category === "PAYMENT_METHOD_ERROR");
    if (refusal) return new PaymentDeclined(refusal.code, `Square: ${refusal.detail ?? "card declined"}`);
    // A 5xx can come after Square processed the payment: the outcome is unknown.
    if ((err.statusCode ?? 0) >= 500) return new OutcomeUnknown(describe(err));
  }
  return callError(err, "CreatePayment");
}

/** Live must charge a card on file; Square's test nonces only work in its sandbox. */
function checkMode(creds: SquareCredentials, live: boolean): void {
  if (live && !creds.sourceId.startsWith("ccof:"))
    throw new Error("credentials: sourceId must be the company card on file (ccof:…) live");
}

function create(creds: SquareCredentials, options: ProcessorOptions): PaymentProcessor {
  checkMode(creds, options.live);
  const client = new SquareClient({
    token: creds.accessToken,
    environment: options.live ? SquareEnvironment.Production : SquareEnvironment.Sandbox,
    ...(options.endpoint ? { baseUrl: options.endpoint } : {}),
    timeoutInSeconds: options.timeoutMs / 1000,
    // The SDK would resend a create with the same idempotency_key (safe) but
    // past the check's deadline; one attempt per call.
    maxRetries: 0,
  });

  return {
    async authorize(attempt: PaymentAttempt): Promise<Authorization> {
      if (!isCurrency(attempt.currency))
        throw new Error(`Square does not know the currency ${attempt.currency}`);
      let payment: Square.Payment | undefined;
      try {
        ({ payment } = await client.payments.create({
          sourceId: creds.sourceId,
          customerId: creds.customerId,
          locationId: creds.locationId,
          // Square requires its idempotency key, in the body.
          idempotencyKey: squareIdempotencyKey(`${attempt.idempotencyKey}-authorize`),
          amountMoney: { amount: BigInt(attempt.amountMinor), currency: attempt.currency },
          // APPROVED only: Square holds the authorization until complete or cancel.
          autocomplete: false,
          referenceId: attempt.reference.slice(0, REFERENCE_ID_MAX),
          note: attempt.reference,
        }));
      } catch (err) {
        throw authorizeError(err);
      }
      if (payment?.id && payment.status === "APPROVED") return { id: payment.id };
      const unexpected = `Square payment ${payment?.id ?? "(no id)"} is ${payment?.status ?? "(no status)"}, expected APPROVED`;
      // PENDING may still be approved; COMPLETED has moved money.
      if (payment?.status === "PENDING" || payment?.status === "COMPLETED")
        throw new OutcomeUnknown(unexpected);
      throw new Error(unexpected);
    },

    // CancelPayment takes no idempotency key: it names the payment, so a
    // repeat can only cancel the same payment again. (For an authorize whose
    // answer never came, Square offers CancelPaymentByIdempotencyKey.)
    async void(authorization: Authorization): Promise<undefined> {
      let payment: Square.Payment | undefined;
      try {
        ({ payment } = await client.payments.cancel({ paymentId: authorization.id }));
      } catch (err) {
        throw callError(err, "CancelPayment");
      }
      if (payment?.status !== "CANCELED")
        throw new Error(
          `Square answered the cancel of ${authorization.id} with status ${payment?.status ?? "(none)"}`,
        );
    },
  };
}

export const square: ProcessorModule<SquareCredentials> = {
  name: "square",
  displayName: "Square",
  credentials,
  minimumAmount,
  defaultCurrency: "USD",
  create,
};
