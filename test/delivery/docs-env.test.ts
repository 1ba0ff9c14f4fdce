// The env tables in the service docs are checked against the config schemas:
// every variable a service reads is documented once, with the schema's own
// default (or "required" where it has none), and nothing else is.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { feedConfigSchema } from "@golive/feed/config";
import { gatewayEnvSchema } from "@golive/gateway/config";
import type { z } from "zod";

const ROOT = path.resolve(__dirname, "../..");

/** An optional variable without a default ("unset ..." in the table). */
const UNSET = "(unset)";

/** Rows like "| `A` / `B` | `1` / `2` | what |" give A=1 and B=2; "required" has no default. */
function documented(doc: string): Map<string, string | undefined> {
  const vars = new Map<string, string | undefined>();
  for (const line of fs.readFileSync(path.join(ROOT, doc), "utf8").split("\n")) {
    const row = /^\| (`[A-Z][A-Z0-9_]*`(?: \/ `[A-Z][A-Z0-9_]*`)*) \| ([^|]+) \|/.exec(line);
    if (!row?.[1] || !row[2]) continue;
    const names = [...row[1].matchAll(/`([A-Z0-9_]+)`/g)].map((m) => m[1] as string);
    const text = row[2].trim();
    const defaults =
      text === "required"
        ? []
        : text.startsWith("unset")
          ? [UNSET]
          : [...text.matchAll(/`([^`]*)`/g)].map((m) => m[1]);
    names.forEach((name, i) => {
      assert.ok(!vars.has(name), `${doc}: ${name} twice`);
      vars.set(name, defaults[i]);
    });
  }
  return vars;
}

const cases: [doc: string, schema: z.ZodObject][] = [
  ["docs/feed.md", feedConfigSchema],
  ["docs/gateway.md", gatewayEnvSchema],
];

for (const [doc, schema] of cases) {
  test(`${doc} documents exactly the variables its service reads, with their defaults`, () => {
    const vars = documented(doc);
    assert.deepEqual([...vars.keys()].sort(), Object.keys(schema.shape).sort());
    for (const [name, shown] of vars) {
      const field = schema.shape[name] as z.ZodType;
      const parsed = field.safeParse(undefined);
      if (shown === UNSET)
        assert.ok(
          parsed.success && parsed.data === undefined,
          `${doc}: ${name} is shown as unset but is not optional`,
        );
      else if (shown === undefined)
        assert.ok(!parsed.success, `${doc}: ${name} is shown as required but has a default`);
      else assert.equal(String(parsed.data), shown, `${doc}: ${name}'s default`);
    }
  });
}
