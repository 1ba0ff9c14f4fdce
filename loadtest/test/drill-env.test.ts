// The drill's variables are named once (loadtest/drill-env.ts): drill.js reads
// exactly those, and the callers type what they set against them.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { DRILL_ENV } from "../drill-env";

const DRILL_JS = path.resolve(__dirname, "..", "drill.js");

test("drill.js reads exactly the variables loadtest/drill-env.ts names", () => {
  const read = new Set(
    [...fs.readFileSync(DRILL_JS, "utf8").matchAll(/__ENV\.([A-Z0-9_]+)/g)].map((m) => m[1]),
  );
  assert.deepEqual([...read].sort(), Object.keys(DRILL_ENV).sort());
});
