// PayPal's REST API as the preflight uses it: an OAuth2 client-credentials
// token, Orders v2 (create with a card source, authorize) and the Payments v2
// void, in PayPal's documented shapes and error bodies.
import { randomBytes } from "node:crypto";
import {
  type FakeProvider,
  type FakeResponse,
  type RecordedRequest,
  type Scenario,
  startFakeProvider,
} from "./fake-server";

/** The only REST app the fake knows; any other client id or secret gets PayPal's invalid_client. */
export const PAYPAL_FAKE_CREDENTIALS = {
  clientId: "fake-paypal-client-id",
  clientSecret: "fake-paypal-secret",
};

export interface PaypalFakeOptions {
  /**
   * single-step (PayPal's answer to a card payment source): creating the
   * order authorizes it. two-step: the order comes back APPROVED without an
   * authorization and POST /v2/checkout/orders/{id}/authorize makes one.
   */
  flow?: "single-step" | "two-step";
}

interface FakeAuthorization {
  id: string;
  status: "CREATED" | "DENIED" | "VOIDED";
  currency: string;
  value: string;
  invoiceId?: string;
}

interface FakeOrder {
  id: string;
  status: "APPROVED" | "COMPLETED";
  currency: string;
  value: string;
  description?: string;
  invoiceId?: string;
  lastDigits: string;
  authorization?: FakeAuthorization;
}

type Json = Record<string, unknown>;

const BASE = "https://api.sandbox.paypal.com";

export function startPaypalFake(
  scenario: Scenario = "approve",
  options: PaypalFakeOptions = {},
): Promise<FakeProvider> {
  const flow = options.flow ?? "single-step";
  const tokens = new Set<string>();
  const orders = new Map<string, FakeOrder>();
  const authorizations = new Map<string, FakeAuthorization>();
  /** PayPal-Request-Id -> the answer it got: a resend gets the same answer, nothing new happens. */
  const answered = new Map<string, FakeResponse>();

  const authorizeOrder = (order: FakeOrder, current: Scenario) => {
    const authorization: FakeAuthorization = {
      id: paypalId(),
      status: current === "decline" ? "DENIED" : "CREATED",
      currency: order.currency,
      value: order.value,
      invoiceId: order.invoiceId,
    };
    authorizations.set(authorization.id, authorization);
    order.authorization = authorization;
    order.status = "COMPLETED";
  };

  const createOrder = (request: RecordedRequest, current: Scenario): FakeResponse | "hang" => {
    const body = parseJson(request.body);
    if (body === undefined)
      return invalidRequest("MALFORMED_REQUEST_JSON", "", "The request JSON is not well formed.");
    const invalid = validateOrder(body);
    if (invalid) return invalid;
    const requestId = header(request, "paypal-request-id");
    if (requestId === undefined)
      return invalidRequest(
        "PAYPAL_REQUEST_ID_REQUIRED",
        "",
        "A PayPal-Request-Id is required if you are trying to process payment for an Order. Please specify a PayPal-Request-Id or Create the Order without a 'payment_source' specified.",
      );
    const replay = answered.get(requestId);
    if (replay) return replay;
    if (current === "hang" && flow === "single-step") return "hang";
    const unit = (body.purchase_units as Json[])[0] as Json;
    const amount = unit.amount as Json;
    const card = (body.payment_source as Json).card as Json;
    const order: FakeOrder = {
      id: paypalId(),
      status: "APPROVED",
      currency: String(amount.currency_code),
      value: String(amount.value),
      description: optionalString(unit.description),
      invoiceId: optionalString(unit.invoice_id),
      lastDigits: typeof card.number === "string" ? card.number.slice(-4) : "1881",
    };
    orders.set(order.id, order);
    if (flow === "single-step") authorizeOrder(order, current);
    const answer = { status: 201, body: orderBody(order, wantsRepresentation(request)) };
    answered.set(requestId, answer);
    return answer;
  };

  const authorizeExisting = (
    request: RecordedRequest,
    current: Scenario,
    orderId: string,
  ): FakeResponse | "hang" => {
    const requestId = header(request, "paypal-request-id");
    const replay = requestId === undefined ? undefined : answered.get(requestId);
    if (replay) return replay;
    const order = orders.get(orderId);
    if (!order)
      return notFound(
        "INVALID_RESOURCE_ID",
        "Specified resource ID does not exist. Please check the resource ID and try again.",
      );
    if (order.authorization)
      return unprocessable(
        "ORDER_ALREADY_AUTHORIZED",
        "Order already authorized. If 'intent=AUTHORIZE' only one authorization per order is allowed.",
      );
    if (current === "hang") return "hang";
    authorizeOrder(order, current);
    const answer = { status: 201, body: orderBody(order, wantsRepresentation(request)) };
    if (requestId !== undefined) answered.set(requestId, answer);
    return answer;
  };

  const voidAuthorization = (
    request: RecordedRequest,
    current: Scenario,
    authorizationId: string,
  ): FakeResponse => {
    const requestId = header(request, "paypal-request-id");
    const replay = requestId === undefined ? undefined : answered.get(requestId);
    if (replay) return replay;
    const authorization = authorizations.get(authorizationId);
    if (!authorization)
      return notFound(
        "INVALID_RESOURCE_ID",
        "Specified resource ID does not exist. Please check the resource ID and try again.",
      );
    if (current === "void-fails")
      return {
        status: 500,
        body: {
          name: "INTERNAL_SERVER_ERROR",
          message: "An internal server error occurred.",
          debug_id: debugId(),
          links: [infoLink("INTERNAL_SERVER_ERROR")],
        },
      };
    if (authorization.status === "VOIDED")
      return unprocessable(
        "PREVIOUSLY_VOIDED",
        "Authorization has been previously voided and hence cannot be voided again.",
      );
    if (authorization.status !== "CREATED")
      return unprocessable(
        "CANNOT_BE_VOIDED",
        `An authorization in status ${authorization.status} cannot be voided.`,
      );
    authorization.status = "VOIDED";
    const answer = wantsRepresentation(request)
      ? { status: 200, body: authorizationBody(authorization) }
      : { status: 204 };
    if (requestId !== undefined) answered.set(requestId, answer);
    return answer;
  };

  return startFakeProvider((request, current) => {
    const path = request.path.split("?")[0] ?? "";
    if (request.method === "POST" && path === "/v1/oauth2/token") return issueToken(request, tokens);
    const bearer = header(request, "authorization")?.replace(/^Bearer /, "");
    if (bearer === undefined || !tokens.has(bearer))
      return {
        status: 401,
        body: {
          name: "AUTHENTICATION_FAILURE",
          message:
            "Authentication failed due to invalid authentication credentials or a missing Authorization header.",
          links: [infoLink("AUTHENTICATION_FAILURE")],
        },
      };
    if (request.method !== "POST")
      return notFound("INVALID_RESOURCE_ID", `No ${request.method} ${path} in this fake.`);
    if (path === "/v2/checkout/orders") return createOrder(request, current);
    const authorize = /^\/v2\/checkout\/orders\/([A-Z0-9]+)\/authorize$/.exec(path);
    if (authorize?.[1]) return authorizeExisting(request, current, authorize[1]);
    const voiding = /^\/v2\/payments\/authorizations\/([A-Z0-9]+)\/void$/.exec(path);
    if (voiding?.[1]) return voidAuthorization(request, current, voiding[1]);
    return notFound("INVALID_RESOURCE_ID", `No POST ${path} in this fake.`);
  }, scenario);
}

/** POST /v1/oauth2/token: HTTP Basic with the app's id and secret, a form with grant_type. */
function issueToken(request: RecordedRequest, tokens: Set<string>): FakeResponse {
  const expected = `Basic ${Buffer.from(`${PAYPAL_FAKE_CREDENTIALS.clientId}:${PAYPAL_FAKE_CREDENTIALS.clientSecret}`).toString("base64")}`;
  if (header(request, "authorization") !== expected)
    return {
      status: 401,
      body: { error: "invalid_client", error_description: "Client Authentication failed" },
    };
  const grant = new URLSearchParams(request.body).get("grant_type");
  if (!header(request, "content-type")?.startsWith("application/x-www-form-urlencoded") || grant === null)
    return {
      status: 400,
      body: { error: "unsupported_grant_type", error_description: "Grant Type is NULL" },
    };
  if (grant !== "client_credentials")
    return {
      status: 400,
      body: { error: "unsupported_grant_type", error_description: `unsupported grant_type ${grant}` },
    };
  const token = `A21AA${randomBytes(24).toString("base64url")}`;
  tokens.add(token);
  return {
    status: 200,
    body: {
      scope:
        "https://uri.paypal.com/services/payments/payment https://uri.paypal.com/services/payments/refund",
      access_token: token,
      token_type: "Bearer",
      app_id: "APP-80W284485P519543T",
      expires_in: 32400,
      nonce: `${new Date().toISOString()}${randomBytes(8).toString("hex")}`,
    },
  };
}

/** What Orders v2 checks of a create-order body before anything else (400 INVALID_REQUEST). */
function validateOrder(body: Json): FakeResponse | undefined {
  if (body.intent !== "AUTHORIZE" && body.intent !== "CAPTURE")
    return body.intent === undefined
      ? invalidRequest("MISSING_REQUIRED_PARAMETER", "/intent", "A required field / parameter is missing.")
      : invalidRequest("INVALID_PARAMETER_VALUE", "/intent", "The value of a field is invalid.");
  const units = body.purchase_units;
  if (!Array.isArray(units) || units.length === 0)
    return invalidRequest(
      "MISSING_REQUIRED_PARAMETER",
      "/purchase_units",
      "A required field / parameter is missing.",
    );
  const amount = (units[0] as Json).amount as Json | undefined;
  if (typeof amount?.currency_code !== "string")
    return invalidRequest(
      "MISSING_REQUIRED_PARAMETER",
      "/purchase_units/0/amount/currency_code",
      "A required field / parameter is missing.",
    );
  if (typeof amount.value !== "string")
    return invalidRequest(
      "MISSING_REQUIRED_PARAMETER",
      "/purchase_units/0/amount/value",
      "A required field / parameter is missing.",
    );
  if (!/^\d+(\.\d{1,2})?$/.test(amount.value) || Number(amount.value) <= 0)
    return invalidRequest(
      "INVALID_PARAMETER_VALUE",
      "/purchase_units/0/amount/value",
      "The value of a field is invalid.",
    );
  const card = (body.payment_source as Json | undefined)?.card as Json | undefined;
  if (card === undefined)
    return invalidRequest(
      "MISSING_REQUIRED_PARAMETER",
      "/payment_source/card",
      "This fake only takes card payment sources.",
    );
  if (card.vault_id === undefined && (typeof card.number !== "string" || typeof card.expiry !== "string"))
    return invalidRequest(
      "MISSING_REQUIRED_PARAMETER",
      "/payment_source/card/number",
      "A required field / parameter is missing.",
    );
  return undefined;
}

function orderBody(order: FakeOrder, representation: boolean): Json {
  const links = [
    { href: `${BASE}/v2/checkout/orders/${order.id}`, rel: "self", method: "GET" },
    ...(order.authorization
      ? []
      : [{ href: `${BASE}/v2/checkout/orders/${order.id}/authorize`, rel: "authorize", method: "POST" }]),
  ];
  const minimal = { id: order.id, status: order.status, links };
  if (!representation) return minimal;
  return {
    ...minimal,
    intent: "AUTHORIZE",
    payment_source: { card: { last_digits: order.lastDigits, brand: "VISA", type: "CREDIT" } },
    purchase_units: [
      {
        reference_id: "default",
        amount: { currency_code: order.currency, value: order.value },
        description: order.description,
        invoice_id: order.invoiceId,
        ...(order.authorization
          ? { payments: { authorizations: [authorizationBody(order.authorization)] } }
          : {}),
      },
    ],
    create_time: new Date().toISOString(),
    update_time: new Date().toISOString(),
  };
}

function authorizationBody(authorization: FakeAuthorization): Json {
  const self = `${BASE}/v2/payments/authorizations/${authorization.id}`;
  const denied = authorization.status === "DENIED";
  return {
    id: authorization.id,
    status: authorization.status,
    amount: { currency_code: authorization.currency, value: authorization.value },
    invoice_id: authorization.invoiceId,
    // The sandbox's CCREJECT-REFUSED answer: DO_NOT_HONOR, AVS globally unavailable, CVV not processed.
    processor_response: denied
      ? { avs_code: "G", cvv_code: "P", response_code: "0500" }
      : { avs_code: "Y", cvv_code: "M", response_code: "0000" },
    expiration_time: new Date(Date.now() + 29 * 86_400_000).toISOString(),
    links: [
      { href: self, rel: "self", method: "GET" },
      ...(authorization.status === "CREATED"
        ? [
            { href: `${self}/capture`, rel: "capture", method: "POST" },
            { href: `${self}/void`, rel: "void", method: "POST" },
          ]
        : []),
    ],
    create_time: new Date().toISOString(),
    update_time: new Date().toISOString(),
  };
}

function invalidRequest(issue: string, field: string, description: string): FakeResponse {
  return {
    status: 400,
    body: {
      name: "INVALID_REQUEST",
      message: "Request is not well-formed, syntactically incorrect, or violates schema.",
      debug_id: debugId(),
      details: [{ field, location: "body", issue, description }],
      links: [infoLink(issue)],
    },
  };
}

function unprocessable(issue: string, description: string): FakeResponse {
  return {
    status: 422,
    body: {
      name: "UNPROCESSABLE_ENTITY",
      message:
        "The requested action could not be performed, semantically incorrect, or failed business validation.",
      debug_id: debugId(),
      details: [{ issue, description }],
      links: [infoLink(issue)],
    },
  };
}

function notFound(issue: string, description: string): FakeResponse {
  return {
    status: 404,
    body: {
      name: "RESOURCE_NOT_FOUND",
      message: "The specified resource does not exist.",
      debug_id: debugId(),
      details: [{ issue, description }],
      links: [infoLink(issue)],
    },
  };
}

function infoLink(issue: string) {
  return {
    href: `https://developer.paypal.com/api/rest/reference/orders/v2/errors/#${issue}`,
    rel: "information_link",
    method: "GET",
  };
}

function header(request: RecordedRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function wantsRepresentation(request: RecordedRequest) {
  return header(request, "prefer")?.includes("return=representation") ?? false;
}

function parseJson(text: string): Json | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
  } catch {
    return undefined;
  }
}

function optionalString(value: unknown) {
  return typeof value === "string" ? value : undefined;
}

/** PayPal ids: 17 upper-case letters and digits. */
function paypalId() {
  const alphabet = "0123456789ABCDEFGHJKLMNPRSTUVWXY";
  return Array.from(randomBytes(17), (byte) => alphabet[byte % alphabet.length]).join("");
}

function debugId() {
  return randomBytes(7).toString("hex").slice(0, 13);
}
