// PayPal through its server SDK: an Orders v2 order with intent AUTHORIZE
// paid by the company's own card, then a void of the authorization
// (Payments v2). Every call that can move money carries a PayPal-Request-Id.
import {
  ApiError,
  AuthorizationStatus,
  type AuthorizationWithAdditionalData,
  type CardRequest,
  CheckoutPaymentIntent,
  Client,
  ClientCredentialsAuthManager,
  Environment,
  type Order,
  OrderStatus,
  OrdersController,
  PaymentsController,
  ResponseValidationError,
} from "@paypal/paypal-server-sdk";
import { z } from "zod";
import { paypalCredentials as credentials, type PaypalCredentials } from "./credentials";
import {
  currencyExponent,
  majorUnits,
  OutcomeUnknown,
  type PaymentAttempt,
  PaymentDeclined,
  type PaymentProcessor,
  type ProcessorModule,
  type ProcessorOptions,
} from "./processor";

// PayPal rejects decimals for these although ISO 4217 gives them two
// (developer.paypal.com/api/rest/reference/currency-codes/).
const WHOLE_UNITS_ONLY = new Set(["HUF", "TWD"]);

/** 422 issues that mean the card was refused (Orders v2 errors), not a fault of the call. */
const DECLINE_ISSUES = new Set([
  "INSTRUMENT_DECLINED",
  "TRANSACTION_REFUSED",
  "CARD_EXPIRED",
  "CARD_CLOSED",
  "PAYER_CANNOT_PAY",
  "DECLINED_DUE_TO_RELATED_TXN",
]);

/** Axios codes after which the request may have reached PayPal with no answer back. */
const ANSWER_LOST = new Set(["ECONNABORTED", "ETIMEDOUT", "ECONNRESET", "EPIPE"]);

export const paypal: ProcessorModule<PaypalCredentials> = {
  name: "paypal",
  displayName: "PayPal",
  credentials,
  // PayPal documents no minimum for an order: the currency's smallest unit
  // (0.01 USD), or one whole unit where it takes no decimals (currency-codes page).
  minimumAmount: (currency) => (WHOLE_UNITS_ONLY.has(currency) ? 10 ** currencyExponent(currency) : 1),
  defaultCurrency: "USD",
  create: (creds, options) => new PaypalProcessor(creds, options),
};

class PaypalProcessor implements PaymentProcessor {
  private readonly orders: OrdersController;
  private readonly payments: PaymentsController;
  private readonly card: CardRequest;

  constructor(creds: PaypalCredentials, options: ProcessorOptions) {
    if (options.live && creds.cardVaultId === undefined)
      throw new Error("credentials: cardVaultId: required live (the vault id of the company's own card)");
    const client = createClient(creds, options);
    this.orders = new OrdersController(client);
    this.payments = new PaymentsController(client);
    this.card = creds.cardVaultId === undefined ? { ...creds.testCard } : { vaultId: creds.cardVaultId };
  }

  async authorize(attempt: PaymentAttempt) {
    const order = await moneyCall("create order", () =>
      this.orders.createOrder({
        body: {
          intent: CheckoutPaymentIntent.Authorize,
          purchaseUnits: [
            {
              amount: { currencyCode: attempt.currency, value: amountValue(attempt) },
              description: attempt.reference,
              invoiceId: attempt.reference,
            },
          ],
          paymentSource: { card: this.card },
        },
        // A card payment source makes this the call that authorizes ("single-step").
        paypalRequestId: `${attempt.idempotencyKey}-authorize`,
        prefer: "return=representation",
      }),
    );
    const authorization = firstAuthorization(order) ?? (await this.authorizeOrder(order, attempt));
    return { id: acceptedAuthorizationId(authorization, order) };
  }

  /** The second step, for an order that came back without an authorization. */
  private async authorizeOrder(order: Order, attempt: PaymentAttempt) {
    if (order.id === undefined) throw new OutcomeUnknown("create order: the answer has no order id");
    if (order.status === OrderStatus.PayerActionRequired)
      throw new Error(`order ${order.id} needs payer action (3-D Secure): use a card without it`);
    const id = order.id;
    const authorized = await moneyCall("authorize order", () =>
      this.orders.authorizeOrder({
        id,
        paypalRequestId: `${attempt.idempotencyKey}-authorize-order`,
        prefer: "return=representation",
      }),
    );
    return firstAuthorization(authorized);
  }

  async void(authorization: { id: string }, attempt: PaymentAttempt): Promise<undefined> {
    let voided: Awaited<ReturnType<PaymentsController["voidPayment"]>>;
    try {
      voided = await this.payments.voidPayment({
        authorizationId: authorization.id,
        paypalRequestId: `${attempt.idempotencyKey}-void`,
        prefer: "return=representation",
      });
    } catch (err) {
      throw describe(err, "void");
    }
    // 204 (no body) or the authorization itself: both are PayPal's confirmation.
    const status = voided.result?.status;
    if (voided.result !== null && status !== AuthorizationStatus.Voided)
      throw new Error(`void: authorization ${authorization.id} is ${status ?? "in no state"}, not VOIDED`);
  }
}

/** The authorization's id, or why it cannot be voided: refused, or absent. */
function acceptedAuthorizationId(authorization: AuthorizationWithAdditionalData | undefined, order: Order) {
  if (authorization?.status === AuthorizationStatus.Denied) {
    const code = authorization.processorResponse?.responseCode ?? "DENIED";
    throw new PaymentDeclined(
      code,
      `authorization ${authorization.id ?? ""} DENIED, processor response ${code}`,
    );
  }
  if (authorization?.id === undefined)
    throw new OutcomeUnknown(
      `order ${order.id ?? "?"} (${order.status ?? "no status"}) shows no authorization`,
    );
  return authorization.id;
}

function firstAuthorization(order: Order) {
  return order.purchaseUnits?.[0]?.payments?.authorizations?.[0];
}

function amountValue(attempt: PaymentAttempt) {
  if (!WHOLE_UNITS_ONLY.has(attempt.currency)) return majorUnits(attempt.amountMinor, attempt.currency);
  return String(Math.ceil(attempt.amountMinor / 10 ** currencyExponent(attempt.currency)));
}

/** Runs a call that may authorize: a lost answer means the money may be held. */
async function moneyCall<T>(what: string, call: () => Promise<{ result: T }>): Promise<T> {
  try {
    return (await call()).result;
  } catch (err) {
    if (err instanceof TokenFailure) throw new Error(`${what}: ${err.message}`);
    // A 2xx whose body the SDK could not read may still carry an authorization.
    if (err instanceof ResponseValidationError)
      throw new OutcomeUnknown(`${what}: HTTP ${err.statusCode} with an unreadable body`);
    if (lostAnswer(err)) throw new OutcomeUnknown(`${what}: ${(err as Error).message}`);
    throw describe(err, what);
  }
}

function lostAnswer(err: unknown) {
  return err instanceof Error && "code" in err && typeof err.code === "string" && ANSWER_LOST.has(err.code);
}

/** PayPal's error body: name, message, debug_id and the first detail's issue (OAuth2: error, error_description). */
function describe(err: unknown, what: string): Error {
  if (err instanceof TokenFailure) return new Error(`${what}: ${err.message}`);
  if (!(err instanceof ApiError))
    return new Error(`${what}: ${err instanceof Error ? err.message : String(err)}`);
  const body = parseErrorBody(err.body);
  const issue = body.details?.[0]?.issue;
  const text = body.details?.[0]?.description ?? body.message ?? body.error_description ?? err.message;
  if (err.statusCode === 422 && issue !== undefined && DECLINE_ISSUES.has(issue))
    return new PaymentDeclined(issue, text);
  const code = [body.name ?? body.error, issue].filter(Boolean).join("/") || "no error name";
  const debug = body.debug_id === undefined ? "" : ` (debug_id ${body.debug_id})`;
  return new Error(`${what}: HTTP ${err.statusCode} ${code}: ${text}${debug}`);
}

const errorBody = z.looseObject({
  name: z.string().optional(),
  message: z.string().optional(),
  debug_id: z.string().optional(),
  details: z.array(z.looseObject({ issue: z.string(), description: z.string().optional() })).optional(),
  error: z.string().optional(),
  error_description: z.string().optional(),
});

function parseErrorBody(body: unknown): z.infer<typeof errorBody> {
  if (typeof body !== "string") return {};
  try {
    return errorBody.catch({}).parse(JSON.parse(body));
  } catch {
    return {};
  }
}

/** The OAuth2 token could not be had: nothing that moves money was sent. */
class TokenFailure extends Error {
  override name = "TokenFailure";
}

type ControllerClient = ConstructorParameters<typeof OrdersController>[0];

function createClient(creds: PaypalCredentials, options: ProcessorOptions): ControllerClient {
  // Set below when the calls go to another base URL: the token must come from there too.
  let tokens: ClientCredentialsAuthManager | undefined;
  const client = new Client({
    environment: options.live ? Environment.Production : Environment.Sandbox,
    timeout: options.timeoutMs,
    // No SDK retries: the preflight makes each call once and reports what it got.
    httpClientOptions: { timeout: options.timeoutMs, retryConfig: { maxNumberOfRetries: 0 } },
    clientCredentialsAuthCredentials: {
      oAuthClientId: creds.clientId,
      oAuthClientSecret: creds.clientSecret,
      oAuthTokenProvider: async (last, sdkTokens) => {
        try {
          return await (tokens ?? sdkTokens).updateToken(last);
        } catch (err) {
          throw new TokenFailure(`OAuth2 token: ${describe(err, "POST /v1/oauth2/token").message}`);
        }
      },
    },
  });
  if (options.endpoint === undefined) return client;
  const rebased = rebase(client, options.endpoint);
  tokens = new ClientCredentialsAuthManager(
    { oAuthClientId: creds.clientId, oAuthClientSecret: creds.clientSecret },
    rebased,
  );
  return rebased;
}

/**
 * The SDK knows only its two hosts (Environment.Production, .Sandbox) and no
 * base-URL option, so every request it builds is moved to `endpoint` by a
 * request interceptor; auth, headers, timeouts and parsing stay the SDK's.
 */
function rebase(client: Client, endpoint: string): ControllerClient {
  const build = client.getRequestBuilderFactory();
  const base = new URL(endpoint);
  const prefix = base.pathname.replace(/\/$/, "");
  const factory: typeof build = (...args) => {
    const builder = build(...args);
    builder.interceptRequest((request) => {
      const url = new URL(request.url);
      return { ...request, url: new URL(`${prefix}${url.pathname}${url.search}`, base).toString() };
    });
    return builder;
  };
  return { getRequestBuilderFactory: () => factory };
}
