// Walks every field of every RPC request schema: a string field that accepts
// some value must refuse that value with a NUL in it, because Postgres text
// cannot hold NUL and the INSERT would fail as INTERNAL instead.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import type { z } from "zod";
import { requestSchemas } from "../src/validation";

/** Values of the shapes the fields take; a field accepting none of them holds no text. */
const samples = () => ["key", randomUUID(), new Date(Date.now() - 1000).toISOString(), "MjAyNg"];

test("every text field of every request refuses a NUL character", () => {
  const checked: string[] = [];
  for (const [method, schema] of Object.entries(requestSchemas)) {
    for (const [field, fieldSchema] of Object.entries((schema as z.ZodObject).shape)) {
      const accepted = samples().filter((s) => (fieldSchema as z.ZodType).safeParse(s).success);
      for (const value of accepted) {
        for (const withNul of [
          `${value}\u0000`,
          `\u0000${value}`,
          `${value.slice(0, 1)}\u0000${value.slice(1)}`,
        ]) {
          assert.equal(
            (fieldSchema as z.ZodType).safeParse(withNul).success,
            false,
            `${method}.${field} accepts ${JSON.stringify(withNul)}`,
          );
        }
      }
      if (accepted.length > 0) checked.push(`${method}.${field}`);
    }
  }
  // The walk found the fields that matter (a renamed schema must not make it vacuous).
  for (const field of [
    "likeVideo.idempotency_key",
    "sendMessage.body",
    "getFeed.cursor",
    "getFeed.user_id",
  ]) {
    assert.ok(checked.includes(field), `${field} was not walked: ${checked.join(", ")}`);
  }
});
