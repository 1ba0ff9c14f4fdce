// Stripe's API for the preflight tests, two ways: a fake that plays the
// scenarios stripe-mock cannot (a declined card, a hang, a refused cancel)
// with Stripe's documented error bodies, and the real stripe-mock behind a
// recording proxy, which checks every request against Stripe's OpenAPI spec.
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { REPO_ROOT } from "../service-process";
import {
  type FakeProvider,
  type FakeResponse,
  type RecordedRequest,
  type Scenario,
  startFakeProvider,
} from "./fake-server";

const DOCS = "https://docs.stripe.com/error-codes";

/** Stripe's error envelope: HTTP status plus { error: { type, code, message, ... } }. */
function stripeError(status: number, error: Record<string, unknown>): FakeResponse {
  return { status, body: { error }, headers: { "request-id": "req_fake" } };
}

function invalidRequest(status: number, code: string, message: string, param?: string): FakeResponse {
  return stripeError(status, {
    type: "invalid_request_error",
    code,
    message,
    ...(param ? { param } : {}),
    doc_url: `${DOCS}/${code.replaceAll("_", "-")}`,
  });
}

/** Checks the bearer key the way Stripe does: missing, not a secret key, or a live key in test. */
function authError(request: RecordedRequest): FakeResponse | undefined {
  const auth = request.headers.authorization ?? "";
  const key = auth.replace(/^Bearer\s+/i, "");
  if (!key)
    return stripeError(401, {
      type: "invalid_request_error",
      message: "You did not provide an API key. Provide it in the Authorization header (Bearer auth).",
    });
  if (!/^(sk|rk)_test_\w+$/.test(key))
    return stripeError(401, {
      type: "invalid_request_error",
      message: `Invalid API Key provided: ${key.slice(0, 8)}****${key.slice(-4)}`,
    });
  return undefined;
}

function paymentIntent(id: string, form: URLSearchParams, status: string): Record<string, unknown> {
  const amount = Number(form.get("amount"));
  return {
    id,
    object: "payment_intent",
    amount,
    amount_capturable: status === "requires_capture" ? amount : 0,
    amount_received: status === "succeeded" ? amount : 0,
    capture_method: form.get("capture_method") ?? "automatic_async",
    confirmation_method: "automatic",
    created: Math.floor(Date.now() / 1000),
    currency: form.get("currency"),
    customer: form.get("customer"),
    description: form.get("description"),
    livemode: false,
    metadata: {},
    payment_method: form.get("payment_method"),
    status,
  };
}

/** The state a create leaves the intent in, as Stripe decides it from the parameters. */
function createdStatus(form: URLSearchParams): string {
  if (form.get("confirm") !== "true") return "requires_confirmation";
  return form.get("capture_method") === "manual" ? "requires_capture" : "succeeded";
}

/** Stripe's figure for USD; the adapter's table covers the rest. */
const USD_MINIMUM = 50;

function validateCreate(form: URLSearchParams): FakeResponse | undefined {
  for (const param of ["amount", "currency"])
    if (!form.get(param))
      return invalidRequest(400, "parameter_missing", `Missing required param: ${param}.`, param);
  if (!/^\d+$/.test(form.get("amount") ?? ""))
    return invalidRequest(400, "parameter_invalid_integer", "Invalid integer: amount", "amount");
  if (form.get("currency") === "usd" && Number(form.get("amount")) < USD_MINIMUM)
    return invalidRequest(400, "amount_too_small", "Amount must be at least $0.50 usd", "amount");
  if (form.get("confirm") === "true" && !form.get("payment_method"))
    return invalidRequest(
      400,
      "payment_intent_unexpected_state",
      "You cannot confirm this PaymentIntent because it's missing a payment method.",
    );
  return undefined;
}

/** The 402 Stripe answers for a declined card: a card_error naming the intent left behind. */
function declined(id: string, form: URLSearchParams): FakeResponse {
  return stripeError(402, {
    type: "card_error",
    code: "card_declined",
    decline_code: "insufficient_funds",
    message: "Your card has insufficient funds.",
    charge: "ch_fake_declined",
    doc_url: `${DOCS}/card-declined`,
    payment_intent: paymentIntent(id, form, "requires_payment_method"),
  });
}

/** A fake Stripe for the scenarios; it replays a repeated Idempotency-Key like Stripe does. */
export function startStripeFake(scenario: Scenario = "approve"): Promise<FakeProvider> {
  const intents = new Map<string, URLSearchParams>();
  const replays = new Map<string, FakeResponse>();
  let sequence = 0;

  const createIntent = (form: URLSearchParams, current: Scenario): FakeResponse => {
    const invalid = validateCreate(form);
    if (invalid) return invalid;
    sequence += 1;
    const id = `pi_fake${String(sequence).padStart(6, "0")}`;
    if (current === "decline") return declined(id, form);
    intents.set(id, form);
    return { status: 200, body: paymentIntent(id, form, createdStatus(form)) };
  };

  const cancelIntent = (id: string, current: Scenario): FakeResponse => {
    const form = intents.get(id);
    if (!form) return invalidRequest(404, "resource_missing", `No such payment_intent: '${id}'`, "intent");
    if (current === "void-fails")
      return invalidRequest(
        400,
        "payment_intent_unexpected_state",
        "You cannot cancel this PaymentIntent because it has a status of succeeded. Only a PaymentIntent with one of the following statuses may be canceled: requires_payment_method, requires_capture, requires_confirmation, requires_action, processing.",
      );
    return { status: 200, body: paymentIntent(id, form, "canceled") };
  };

  const route = (request: RecordedRequest, current: Scenario): FakeResponse | "hang" => {
    const url = new URL(request.path, "http://stripe.invalid");
    const form = new URLSearchParams(request.body);
    if (request.method === "POST" && url.pathname === "/v1/payment_intents")
      return current === "hang" ? "hang" : createIntent(form, current);
    const cancel = url.pathname.match(/^\/v1\/payment_intents\/([^/]+)\/cancel$/);
    if (request.method === "POST" && cancel?.[1]) return cancelIntent(decodeURIComponent(cancel[1]), current);
    return stripeError(404, {
      type: "invalid_request_error",
      message: `Unrecognized request URL (${request.method}: ${url.pathname}).`,
    });
  };

  return startFakeProvider((request, current) => {
    const auth = authError(request);
    if (auth) return auth;
    if (
      request.method === "POST" &&
      !request.headers["content-type"]?.startsWith("application/x-www-form-urlencoded")
    )
      return stripeError(400, {
        type: "invalid_request_error",
        message: "Invalid request: Stripe accepts form-encoded bodies (application/x-www-form-urlencoded).",
      });
    const key = request.headers["idempotency-key"];
    const replay = typeof key === "string" ? replays.get(key) : undefined;
    if (replay) return { ...replay, headers: { ...replay.headers, "idempotent-replayed": "true" } };
    const answer = route(request, current);
    if (answer !== "hang" && typeof key === "string") replays.set(key, answer);
    return answer;
  }, scenario);
}

const STRIPE_MOCK = path.join(REPO_ROOT, ".tools", "bin", "stripe-mock");

/** Starts stripe-mock on loopback ports it picks, and resolves with its HTTP base URL. */
function spawnStripeMock(): Promise<{ child: ChildProcess; url: string }> {
  // Both listeners on loopback: without -https-addr it would also bind :12112 on every interface.
  const child = spawn(STRIPE_MOCK, ["-http-addr", "127.0.0.1:0", "-https-addr", "127.0.0.1:0"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`stripe-mock did not listen within 15 s: ${output.slice(-2000)}`));
    }, 15_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const address = output.match(/Listening for HTTP at address: (127\.0\.0\.1:\d+)/);
      if (!address) return;
      clearTimeout(timer);
      resolve({ child, url: `http://${address[1]}` });
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`stripe-mock exited (${code}): ${output.slice(-2000)}`));
    });
  });
}

/**
 * stripe-mock answers every PaymentIntent call with one fixture whose status
 * is requires_payment_method. The proxy sets the status Stripe itself
 * answers at that step; the rest of the body, and all request validation,
 * is stripe-mock's.
 */
function statusAfter(method: string, pathname: string): string | undefined {
  if (method !== "POST") return undefined;
  if (pathname === "/v1/payment_intents") return "requires_capture";
  if (/^\/v1\/payment_intents\/[^/]+\/cancel$/.test(pathname)) return "canceled";
  return undefined;
}

function withStatus(body: Buffer, status: string | undefined): Buffer {
  if (!status) return body;
  const intent = JSON.parse(body.toString("utf8")) as Record<string, unknown>;
  if (intent.object !== "payment_intent") return body;
  return Buffer.from(JSON.stringify({ ...intent, status }));
}

async function forward(target: string, request: RecordedRequest): Promise<{ status: number; body: Buffer }> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers))
    if (typeof value === "string" && !["host", "connection", "content-length"].includes(name))
      headers.set(name, value);
  const res = await fetch(new URL(request.path, target), {
    method: request.method,
    headers,
    body: request.method === "GET" ? undefined : request.body,
  });
  const body = Buffer.from(await res.arrayBuffer());
  const status = res.ok ? statusAfter(request.method, new URL(request.path, target).pathname) : undefined;
  return { status: res.status, body: withStatus(body, status) };
}

/**
 * The real stripe-mock (from `npm run setup`) behind a loopback proxy that
 * records each request like the fakes do. Only the approve path: stripe-mock
 * cannot decline or hang.
 */
export async function startStripeMock(): Promise<FakeProvider> {
  const { child, url: target } = await spawnStripeMock();
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const proxy = await startFakeProvider(async (request) => {
    try {
      return { ...(await forward(target, request)), contentType: "application/json" };
    } catch (err) {
      return { status: 502, contentType: "text/plain", body: `proxy: ${(err as Error).message}` };
    }
  });
  return {
    ...proxy,
    async close() {
      await proxy.close();
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      await exited;
    },
  };
}
