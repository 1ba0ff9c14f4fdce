// Mollie's Payments API for the preflight tests. The SDK speaks HTTPS only,
// so the fake is reached through a loopback TLS front.
import {
  type FakeResponse,
  type RecordedRequest,
  type Scenario,
  serveOverTls,
  startFakeProvider,
  type TlsFakeProvider,
} from "./fake-server";

const DOCS = "https://docs.mollie.com/reference/handling-errors";

/** Mollie's error body (RFC 7807 style): status, title, detail, the field at fault, a documentation link. */
function mollieError(status: number, title: string, detail: string, field?: string): FakeResponse {
  return {
    status,
    contentType: "application/hal+json",
    body: {
      status,
      title,
      detail,
      ...(field ? { field } : {}),
      _links: { documentation: { href: DOCS, type: "text/html" } },
    },
  };
}

const unprocessable = (detail: string, field?: string) =>
  mollieError(422, "Unprocessable Entity", detail, field);

/** Mollie tells test from live by the key; the fake is a test-mode account. */
function authError(request: RecordedRequest): FakeResponse | undefined {
  const key = (request.headers.authorization ?? "").replace(/^Bearer\s+/i, "");
  if (!/^test_\w+$/.test(key))
    return mollieError(401, "Unauthorized Request", "Missing authentication, or failed to authenticate");
  return undefined;
}

interface CreatePayment {
  amount?: { currency?: unknown; value?: unknown };
  description?: unknown;
  redirectUrl?: unknown;
  method?: unknown;
  captureMode?: unknown;
}

function parse(request: RecordedRequest): CreatePayment | undefined {
  try {
    const body: unknown = JSON.parse(request.body);
    return typeof body === "object" && body !== null ? (body as CreatePayment) : undefined;
  } catch {
    return undefined;
  }
}

/** What Mollie refuses before a payment exists: the fields a one-off payment with a checkout requires. */
function validateCreate(body: CreatePayment): FakeResponse | undefined {
  const amount = body.amount;
  if (!amount || typeof amount.currency !== "string" || typeof amount.value !== "string")
    return unprocessable("The amount is required for payments", "amount");
  if (!/^[A-Z]{3}$/.test(amount.currency))
    return unprocessable("The amount contains an invalid currency", "amount.currency");
  // Mollie wants the value as a string with exactly the currency's decimals: "0.01" EUR, "1" JPY.
  const decimals =
    new Intl.NumberFormat("en", { style: "currency", currency: amount.currency }).resolvedOptions()
      .maximumFractionDigits ?? 2;
  if (!new RegExp(decimals ? `^\\d+\\.\\d{${decimals}}$` : "^\\d+$").test(amount.value))
    return unprocessable("The amount contains an invalid value", "amount.value");
  if (typeof body.description !== "string" || body.description === "")
    return unprocessable("The description is invalid", "description");
  if (typeof body.redirectUrl !== "string" || !/^https?:\/\//.test(body.redirectUrl))
    return unprocessable("The redirect URL is invalid", "redirectUrl");
  if (body.captureMode === "manual" && body.method !== "creditcard")
    return unprocessable("The capture mode 'manual' is not supported for this payment method", "captureMode");
  return undefined;
}

interface StoredPayment {
  body: CreatePayment;
  status: string;
  createdAt: string;
}

function paymentBody(id: string, stored: StoredPayment, cancelable: boolean): Record<string, unknown> {
  const open = stored.status === "open";
  return {
    resource: "payment",
    id,
    mode: "test",
    createdAt: stored.createdAt,
    amount: stored.body.amount,
    description: stored.body.description,
    method: stored.body.method ?? null,
    metadata: null,
    status: stored.status,
    isCancelable: open && cancelable,
    ...(open ? { expiresAt: new Date(Date.parse(stored.createdAt) + 15 * 60_000).toISOString() } : {}),
    ...(stored.status === "canceled" ? { canceledAt: new Date().toISOString() } : {}),
    profileId: "pfl_fakeprofile",
    sequenceType: "oneoff",
    captureMode: stored.body.captureMode ?? "automatic",
    redirectUrl: stored.body.redirectUrl,
    _links: {
      self: { href: `https://api.mollie.com/v2/payments/${id}`, type: "application/hal+json" },
      ...(open
        ? {
            checkout: {
              href: `https://www.mollie.com/checkout/test-mode?method=creditcard&token=${id}`,
              type: "text/html",
            },
          }
        : {}),
      dashboard: { href: `https://my.mollie.com/dashboard/payments/${id}`, type: "text/html" },
      documentation: { href: "https://docs.mollie.com/reference/get-payment", type: "text/html" },
    },
  };
}

/** The answer to a maintenance window: a 503 the SDK retries at once (Retry-After: 0), then gives up. */
const unavailable = (): FakeResponse => ({
  ...mollieError(
    503,
    "Service Unavailable",
    "The service is temporarily unavailable, please try again later",
  ),
  headers: { "retry-after": "0" },
});

/**
 * A fake Mollie (test mode) for the scenarios. Mollie cannot cancel an open
 * card payment (only bank transfer and direct debit payments, staff said),
 * so payments come back with isCancelable false; `cancelable` plays the
 * other answer. void-fails makes the release calls (GET, DELETE) answer 503.
 */
export async function startMollieFake(
  scenario: Scenario = "approve",
  { cancelable = false }: { cancelable?: boolean } = {},
): Promise<TlsFakeProvider> {
  const payments = new Map<string, StoredPayment>();
  const replays = new Map<string, FakeResponse>();
  let sequence = 0;

  const createPayment = (request: RecordedRequest, current: Scenario): FakeResponse | "hang" => {
    const body = parse(request);
    if (!body) return mollieError(400, "Bad Request", "The JSON request body is invalid");
    const invalid = validateCreate(body);
    if (invalid) return invalid;
    if (current === "hang") return "hang";
    if (current === "decline") return unprocessable("The amount is lower than the minimum", "amount");
    sequence += 1;
    const id = `tr_fake${String(sequence).padStart(5, "0")}`;
    const stored: StoredPayment = { body, status: "open", createdAt: new Date().toISOString() };
    payments.set(id, stored);
    return {
      status: 201,
      contentType: "application/hal+json",
      body: paymentBody(id, stored, cancelable),
    };
  };

  const notFound = (id: string) => mollieError(404, "Not Found", `No payment exists with token ${id}.`);

  const getPayment = (id: string, current: Scenario): FakeResponse => {
    const stored = payments.get(id);
    if (!stored) return notFound(id);
    if (current === "void-fails") return unavailable();
    return { status: 200, contentType: "application/hal+json", body: paymentBody(id, stored, cancelable) };
  };

  const cancelPayment = (id: string, current: Scenario): FakeResponse => {
    const stored = payments.get(id);
    if (!stored) return notFound(id);
    if (current === "void-fails") return unavailable();
    if (!(cancelable && stored.status === "open")) return unprocessable("The payment cannot be cancelled");
    stored.status = "canceled";
    return { status: 200, contentType: "application/hal+json", body: paymentBody(id, stored, cancelable) };
  };

  const route = (request: RecordedRequest, current: Scenario): FakeResponse | "hang" => {
    const { pathname } = new URL(request.path, "https://api.mollie.invalid");
    if (request.method === "POST" && pathname === "/v2/payments") return createPayment(request, current);
    const one = pathname.match(/^\/v2\/payments\/(tr_\w+)$/);
    if (request.method === "GET" && one?.[1]) return getPayment(one[1], current);
    if (request.method === "DELETE" && one?.[1]) return cancelPayment(one[1], current);
    return mollieError(404, "Not Found", `The resource ${pathname} does not exist.`);
  };

  const fake = await startFakeProvider((request, current) => {
    const refused = authError(request);
    if (refused) return refused;
    // Mollie replays the stored answer to a repeated Idempotency-Key (POST and DELETE).
    const key = request.headers["idempotency-key"];
    const replay = typeof key === "string" ? replays.get(`${request.method} ${key}`) : undefined;
    if (replay) return replay;
    const answer = route(request, current);
    if (answer !== "hang" && typeof key === "string" && answer.status < 500)
      replays.set(`${request.method} ${key}`, answer);
    return answer;
  }, scenario);
  return serveOverTls(fake);
}
