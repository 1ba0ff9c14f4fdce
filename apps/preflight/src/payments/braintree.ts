// Braintree through its Node SDK: a sale with submitForSettlement off (an
// authorization only) of the company's own vaulted card, then a void.
// Braintree's classic API has no idempotency key that every merchant may
// send: each call goes out once (the SDK never retries) and the run's
// reference is the order id, so a lost answer can be found in the dashboard.

import { type BraintreeCredentials, braintreeCredentials as credentials } from "./credentials";
import {
  majorUnits,
  OutcomeUnknown,
  type PaymentAttempt,
  PaymentDeclined,
  type PaymentProcessor,
  type ProcessorModule,
  type ProcessorOptions,
} from "./processor";

/** The part of the untyped SDK (no bundled or @types declarations) this adapter uses. */
interface BraintreeSdk {
  BraintreeGateway: new (config: {
    environment: BraintreeEnvironment;
    merchantId: string;
    publicKey: string;
    privateKey: string;
  }) => BraintreeGateway;
  Environment: {
    new (server: string, port: string, authUrl: string, ssl: boolean): BraintreeEnvironment;
    Sandbox: BraintreeEnvironment;
    Production: BraintreeEnvironment;
  };
}

type BraintreeEnvironment = { readonly server: string };

interface BraintreeGateway {
  /** The SDK takes its timeout (ms, default 60 000) here, not in the constructor. */
  config: { timeout: number };
  transaction: {
    sale(request: SaleRequest): Promise<BraintreeResult>;
    void(id: string, options?: { apiRequestKey?: string }): Promise<BraintreeResult>;
  };
}

interface SaleRequest {
  amount: string;
  orderId: string;
  paymentMethodToken?: string;
  paymentMethodNonce?: string;
  merchantAccountId?: string;
  apiRequestKey?: string;
  options: { submitForSettlement: false };
}

/** A successful result, or the SDK's ErrorResponse (HTTP 422 api-error-response). */
interface BraintreeResult {
  success: boolean;
  message?: string;
  transaction?: {
    id: string;
    status: string;
    processorResponseCode?: string;
    processorResponseText?: string;
    gatewayRejectionReason?: string | null;
  };
  errors?: { deepErrors(): { attribute: string; code: string; message: string }[] };
}

// A typed import would need declarations the package lacks; the interface above pins the part used.
const sdk = require("braintree") as BraintreeSdk;

export const braintree: ProcessorModule<BraintreeCredentials> = {
  name: "braintree",
  displayName: "Braintree",
  credentials,
  // The sale reference: the amount "must be greater than 0" in the merchant
  // account's currency format, no other minimum, so one minor unit (0.01 USD).
  minimumAmount: () => 1,
  defaultCurrency: "USD",
  create: (creds, options) => new BraintreeProcessor(creds, options),
};

class BraintreeProcessor implements PaymentProcessor {
  private readonly gateway: BraintreeGateway;

  constructor(
    private readonly creds: BraintreeCredentials,
    options: ProcessorOptions,
  ) {
    if (options.live && creds.paymentMethodToken === undefined)
      throw new Error(
        "credentials: paymentMethodToken: required live (the vault token of the company's own card)",
      );
    this.gateway = new sdk.BraintreeGateway({
      environment: environment(options),
      merchantId: creds.merchantId,
      publicKey: creds.publicKey,
      privateKey: creds.privateKey,
    });
    this.gateway.config.timeout = options.timeoutMs;
  }

  async authorize(attempt: PaymentAttempt) {
    // Braintree charges in the merchant account's currency: `currency` only
    // formats the amount, merchantAccountId picks the account.
    const request: SaleRequest = {
      amount: majorUnits(attempt.amountMinor, attempt.currency),
      orderId: attempt.reference,
      options: { submitForSettlement: false },
      ...(this.creds.paymentMethodToken === undefined
        ? { paymentMethodNonce: this.creds.paymentMethodNonce }
        : { paymentMethodToken: this.creds.paymentMethodToken }),
      ...(this.creds.merchantAccountId === undefined
        ? {}
        : { merchantAccountId: this.creds.merchantAccountId }),
      ...(this.creds.apiRequestKeys ? { apiRequestKey: `${attempt.idempotencyKey}-authorize` } : {}),
    };
    let result: BraintreeResult;
    try {
      result = await this.gateway.transaction.sale(request);
    } catch (err) {
      throw sdkError(err, "sale", true);
    }
    const transaction = result.transaction;
    if (result.success && transaction) return { id: transaction.id };
    if (transaction?.status === "processor_declined")
      throw new PaymentDeclined(
        transaction.processorResponseCode ?? "processor_declined",
        `transaction ${transaction.id} processor_declined: ${transaction.processorResponseText ?? result.message}`,
      );
    if (transaction?.status === "gateway_rejected")
      throw new PaymentDeclined(
        `gateway_rejected:${transaction.gatewayRejectionReason ?? "unknown"}`,
        `transaction ${transaction.id} gateway_rejected: ${result.message}`,
      );
    throw new Error(`sale: ${refusal(result)}`);
  }

  async void(authorization: { id: string }, attempt: PaymentAttempt): Promise<undefined> {
    let result: BraintreeResult;
    try {
      result = await this.gateway.transaction.void(
        authorization.id,
        this.creds.apiRequestKeys ? { apiRequestKey: `${attempt.idempotencyKey}-void` } : undefined,
      );
    } catch (err) {
      throw sdkError(err, "void", false);
    }
    if (!result.success) throw new Error(`void: ${refusal(result)}`);
    if (result.transaction?.status !== "voided")
      throw new Error(
        `void: transaction ${authorization.id} is ${result.transaction?.status ?? "in no state"}, not voided`,
      );
  }
}

function environment(options: ProcessorOptions): BraintreeEnvironment {
  if (options.endpoint === undefined)
    return options.live ? sdk.Environment.Production : sdk.Environment.Sandbox;
  // The SDK builds paths from /merchants/... itself: only the origin can change.
  const url = new URL(options.endpoint);
  if (url.pathname !== "/")
    throw new Error(`braintree: endpoint ${options.endpoint} must be an origin, without a path`);
  const ssl = url.protocol === "https:";
  return new sdk.Environment(url.hostname, url.port || (ssl ? "443" : "80"), url.origin, ssl);
}

/** A 422 api-error-response: each validation error with its code, else Braintree's message. */
function refusal(result: BraintreeResult) {
  const errors = result.errors?.deepErrors() ?? [];
  const said = errors.length
    ? errors.map((e) => `${e.code} ${e.attribute}: ${e.message}`).join("; ")
    : `api-error-response: ${result.message ?? "no message"}`;
  const transaction = result.transaction
    ? ` (transaction ${result.transaction.id} ${result.transaction.status})`
    : "";
  return `HTTP 422 ${said}${transaction}`;
}

/** The SDK's error types by the HTTP status they stand for (lib/braintree/http.js). */
const STATUS_OF_TYPE: Record<string, number> = {
  authenticationError: 401,
  authorizationError: 403,
  notFoundError: 404,
  requestTimeoutError: 408,
  upgradeRequired: 426,
  tooManyRequestsError: 429,
  serverError: 500,
  serviceUnavailableError: 503,
  gatewayTimeoutError: 504,
};

/** After these the sale may have reached Braintree with its answer lost. */
const ANSWER_LOST = /Request timed out|ECONNRESET|socket hang up|EPIPE|Unexpected response error/;

function sdkError(err: unknown, what: string, mayHaveAuthorized: boolean): Error {
  if (!(err instanceof Error)) return new Error(`${what}: ${String(err)}`);
  const type = "type" in err && typeof err.type === "string" ? err.type : err.name;
  const status = STATUS_OF_TYPE[type];
  const lost = ANSWER_LOST.test(err.message) || type === "gatewayTimeoutError";
  if (mayHaveAuthorized && lost) return new OutcomeUnknown(`${what}: ${err.message}`);
  return new Error(`${what}: ${status === undefined ? "" : `HTTP ${status} `}${type}: ${err.message}`);
}
