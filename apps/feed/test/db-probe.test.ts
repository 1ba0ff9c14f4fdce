// The database probe's log line says why the database is unreachable, from
// the first probe on: the runbook (docs/runbooks/database-connection-failure.md)
// starts from that cause. A real pg pool against a loopback port nothing
// listens on.
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test } from "node:test";
import { freePort } from "@golive/devkit/postgres";
import { createLogger } from "@golive/shared/logger";
import { createPool, startDbProbe } from "../src/db/pool";

test("a database down from the start: the first probe logs it with the cause", async () => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  const logger = createLogger("feed", "info", sink);
  const port = await freePort();
  const pool = createPool({
    url: `postgres://feed:secret-password@127.0.0.1:${port}/feed`,
    max: 1,
    connectTimeoutMs: 1000,
    statementTimeoutMs: 1000,
    logger,
  });
  const probe = startDbProbe(pool, 50, logger);
  try {
    await probe.ready;
    assert.equal(probe.up(), false);
    const down = lines.find((l) => l.msg === "database unreachable");
    assert.ok(down, `a line for the database down: ${JSON.stringify(lines)}`);
    const err = down.err as { message: string; code: string };
    assert.equal(err.code, "ECONNREFUSED");
    assert.match(err.message, new RegExp(`ECONNREFUSED 127\\.0\\.0\\.1:${port}`));
    assert.doesNotMatch(JSON.stringify(lines), /secret-password/, "never the URL's password");
  } finally {
    probe.stop();
    await pool.end();
  }
});
