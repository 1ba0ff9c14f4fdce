// Adyen: a card payment through the Checkout API with manual capture (an
// authorisation only) for one minor unit, then a cancel of that pspReference.
import {
  CheckoutAPI,
  Client,
  EnvironmentEnum,
  HttpClientException,
  HttpURLConnectionClient,
  Types,
} from "@adyen/api-library";
import ApiException from "@adyen/api-library/lib/src/services/exception/apiException";
import { type AdyenCredentials, adyenCredentials as credentials } from "./credentials";
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
 * One minor unit: Adyen documents no minimum amount for card payments
 * (amount.value is in minor units, docs.adyen.com/development-resources/currency-codes).
 * Its zero-value auth is a card verification that holds nothing, so it
 * would not prove a hold can be placed and released.
 */
function minimumAmount(): number {
  return 1;
}

/** The API wants a return URL for a shopper redirect (3-D Secure); no shopper ever follows it. */
const RETURN_URL = "https://example.com/golive-preflight";

type AdyenTransport = NonNullable<ConstructorParameters<typeof Client>[1]>;

/**
 * The SDK keeps its base URLs private (checkout-test.adyen.com, or the live
 * prefix host); another endpoint is reached through the SDK's one seam, the
 * http client, which here only rewrites the origin and hands the request to
 * the SDK's own transport (headers, Idempotency-Key, timeout, errors).
 */
function rebased(endpoint: string): AdyenTransport {
  const base = new URL(endpoint);
  const transport = new HttpURLConnectionClient();
  return {
    request(url, json, config, isApiKeyRequired, requestOptions) {
      const target = new URL(url);
      const rebasedUrl = new URL(
        `${base.pathname.replace(/\/$/, "")}${target.pathname}${target.search}`,
        base,
      );
      return transport.request(rebasedUrl.toString(), json, config, isApiKeyRequired, requestOptions);
    },
  };
}

/** Socket failures before the request could reach Adyen: nothing can be authorised. */
const NOT_SENT = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|certificate|self[- ]signed/i;

/** The SDK's HTTP errors carry Adyen's ServiceError (status, errorCode, message, errorType). */
function describe(err: HttpClientException): string {
  const api = err.apiError;
  const code = api?.errorCode ?? err.errorCode ?? "?";
  const type = api?.errorType ? ` (${api.errorType})` : "";
  return `Adyen HTTP ${err.statusCode} ${code}${type}: ${api?.message ?? err.message}`;
}

/** Maps what the SDK threw to the contract's outcomes. */
function callError(err: unknown, what: string): Error {
  // A 5xx can come after Adyen processed the payment: the outcome is unknown.
  if (err instanceof HttpClientException && err.statusCode >= 500) return new OutcomeUnknown(describe(err));
  if (err instanceof HttpClientException) return new Error(describe(err));
  if (err instanceof ApiException) {
    if (NOT_SENT.test(err.message)) return new Error(`Adyen unreachable: ${err.message}`);
    // The SDK's timeout ends a silent socket as "socket hang up": like a
    // reset after the request went out, Adyen may have authorised.
    return new OutcomeUnknown(`Adyen ${what}: no clear answer (${err.message})`);
  }
  return err instanceof Error ? err : new Error(String(err));
}

async function call<T>(what: string, request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (err) {
    throw callError(err, what);
  }
}

function paymentRequest(creds: AdyenCredentials, attempt: PaymentAttempt): Types.checkout.PaymentRequest {
  const request: Types.checkout.PaymentRequest = {
    merchantAccount: creds.merchantAccount,
    amount: { value: attempt.amountMinor, currency: attempt.currency },
    reference: attempt.reference,
    returnUrl: RETURN_URL,
    paymentMethod: { type: Types.checkout.CardDetails.TypeEnum.Scheme, ...creds.card },
    // An authorisation only: Adyen holds it until a capture or cancel.
    additionalData: { manualCapture: "true" },
  };
  if ("storedPaymentMethodId" in creds.card) {
    // The company's stored card, charged by the merchant with no shopper present.
    request.shopperReference = creds.card.shopperReference;
    request.shopperInteraction = Types.checkout.PaymentRequest.ShopperInteractionEnum.ContAuth;
    request.recurringProcessingModel =
      Types.checkout.PaymentRequest.RecurringProcessingModelEnum.UnscheduledCardOnFile;
  }
  return request;
}

const Result = Types.checkout.PaymentResponse.ResultCodeEnum;

/** Turns Adyen's resultCode into the contract's outcome. */
function authorisation(response: Types.checkout.PaymentResponse): Authorization {
  const psp = response.pspReference ?? "(no pspReference)";
  switch (response.resultCode) {
    case Result.Authorised:
      if (!response.pspReference)
        throw new OutcomeUnknown("Adyen answered Authorised without a pspReference");
      return { id: response.pspReference };
    case Result.Refused:
      throw new PaymentDeclined(
        response.refusalReasonCode ?? "Refused",
        `Adyen refused ${psp}: ${response.refusalReason ?? "no refusalReason"}`,
      );
    // Not final: the authorisation may still come.
    case Result.Pending:
    case Result.Received:
      throw new OutcomeUnknown(`Adyen answered resultCode ${response.resultCode} for ${psp}`);
    default:
      // Error, or a step that needs a shopper (3-D Secure, redirect): nothing was authorised.
      throw new Error(
        `Adyen answered resultCode ${response.resultCode ?? "(none)"} for ${psp}${response.refusalReason ? `: ${response.refusalReason}` : ""}`,
      );
  }
}

/** Live needs the company's live URL prefix and a real card token; the test card only works on Adyen's test platform. */
function checkMode(creds: AdyenCredentials, live: boolean): void {
  if (!live) return;
  if (!creds.liveEndpointUrlPrefix)
    throw new Error("credentials: liveEndpointUrlPrefix is required live (Adyen's live endpoints carry it)");
  if (!("storedPaymentMethodId" in creds.card))
    throw new Error(
      "credentials: card is Adyen's test card; live needs the company card's storedPaymentMethodId",
    );
}

function create(creds: AdyenCredentials, options: ProcessorOptions): PaymentProcessor {
  checkMode(creds, options.live);
  const client = new Client(
    {
      apiKey: creds.apiKey,
      environment: options.live ? EnvironmentEnum.LIVE : EnvironmentEnum.TEST,
      liveEndpointUrlPrefix: creds.liveEndpointUrlPrefix,
      // The SDK's timeout (of a silent socket); the SDK itself never retries.
      connectionTimeoutMillis: options.timeoutMs,
    },
    options.endpoint ? rebased(options.endpoint) : undefined,
  );
  const checkout = new CheckoutAPI(client);

  return {
    async authorize(attempt: PaymentAttempt): Promise<Authorization> {
      const response = await call("/payments", () =>
        checkout.PaymentsApi.payments(paymentRequest(creds, attempt), {
          idempotencyKey: `${attempt.idempotencyKey}-authorize`,
        }),
      );
      return authorisation(response);
    },

    async void(authorization: Authorization, attempt: PaymentAttempt): Promise<string> {
      const response = await call("cancel", () =>
        checkout.ModificationsApi.cancelAuthorisedPaymentByPspReference(
          authorization.id,
          { merchantAccount: creds.merchantAccount, reference: attempt.reference },
          { idempotencyKey: `${attempt.idempotencyKey}-void` },
        ),
      );
      // "received" is all the API confirms: Adyen carries out the cancel
      // afterwards and reports its outcome in a CANCELLATION webhook. The
      // check counts it as released; a failed cancel shows only there.
      if (response.status !== Types.checkout.PaymentCancelResponse.StatusEnum.Received)
        throw new Error(`Adyen answered the cancel of ${authorization.id} with status ${response.status}`);
      if (response.paymentPspReference && response.paymentPspReference !== authorization.id)
        throw new Error(
          `Adyen answered the cancel of ${authorization.id} for another payment (${response.paymentPspReference})`,
        );
      const amount = `${majorUnits(attempt.amountMinor, attempt.currency)} ${attempt.currency}`;
      return `authorized ${amount}, cancel received (Adyen confirms it by webhook)`;
    },
  };
}

export const adyen: ProcessorModule<AdyenCredentials> = {
  name: "adyen",
  displayName: "Adyen",
  credentials,
  minimumAmount,
  defaultCurrency: "EUR",
  create,
};
