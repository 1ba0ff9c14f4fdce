// Braintree's gateway API as its Node SDK speaks it: JSON bodies with
// snake_case keys in, XML out (Accept: application/xml), HTTP Basic with the
// API key pair, /merchants/{id}/transactions for the sale and
// /transactions/{id}/void. Refusals are 422 <api-error-response> documents
// with Braintree's validation codes, the way the SDK's parser reads them.
import { randomBytes } from "node:crypto";
import {
  type FakeProvider,
  type FakeResponse,
  type RecordedRequest,
  type Scenario,
  startFakeProvider,
} from "./fake-server";

/** The only gateway login the fake knows; anything else gets Braintree's 401. */
export const BRAINTREE_FAKE_CREDENTIALS = {
  merchantId: "fakemerchant123",
  publicKey: "fakepublickey",
  privateKey: "fakeprivatekey",
};

/** A vaulted card the fake knows, as a live run would send (paymentMethodToken). */
export const BRAINTREE_FAKE_PAYMENT_METHOD_TOKEN = "fakecardtoken";

/** Braintree's sandbox nonces that stand for a card the gateway accepts. */
const TRANSACTABLE_NONCES = new Set([
  "fake-valid-nonce",
  "fake-valid-visa-nonce",
  "fake-valid-mastercard-nonce",
]);

export interface BraintreeFakeOptions {
  /**
   * The merchant has At-Most-Once processing: api_request_key is taken and a
   * resend with the same key answers as before. Otherwise the key is refused
   * with validation error 915231 (ApiRequestKeyNotAllowed in the SDK's codes).
   */
  atMostOnce?: boolean;
}

interface FakeTransaction {
  id: string;
  status: "authorized" | "submitted_for_settlement" | "processor_declined" | "voided";
  amount: string;
  orderId?: string;
  merchantAccountId: string;
  history: { status: string; at: string }[];
}

interface ValidationError {
  code: string;
  attribute: string;
  message: string;
}

type Json = Record<string, unknown>;

const XML_TYPE = "application/xml; charset=utf-8";

export function startBraintreeFake(
  scenario: Scenario = "approve",
  options: BraintreeFakeOptions = {},
): Promise<FakeProvider> {
  const transactions = new Map<string, FakeTransaction>();
  /** api_request_key -> the answer it got (At-Most-Once processing). */
  const answered = new Map<string, FakeResponse>();
  const base = `/merchants/${BRAINTREE_FAKE_CREDENTIALS.merchantId}/transactions`;

  const sale = (attributes: Json, current: Scenario): FakeResponse | "hang" => {
    const errors = validateSale(attributes);
    if (errors.length > 0) return apiErrorResponse(errors, attributes);
    if (current === "hang") return "hang";
    const declined = current === "decline";
    const now = new Date().toISOString();
    const transaction: FakeTransaction = {
      id: transactionId(),
      status: declined
        ? "processor_declined"
        : (attributes.options as Json | undefined)?.submit_for_settlement === true
          ? "submitted_for_settlement"
          : "authorized",
      amount: String(attributes.amount),
      orderId: typeof attributes.order_id === "string" ? attributes.order_id : undefined,
      merchantAccountId:
        typeof attributes.merchant_account_id === "string"
          ? attributes.merchant_account_id
          : "fakemerchantusd",
      history: [{ status: declined ? "processor_declined" : "authorized", at: now }],
    };
    transactions.set(transaction.id, transaction);
    if (!declined) return { status: 201, contentType: XML_TYPE, body: document(transactionXml(transaction)) };
    // What the sandbox answers for amount 2000.00: Do Not Honor, a soft decline.
    return {
      status: 422,
      contentType: XML_TYPE,
      body: document(
        element("api-error-response", [
          element("errors", [arrayOf("errors", [])]),
          paramsXml(attributes),
          text("message", "Do Not Honor"),
          transactionXml(transaction),
        ]),
      ),
    };
  };

  const voidTransaction = (id: string, current: Scenario): FakeResponse => {
    const transaction = transactions.get(id);
    if (!transaction) return { status: 404, contentType: XML_TYPE, body: "" };
    const voidable = transaction.status === "authorized" || transaction.status === "submitted_for_settlement";
    if (current === "void-fails" || !voidable)
      return apiErrorResponse(
        [
          {
            code: "91504",
            attribute: "base",
            message:
              "Transaction can only be voided if status is authorized, submitted_for_settlement, or - for PayPal - settlement_pending.",
          },
        ],
        {},
      );
    transaction.status = "voided";
    transaction.history.push({ status: "voided", at: new Date().toISOString() });
    return { status: 200, contentType: XML_TYPE, body: document(transactionXml(transaction)) };
  };

  /** At-Most-Once: a known key answers as before; an unknown one runs `call` and keeps its answer. */
  const once = (attributes: Json, call: () => FakeResponse | "hang"): FakeResponse | "hang" => {
    const key = attributes.api_request_key;
    if (key === undefined) return call();
    if (!options.atMostOnce)
      return apiErrorResponse(
        [{ code: "915231", attribute: "api_request_key", message: "API request key is not allowed." }],
        attributes,
      );
    const replay = answered.get(String(key));
    if (replay) return replay;
    const answer = call();
    if (answer !== "hang") answered.set(String(key), answer);
    return answer;
  };

  return startFakeProvider((request, current) => {
    const refused = checkLogin(request);
    if (refused) return refused;
    const path = request.path.split("?")[0] ?? "";
    const body = request.body === "" ? {} : parseJson(request.body);
    if (body === undefined) return { status: 400, contentType: XML_TYPE, body: "" };
    const attributes = (body.transaction as Json | undefined) ?? {};
    if (request.method === "POST" && path === base) {
      if (body.transaction === undefined)
        return apiErrorResponse(
          [{ code: "91524", attribute: "type", message: "Transaction type is required." }],
          {},
        );
      return once(attributes, () => sale(attributes, current));
    }
    const voiding = new RegExp(`^${base}/([a-z0-9]+)/void$`).exec(path);
    if (request.method === "PUT" && voiding?.[1]) {
      const id = voiding[1];
      return once(attributes, () => voidTransaction(id, current));
    }
    return { status: 404, contentType: XML_TYPE, body: "" };
  }, scenario);
}

/** HTTP Basic with the key pair, the merchant in the path, an X-ApiVersion: else 401 or 426, no body. */
function checkLogin(request: RecordedRequest): FakeResponse | undefined {
  const { merchantId, publicKey, privateKey } = BRAINTREE_FAKE_CREDENTIALS;
  const login = `Basic ${Buffer.from(`${publicKey}:${privateKey}`).toString("base64")}`;
  if (request.headers.authorization !== login || !request.path.startsWith(`/merchants/${merchantId}/`))
    return { status: 401, contentType: XML_TYPE, body: "" };
  if (request.headers["x-apiversion"] === undefined) return { status: 426, contentType: XML_TYPE, body: "" };
  return undefined;
}

/** The gateway's checks on a sale, in the order it reports them. */
function validateSale(attributes: Json): ValidationError[] {
  const errors: ValidationError[] = [];
  const add = (code: string, attribute: string, message: string) => errors.push({ code, attribute, message });
  if (attributes.type === undefined) add("91524", "type", "Transaction type is required.");
  else if (attributes.type !== "sale" && attributes.type !== "credit")
    add("91523", "type", "Transaction type is invalid.");
  const amount = attributes.amount;
  if (amount === undefined || amount === "") add("81502", "amount", "Amount is required.");
  else if (typeof amount !== "string" || !/^\d+(\.\d{1,2})?$/.test(amount))
    add("81503", "amount", "Amount is an invalid format.");
  else if (Number(amount) <= 0) add("81531", "amount", "Amount must be greater than zero.");
  const nonce = attributes.payment_method_nonce;
  const token = attributes.payment_method_token;
  if (nonce === undefined && token === undefined) add("91508", "base", "Cannot determine payment method.");
  else if (nonce !== undefined && !TRANSACTABLE_NONCES.has(String(nonce)))
    add("91565", "payment_method_nonce", "Unknown payment_method_nonce.");
  else if (token !== undefined && token !== BRAINTREE_FAKE_PAYMENT_METHOD_TOKEN)
    add("91518", "payment_method_token", "Payment method token is invalid.");
  if (typeof attributes.order_id === "string" && attributes.order_id.length > 255)
    add("91501", "order_id", "Order ID is too long.");
  return errors;
}

function apiErrorResponse(errors: ValidationError[], attributes: Json): FakeResponse {
  const errorXml = errors.map((e) =>
    element("error", [
      text("code", e.code),
      typed("attribute", "symbol", e.attribute),
      text("message", e.message),
    ]),
  );
  return {
    status: 422,
    contentType: XML_TYPE,
    body: document(
      element("api-error-response", [
        element("errors", [arrayOf("errors", []), element("transaction", [arrayOf("errors", errorXml)])]),
        paramsXml(attributes),
        text("message", errors.map((e) => e.message).join("\n")),
      ]),
    ),
  };
}

/** What the gateway echoes of the request (never the payment method). */
function paramsXml(attributes: Json) {
  return element("params", [
    element("transaction", [
      ...(typeof attributes.amount === "string" ? [text("amount", attributes.amount)] : []),
      ...(typeof attributes.type === "string" ? [text("type", attributes.type)] : []),
      ...(typeof attributes.order_id === "string" ? [text("order-id", attributes.order_id)] : []),
    ]),
  ]);
}

function transactionXml(t: FakeTransaction) {
  const approved = t.status !== "processor_declined";
  const first = t.history[0]?.at ?? new Date().toISOString();
  const last = t.history.at(-1)?.at ?? first;
  return element("transaction", [
    text("id", t.id),
    text("status", t.status),
    text("type", "sale"),
    text("currency-iso-code", "USD"),
    text("amount", t.amount),
    text("merchant-account-id", t.merchantAccountId),
    text("order-id", t.orderId ?? null),
    typed("created-at", "datetime", first),
    typed("updated-at", "datetime", last),
    text("processor-response-code", approved ? "1000" : "2000"),
    text("processor-response-text", approved ? "Approved" : "Do Not Honor"),
    text("processor-response-type", approved ? "approved" : "soft_declined"),
    text("processor-authorization-code", approved ? "A1B2C3" : null),
    text("gateway-rejection-reason", null),
    text("payment-instrument-type", "credit_card"),
    element("credit-card", [
      text("token", null),
      text("bin", "411111"),
      text("last-4", "1111"),
      text("card-type", "Visa"),
      text("expiration-month", "12"),
      text("expiration-year", "2030"),
      text("customer-location", "US"),
      text("cardholder-name", null),
    ]),
    arrayOf(
      "status-history",
      t.history.map((event) =>
        element("status-event", [
          typed("timestamp", "datetime", event.at),
          text("status", event.status),
          text("amount", t.amount),
          text("transaction-source", "api"),
        ]),
      ),
    ),
    arrayOf("disputes", []),
    typed("authorization-expires-at", "datetime", new Date(Date.now() + 7 * 86_400_000).toISOString()),
  ]);
}

function document(root: string) {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${root}\n`;
}

function element(name: string, children: string[]) {
  return `<${name}>${children.join("")}</${name}>`;
}

function text(name: string, value: string | null) {
  return value === null ? `<${name} nil="true"/>` : `<${name}>${escapeXml(value)}</${name}>`;
}

function typed(name: string, type: string, value: string) {
  return `<${name} type="${type}">${escapeXml(value)}</${name}>`;
}

function arrayOf(name: string, items: string[]) {
  return items.length === 0 ? `<${name} type="array"/>` : `<${name} type="array">${items.join("")}</${name}>`;
}

function escapeXml(value: string) {
  return value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function parseJson(body: string): Json | undefined {
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
  } catch {
    return undefined;
  }
}

/** Braintree transaction ids: 8 lower-case letters and digits. */
function transactionId() {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  return Array.from(randomBytes(8), (byte) => alphabet[byte % alphabet.length]).join("");
}
