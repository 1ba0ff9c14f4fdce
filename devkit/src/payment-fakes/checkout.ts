// Checkout.com's payments API for the preflight tests: POST /payments and
// POST /payments/{id}/voids, in the documented shapes (201 with approved
// true or false, 202 for a void, 401/403/404 without a body, 422 with
// error_codes), replaying a repeated Cko-Idempotency-Key.
import { randomBytes } from "node:crypto";
import {
  type FakeProvider,
  type FakeResponse,
  type RecordedRequest,
  type Scenario,
  startFakeProvider,
} from "./fake-server";

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

/** Checkout.com ids: a prefix and 26 base32 characters. */
function ckoId(prefix: string): string {
  return `${prefix}_${Array.from(randomBytes(26), (b) => BASE32[b % 32]).join("")}`;
}

function invalid(...codes: string[]): FakeResponse {
  return {
    status: 422,
    body: { request_id: ckoId("req"), error_type: "request_invalid", error_codes: codes },
  };
}

/** A static secret key of the current platform is sent as a Bearer token; sandbox keys only here. */
function authorized(request: RecordedRequest): boolean {
  return /^Bearer sk_sbox_[a-z2-7]{26}[a-z2-7*#$=]$/.test(request.headers.authorization ?? "");
}

type Json = Record<string, unknown>;

function parseJson(body: string): Json | undefined {
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
  } catch {
    return undefined;
  }
}

/** The error codes Checkout.com lists for a card payment request missing what it needs. */
function paymentErrors(payment: Json): string[] {
  const codes: string[] = [];
  const source = payment.source as Json | undefined;
  if (!source) codes.push("payment_source_required");
  else if (source.type === "card") {
    if (!source.number) codes.push("card_number_required");
    if (!source.expiry_month) codes.push("card_expiry_month_required");
    if (!source.expiry_year) codes.push("card_expiry_year_required");
  } else if (source.type === "id" && !source.id) codes.push("source_id_required");
  if (!payment.currency) codes.push("currency_required");
  if (payment.amount !== undefined && !(Number.isInteger(payment.amount) && Number(payment.amount) > 0))
    codes.push("amount_invalid");
  if (!payment.processing_channel_id) codes.push("processing_channel_id_required");
  return codes;
}

function links(base: string, id: string, actions: string[]): Json {
  const href = (suffix: string) => ({ href: `${base}/payments/${id}${suffix}` });
  return Object.fromEntries([["self", href("")], ...actions.map((a) => [a, href(`/${a}s`)])]);
}

function cardSummary(payment: Json): Json {
  const source = (payment.source ?? {}) as Json;
  const number = String(source.number ?? "");
  return {
    id: ckoId("src"),
    type: source.type,
    expiry_month: source.expiry_month,
    expiry_year: source.expiry_year,
    scheme: "Visa",
    last4: number.slice(-4),
    bin: number.slice(0, 6),
  };
}

/** 201 either way: a decline is a payment with approved false and the issuer's response code. */
function paymentAnswer(base: string, payment: Json, declined: boolean): FakeResponse {
  const id = ckoId("pay");
  const common = {
    id,
    action_id: ckoId("act"),
    amount: payment.amount,
    currency: payment.currency,
    reference: payment.reference,
    source: cardSummary(payment),
    processed_on: new Date().toISOString(),
  };
  if (declined)
    return {
      status: 201,
      body: {
        ...common,
        approved: false,
        status: "Declined",
        response_code: "20051",
        response_summary: "Insufficient Funds",
        _links: links(base, id, ["action"]),
      },
    };
  return {
    status: 201,
    body: {
      ...common,
      approved: true,
      status: "Authorized",
      auth_code: "277368",
      response_code: "10000",
      response_summary: "Approved",
      _links: links(base, id, ["action", "capture", "void"]),
    },
  };
}

/** A fake Checkout.com for the scenarios. */
export async function startCheckoutFake(scenario: Scenario = "approve"): Promise<FakeProvider> {
  const authorizedPayments = new Set<string>();
  const replays = new Map<string, FakeResponse>();
  let base = "";

  const requestPayment = (request: RecordedRequest, current: Scenario): FakeResponse | "hang" => {
    const payment = parseJson(request.body);
    if (!payment) return invalid("request_body_malformed");
    const errors = paymentErrors(payment);
    if (errors.length > 0) return invalid(...errors);
    if (current === "hang") return "hang";
    const answer = paymentAnswer(base, payment, current === "decline");
    const { id, approved } = answer.body as Json;
    if (approved === true) authorizedPayments.add(String(id));
    return answer;
  };

  const voidPayment = (id: string, request: RecordedRequest, current: Scenario): FakeResponse => {
    if (!authorizedPayments.has(id)) return { status: 404 };
    // "403 Void not allowed", with no body, as for a payment already captured.
    if (current === "void-fails") return { status: 403 };
    return {
      status: 202,
      body: {
        action_id: ckoId("act"),
        reference: parseJson(request.body)?.reference,
        _links: { payment: { href: `${base}/payments/${id}` } },
      },
    };
  };

  const route = (request: RecordedRequest, current: Scenario): FakeResponse | "hang" => {
    const { pathname } = new URL(request.path, "http://checkout.invalid");
    if (request.method === "POST" && pathname === "/payments") return requestPayment(request, current);
    const voids = pathname.match(/^\/payments\/(pay_[a-z2-7]{26})\/voids$/);
    if (request.method === "POST" && voids?.[1]) return voidPayment(voids[1], request, current);
    return { status: 404 };
  };

  const fake = await startFakeProvider((request, current) => {
    if (!authorized(request)) return { status: 401 };
    if (request.method === "POST" && !request.headers["content-type"]?.startsWith("application/json"))
      return { status: 415 };
    const key = request.headers["cko-idempotency-key"];
    const replay = typeof key === "string" ? replays.get(`${request.path} ${key}`) : undefined;
    if (replay) return replay;
    const answer = route(request, current);
    if (answer !== "hang" && typeof key === "string") replays.set(`${request.path} ${key}`, answer);
    return answer;
  }, scenario);
  base = fake.url;
  return fake;
}
