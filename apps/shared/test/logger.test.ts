// What reaches the log stream: secrets redacted, personal data masked
// partially by key and inside free text, and ids left alone.
import assert from "node:assert/strict";
import { test } from "node:test";
import { createLogger } from "../src/logger";
import { maskText } from "../src/pii";

function capture() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger("test", "info", { write: (s: string) => lines.push(JSON.parse(s)) });
  return { logger, lines };
}

test("personal data is masked partially by key; secrets and message bodies are redacted", () => {
  const { logger, lines } = capture();
  logger.info(
    {
      user: { email: "jane.doe@example.com", phone: "+44 20 7946 0958", cardNumber: "4111 1111 1111 1111" },
      email: "not an address",
      password: "hunter2",
      body: "a private message",
    },
    "profile updated",
  );
  const line = lines[0] as Record<string, unknown>;
  assert.deepEqual(line.user, { email: "j***@example.com", phone: "***0958", cardNumber: "****1111" });
  assert.equal(line.email, "[redacted]");
  assert.equal(line.password, "[redacted]");
  assert.equal(line.body, "[redacted]");
});

test("e-mails, card numbers and phone numbers inside strings are masked, in the message and in errors", () => {
  const { logger, lines } = capture();
  logger.warn(
    {
      err: new Error("card 4111-1111-1111-1111 declined for jane@example.com"),
      note: "call +1 (415) 555-2671",
    },
    "payment for jane@example.com failed",
  );
  const line = lines[0] as {
    msg: string;
    note: string;
    err: { message: string; stack: string; type: string };
  };
  assert.equal(line.msg, "payment for j***@example.com failed");
  assert.equal(line.note, "call ***2671");
  assert.equal(line.err.message, "card ****1111 declined for j***@example.com");
  assert.equal(line.err.type, "Error");
  assert.doesNotMatch(line.err.stack, /jane@|4111-1111-1111-1111/);
});

test("ids, times and numbers that are not personal data are left alone", () => {
  const kept = [
    "request 11111111-1111-4111-8111-111111111111 took 12 ms",
    "order 1234567890123456 (fails the card checksum)",
    "at 2026-12-01T17:20:35.123Z, port 50051, 1733074835123 ms since epoch",
    "x-request-id e2e-like-1",
  ];
  for (const text of kept) assert.equal(maskText(text), text);
});

test("a secret key is redacted at any depth, and dates and other values come through as they were", () => {
  const { logger, lines } = capture();
  const at = new Date("2026-12-04T17:00:00.000Z");
  logger.info(
    { call: { request: { headers: { authorization: "Bearer abc", cookie: "s=1" } } }, at, n: 3 },
    "x",
  );
  const line = lines[0] as { call: { request: { headers: Record<string, string> } }; at: string; n: number };
  assert.deepEqual(line.call.request.headers, { authorization: "[redacted]", cookie: "[redacted]" });
  assert.equal(line.at, at.toISOString());
  assert.equal(line.n, 3);
});
