// The contract every payment adapter meets: authorize the processor's
// smallest accepted amount, then release it at once (void or cancel; a
// refund only where the provider has no void). Adapters speak to the
// provider through its official SDK and throw; check.ts turns the outcome
// into a report line.
import type { z } from "zod";

/** One authorization-and-release attempt, the same for every processor. */
export interface PaymentAttempt {
  /** Minor units (cents): the processor's smallest accepted amount, never more. */
  amountMinor: number;
  /** ISO 4217, upper case. */
  currency: string;
  /**
   * Unique per run and processor. Adapters send `${idempotencyKey}-authorize`
   * and `${idempotencyKey}-void` as the provider's idempotency key, so a
   * retry (the SDK's or ours) can never authorize twice.
   */
  idempotencyKey: string;
  /** Shown to the provider (description, reference), so finance can tell what it was. */
  reference: string;
  /** Budget for each call to the provider. */
  timeoutMs: number;
}

export interface Authorization {
  /** The provider's id of the authorized payment (what the void needs). */
  id: string;
}

export interface PaymentProcessor {
  authorize(attempt: PaymentAttempt): Promise<Authorization>;
  /**
   * Releases the authorization. Throws when the provider did not confirm it.
   * May return the report's account of what happened when that is not
   * "authorized and voided" (say, a cancel the provider confirms later).
   */
  void(authorization: Authorization, attempt: PaymentAttempt): Promise<string | undefined>;
}

export interface ProcessorOptions {
  /** Live keys and the provider's production host (prod); otherwise its sandbox. */
  live: boolean;
  /** Another base URL for the provider's API: tests point it at a local server. */
  endpoint?: string;
  /** Per call; adapters pass it to the SDK's own timeout. */
  timeoutMs: number;
}

/** What the registry knows about one processor. */
export interface ProcessorModule<Credentials> {
  /** Config key and check name: `payment:<name>`. */
  name: string;
  displayName: string;
  /** The credentials the stack must hold as Pulumi secrets, checked before any call. */
  credentials: z.ZodType<Credentials>;
  /** Smallest amount, in minor units, the provider accepts in `currency`. */
  minimumAmount(currency: string): number;
  defaultCurrency: string;
  create(credentials: Credentials, options: ProcessorOptions): PaymentProcessor;
}

/** The provider refused the payment: a clear answer, so nothing is held. */
export class PaymentDeclined extends Error {
  override name = "PaymentDeclined";
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The call went out and no clear answer came back (timeout, reset): the
 * provider may have authorized. Adapters throw it for their SDK's timeouts.
 */
export class OutcomeUnknown extends Error {
  override name = "OutcomeUnknown";
}

/** Digits after the decimal point in `currency` (2 for USD, 0 for JPY). */
export function currencyExponent(currency: string): number {
  return (
    new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2
  );
}

/** Minor units as the decimal string the APIs that take major units want: (1, "USD") -> "0.01". */
export function majorUnits(amountMinor: number, currency: string): string {
  const exponent = currencyExponent(currency);
  return (amountMinor / 10 ** exponent).toFixed(exponent);
}
