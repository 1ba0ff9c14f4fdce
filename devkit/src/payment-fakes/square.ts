// Square's Payments API for the preflight tests: CreatePayment and
// CancelPayment, with Square's snake_case bodies, its errors envelope and the
// limits it enforces (idempotency_key of at most 45 characters, reference_id
// of at most 40), replaying a repeated idempotency_key like Square does.
import {
  type FakeProvider,
  type FakeResponse,
  type RecordedRequest,
  type Scenario,
  startFakeProvider,
} from "./fake-server";

interface SquareErrorBody {
  category: string;
  code: string;
  detail?: string;
  field?: string;
}

/** Square's error envelope: { errors: [{ category, code, detail, field }] }. */
function squareErrors(status: number, ...errors: SquareErrorBody[]): FakeResponse {
  return { status, body: { errors } };
}

const invalid = (code: string, field: string, detail: string) =>
  squareErrors(400, { category: "INVALID_REQUEST_ERROR", code, field, detail });

function authError(request: RecordedRequest): FakeResponse | undefined {
  if (!/^Bearer \S+$/.test(request.headers.authorization ?? ""))
    return squareErrors(401, {
      category: "AUTHENTICATION_ERROR",
      code: "UNAUTHORIZED",
      detail: "This request could not be authorized.",
    });
  if (
    request.method === "POST" &&
    request.body &&
    !request.headers["content-type"]?.startsWith("application/json")
  )
    return invalid("INVALID_CONTENT_TYPE", "", "Content-Type must be application/json");
  return undefined;
}

interface CreatePayment {
  idempotency_key?: unknown;
  source_id?: unknown;
  amount_money?: { amount?: unknown; currency?: unknown };
  reference_id?: unknown;
  [field: string]: unknown;
}

function validateCreate(body: CreatePayment): FakeResponse | undefined {
  for (const field of ["idempotency_key", "source_id", "amount_money"] as const)
    if (body[field] === undefined) return invalid("MISSING_REQUIRED_PARAMETER", field, "Field must be set");
  if (typeof body.idempotency_key === "string" && body.idempotency_key.length > 45)
    return invalid("VALUE_TOO_LONG", "idempotency_key", "Field must not be greater than 45 length");
  if (typeof body.reference_id === "string" && body.reference_id.length > 40)
    return invalid("VALUE_TOO_LONG", "reference_id", "Field must not be greater than 40 length");
  const amount = body.amount_money?.amount;
  if (typeof amount !== "number" || !Number.isInteger(amount))
    return invalid("EXPECTED_INTEGER", "amount_money.amount", "Expected an integer value.");
  if (amount < 1)
    return invalid("VALUE_TOO_LOW", "amount_money.amount", "Must be greater than or equal to 1");
  if (typeof body.amount_money?.currency !== "string")
    return invalid("MISSING_REQUIRED_PARAMETER", "amount_money.currency", "Field must be set");
  return undefined;
}

function payment(
  id: string,
  body: CreatePayment,
  status: string,
  cardStatus: string,
): Record<string, unknown> {
  const now = new Date().toISOString();
  return {
    id,
    created_at: now,
    updated_at: now,
    amount_money: body.amount_money,
    total_money: body.amount_money,
    approved_money: body.amount_money,
    status,
    delay_duration: "PT168H",
    delay_action: "CANCEL",
    source_type: "CARD",
    card_details: {
      status: cardStatus,
      card: { card_brand: "VISA", last_4: "1111", exp_month: 11, exp_year: 2030, card_type: "CREDIT" },
      entry_method: "KEYED",
      cvv_status: "CVV_ACCEPTED",
      avs_status: "AVS_ACCEPTED",
    },
    location_id: body.location_id ?? "LFAKE0MAIN00",
    ...(body.customer_id ? { customer_id: body.customer_id } : {}),
    reference_id: body.reference_id,
    note: body.note,
    version_token: `v${id}`,
  };
}

/** Without autocomplete: false Square captures at once. */
function created(id: string, body: CreatePayment): Record<string, unknown> {
  return body.autocomplete === false
    ? payment(id, body, "APPROVED", "AUTHORIZED")
    : payment(id, body, "COMPLETED", "CAPTURED");
}

/** How Square answers CreatePayment when the issuer refuses the card. */
function declined(): FakeResponse {
  return squareErrors(402, {
    category: "PAYMENT_METHOD_ERROR",
    code: "CARD_DECLINED",
    detail: "Authorization error: 'CARD_DECLINED'",
  });
}

function parse(request: RecordedRequest): CreatePayment | undefined {
  try {
    const body: unknown = JSON.parse(request.body);
    return typeof body === "object" && body !== null ? (body as CreatePayment) : undefined;
  } catch {
    return undefined;
  }
}

/** A fake Square for the scenarios. */
export function startSquareFake(scenario: Scenario = "approve"): Promise<FakeProvider> {
  const payments = new Map<string, CreatePayment>();
  const replays = new Map<string, { body: string; answer: FakeResponse }>();
  let sequence = 0;

  const createPayment = (request: RecordedRequest, current: Scenario): FakeResponse | "hang" => {
    const body = parse(request);
    if (!body) return invalid("INVALID_REQUEST", "", "Invalid JSON");
    const rejected = validateCreate(body);
    if (rejected) return rejected;
    const key = String(body.idempotency_key);
    const replay = replays.get(key);
    if (replay)
      return replay.body === request.body
        ? replay.answer
        : invalid(
            "IDEMPOTENCY_KEY_REUSED",
            "idempotency_key",
            "The idempotency key can only be retried with the same request data.",
          );
    if (current === "hang") return "hang";
    sequence += 1;
    const id = `fakepay${String(sequence).padStart(6, "0")}`;
    const answer = current === "decline" ? declined() : { status: 200, body: { payment: created(id, body) } };
    if (current !== "decline") payments.set(id, body);
    replays.set(key, { body: request.body, answer });
    return answer;
  };

  const cancelPayment = (id: string, current: Scenario): FakeResponse => {
    const body = payments.get(id);
    if (!body)
      return squareErrors(404, {
        category: "INVALID_REQUEST_ERROR",
        code: "NOT_FOUND",
        detail: `Could not find payment with id: ${id}`,
      });
    if (current === "void-fails")
      return squareErrors(503, {
        category: "API_ERROR",
        code: "SERVICE_UNAVAILABLE",
        detail: "Service Unavailable",
      });
    return { status: 200, body: { payment: payment(id, body, "CANCELED", "VOIDED") } };
  };

  return startFakeProvider((request, current) => {
    const refused = authError(request);
    if (refused) return refused;
    const { pathname } = new URL(request.path, "https://connect.squareupsandbox.invalid");
    if (request.method === "POST" && pathname === "/v2/payments") return createPayment(request, current);
    const cancel = pathname.match(/^\/v2\/payments\/([^/]+)\/cancel$/);
    if (request.method === "POST" && cancel?.[1])
      return cancelPayment(decodeURIComponent(cancel[1]), current);
    return squareErrors(404, {
      category: "INVALID_REQUEST_ERROR",
      code: "NOT_FOUND",
      detail: `API endpoint for URL path \`${pathname}\` and HTTP method \`${request.method}\` is not found.`,
    });
  }, scenario);
}
