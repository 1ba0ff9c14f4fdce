// Every entry point fails the same way: exit 2 and one line naming the
// variable for a bad configuration, exit 1 for an unhandled rejection.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { test } from "node:test";
import { EXIT } from "../src/run-main";

const ROOT = path.resolve(__dirname, "../../..");
const run = (entry: string, env: Record<string, string>) =>
  spawnSync(process.execPath, ["--import", "tsx", entry], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", ...env },
    encoding: "utf8",
    timeout: 30_000,
  });

const ENTRIES: Array<[entry: string, env: Record<string, string>, variable: string]> = [
  ["apps/feed/src/main.ts", {}, "DATABASE_URL"],
  ["apps/gateway/src/main.ts", { FEED_DEADLINE_MS: "soon" }, "FEED_DEADLINE_MS"],
  [
    "apps/jobs/src/retention.ts",
    { DATABASE_URL: "postgres://x@127.0.0.1/db", RETENTION_DAYS: "-1" },
    "RETENTION_DAYS",
  ],
  ["apps/feed/src/migrate.ts", {}, "DATABASE_URL"],
  ["apps/feed/src/db-roles.ts", {}, "DATABASE_URL"],
];

for (const [entry, env, variable] of ENTRIES) {
  test(`${entry}: a bad configuration exits ${EXIT.badConfig} with one line naming ${variable}`, () => {
    const result = run(entry, env);
    assert.equal(result.status, EXIT.badConfig, result.stderr);
    assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
    assert.match(result.stderr, new RegExp(variable));
    assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
  });
}

test("an unhandled rejection is logged and fatal (exit 1)", () => {
  const result = run("apps/shared/test/fixtures/rejects.ts", {});
  assert.equal(result.status, EXIT.failed);
  assert.match(result.stderr, /^rejects: unhandled rejection: nobody handles this$/m);
});
