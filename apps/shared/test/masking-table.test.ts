// Every row of the masking table through the real logger: each of its field
// names in three spellings, at the top of a log object, nested three deep,
// inside an array, and written out inside strings; and the table in
// docs/operations.md is the table the code applies.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { createLogger } from "../src/logger";
import { MASKING_TABLE, type Mask, maskingTableMarkdown } from "../src/masking-table";

function capture() {
  const lines: string[] = [];
  const logger = createLogger("test", "info", { write: (s: string) => lines.push(s) });
  return { logger, lines };
}

/** A value each kind of row masks, and what the line must show instead. */
const SAMPLES: Record<Mask, { raw: string; logged: string; inText?: string }> = {
  redact: { raw: "s3cr3t-Value-9", logged: "[redacted]" },
  last4: { raw: "tok_live_5a1b2c3d4e5ff00d", logged: "****f00d" },
  email: { raw: "jane.doe@example.com", logged: "j***@example.com" },
  phone: { raw: "+1 415 555 4567", logged: "***4567", inText: "+14155554567" },
  card: { raw: "4111 1111 1111 1111", logged: "****1111", inText: "4111111111111111" },
};

const snake = (k: string) => k.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
const kebabUpper = (k: string) => k.replace(/([a-z])([A-Z])/g, "$1-$2").toUpperCase();

for (const row of MASKING_TABLE) {
  test(`masking table: ${row.covers}`, () => {
    const sample = SAMPLES[row.mask];
    for (const key of row.keys) {
      for (const name of new Set([key, snake(key), kebabUpper(key)])) {
        const { logger, lines } = capture();
        logger.info(
          {
            [name]: sample.raw,
            call: { request: { headers: { [name]: sample.raw } } },
            items: [{ [name]: sample.raw }],
          },
          "x",
        );
        const line = JSON.parse(lines[0] as string);
        assert.equal(line[name], sample.logged, `${name} at the top`);
        assert.equal(line.call.request.headers[name], sample.logged, `${name} nested`);
        assert.equal(line.items[0][name], sample.logged, `${name} in an array`);
        assert.ok(
          !(lines[0] as string).includes(sample.raw),
          `${name}: the raw value is nowhere in the line`,
        );
      }
      const inText = sample.inText ?? sample.raw;
      const { logger, lines } = capture();
      logger.info(
        { note: `retry with ${key}=${inText}&page=2`, json: `{"${snake(key)}": "${inText}"}` },
        "x",
      );
      const line = JSON.parse(lines[0] as string);
      if (row.inText === false) {
        // A word of prose (`body`) is masked by field name only.
        assert.equal(line.note, `retry with ${key}=${inText}&page=2`);
        continue;
      }
      assert.equal(line.note, `retry with ${key}=${sample.logged}&page=2`, `${key}= inside a string`);
      assert.equal(line.json, `{"${snake(key)}": "${sample.logged}"}`, `${key} as JSON inside a string`);
    }
  });
}

test("masking table: a token too short to keep 4 characters of is redacted whole", () => {
  const { logger, lines } = capture();
  logger.info({ apiKey: "abc123", note: "token=abc123" }, "x");
  const line = JSON.parse(lines[0] as string);
  assert.equal(line.apiKey, "[redacted]");
  assert.equal(line.note, "token=[redacted]");
});

test("masking table: bearer tokens, SSNs and credentials after a header name are masked inside strings", () => {
  const { logger, lines } = capture();
  logger.warn(
    { header: "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl" },
    "upstream said 401 to Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl for SSN 123-45-6789",
  );
  const line = JSON.parse(lines[0] as string);
  assert.equal(line.header, "Authorization: [redacted]");
  assert.equal(line.msg, "upstream said 401 to Bearer ****dXJl for SSN [redacted]");
});

test("masking table: objects deeper than the walk goes are replaced, not logged unmasked", () => {
  const { logger, lines } = capture();
  let deep: Record<string, unknown> = { password: "hunter2-hunter2" };
  for (let i = 0; i < 12; i += 1) deep = { next: deep };
  logger.info({ deep }, "x");
  assert.ok(!(lines[0] as string).includes("hunter2"));
  assert.match(lines[0] as string, /too deep to log/);
});

test("docs/operations.md shows the masking table the logger applies", () => {
  const doc = fs.readFileSync(path.join(__dirname, "../../../docs/operations.md"), "utf8");
  assert.ok(
    doc.includes(maskingTableMarkdown()),
    `docs/operations.md must contain the table as maskingTableMarkdown() renders it:\n${maskingTableMarkdown()}`,
  );
});
