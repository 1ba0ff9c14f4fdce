// Adyen's Checkout API (the v72 the SDK calls) for the preflight tests: the
// two calls the adapter makes, /payments and /payments/{pspReference}/cancels,
// with Adyen's documented result codes and error bodies. The SDK's transport
// speaks HTTPS only, so the fake is reached through a loopback TLS front.
import {
  type FakeProvider,
  type FakeResponse,
  type RecordedRequest,
  type Scenario,
  serveOverTls,
  startFakeProvider,
  type TlsFakeProvider,
} from "./fake-server";

const VERSION = "v72";

/** Adyen's error body (ServiceError): HTTP status plus status, errorCode, message and errorType. */
function serviceError(status: number, errorCode: string, message: string, errorType: string): FakeResponse {
  return { status, body: { status, errorCode, message, errorType, pspReference: "FAKEERROR0000001" } };
}

const requiredField = (field: string) =>
  serviceError(422, "130", `Required field '${field}' is not provided.`, "validation");

function authError(request: RecordedRequest): FakeResponse | undefined {
  if (!request.headers["x-api-key"])
    return serviceError(401, "000", "HTTP Status Response - Unauthorized", "security");
  if (request.method === "POST" && !request.headers["content-type"]?.startsWith("application/json"))
    return serviceError(415, "000", "Unsupported Media Type", "validation");
  return undefined;
}

function parse(request: RecordedRequest): Record<string, unknown> | undefined {
  try {
    const body: unknown = JSON.parse(request.body);
    return typeof body === "object" && body !== null ? (body as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** What Adyen refuses before it reaches the card scheme: the fields /payments requires. */
function validatePayment(body: Record<string, unknown>): FakeResponse | undefined {
  if (!body.merchantAccount) return serviceError(422, "901", "Invalid Merchant Account", "security");
  const amount = body.amount as { value?: unknown; currency?: unknown } | undefined;
  if (!amount || typeof amount.value !== "number" || typeof amount.currency !== "string")
    return serviceError(422, "100", "No amount specified", "validation");
  if (!Number.isInteger(amount.value) || amount.value < 0)
    return serviceError(422, "137", "Invalid amount specified", "validation");
  if (!body.reference) return requiredField("reference");
  if (!body.returnUrl) return requiredField("returnUrl");
  if (typeof body.paymentMethod !== "object" || body.paymentMethod === null)
    return requiredField("paymentMethod");
  return undefined;
}

/** A fake Adyen for the scenarios; it replays a repeated Idempotency-Key like Adyen does. */
export async function startAdyenFake(scenario: Scenario = "approve"): Promise<TlsFakeProvider> {
  const authorised = new Set<string>();
  const replays = new Map<string, FakeResponse>();
  let sequence = 0;
  const nextPsp = () => {
    sequence += 1;
    return `FAKEPSP${String(sequence).padStart(9, "0")}`;
  };

  const pay = (body: Record<string, unknown>, current: Scenario): FakeResponse => {
    const invalid = validatePayment(body);
    if (invalid) return invalid;
    const pspReference = nextPsp();
    const common = { pspReference, merchantReference: body.reference, amount: body.amount };
    if (current === "decline")
      return {
        status: 200,
        body: { ...common, resultCode: "Refused", refusalReason: "Refused", refusalReasonCode: "2" },
      };
    authorised.add(pspReference);
    return {
      status: 200,
      body: { ...common, resultCode: "Authorised", additionalData: { authCode: "012345" } },
    };
  };

  const cancel = (pspReference: string, body: Record<string, unknown>, current: Scenario): FakeResponse => {
    if (!body.merchantAccount) return serviceError(422, "901", "Invalid Merchant Account", "security");
    if (!authorised.has(pspReference))
      return serviceError(422, "167", "Original pspReference required for this operation", "validation");
    // A key allowed to authorize but not to modify payments: Adyen's answer to a missing role.
    if (current === "void-fails") return serviceError(403, "010", "Not allowed", "security");
    return {
      status: 201,
      body: {
        merchantAccount: body.merchantAccount,
        paymentPspReference: pspReference,
        pspReference: nextPsp(),
        reference: body.reference,
        status: "received",
      },
    };
  };

  const route = (request: RecordedRequest, current: Scenario): FakeResponse | "hang" => {
    const { pathname } = new URL(request.path, "https://checkout-test.adyen.invalid");
    const body = parse(request);
    if (request.method === "POST" && !body) return serviceError(400, "702", "Unexpected input", "validation");
    if (request.method === "POST" && body && pathname === `/${VERSION}/payments`)
      return current === "hang" ? "hang" : pay(body, current);
    const cancels = pathname.match(new RegExp(`^/${VERSION}/payments/([^/]+)/cancels$`));
    if (request.method === "POST" && body && cancels?.[1])
      return cancel(decodeURIComponent(cancels[1]), body, current);
    return serviceError(404, "000", `No such endpoint: ${request.method} ${pathname}`, "validation");
  };

  const fake: FakeProvider = await startFakeProvider((request, current) => {
    const refused = authError(request);
    if (refused) return refused;
    const key = request.headers["idempotency-key"];
    const replay = typeof key === "string" ? replays.get(key) : undefined;
    if (replay) return replay;
    const answer = route(request, current);
    if (answer !== "hang" && typeof key === "string") replays.set(key, answer);
    return answer;
  }, scenario);
  return serveOverTls(fake);
}
