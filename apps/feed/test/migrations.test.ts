// Migrations: apply to an empty database, re-apply as a no-op, and show no
// drift between the drizzle schema and the committed migration snapshot.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { runProcess } from "@golive/devkit/feed-process";
import { startTestPostgres, type TestPostgres } from "@golive/devkit/postgres";
import { REPO_ROOT } from "@golive/devkit/service-process";
import { Client } from "pg";
import { MIGRATIONS_FOLDER, runMigrations } from "../src/migrate";

let pg: TestPostgres;
const DRIZZLE_KIT = path.join(REPO_ROOT, "node_modules/drizzle-kit/bin.cjs");
const SCHEMA = path.join(REPO_ROOT, "apps/feed/src/db/schema.ts");

before(async () => {
  pg = await startTestPostgres();
});
after(() => pg?.destroy());

async function inspect(url: string) {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const tables = await client.query<{ t: string }>(
      "select table_name as t from information_schema.tables where table_schema = 'public' order by 1",
    );
    const applied = await client.query<{ n: number }>(
      "select count(*)::int as n from drizzle.__drizzle_migrations",
    );
    return { tables: tables.rows.map((r) => r.t), applied: applied.rows[0]?.n };
  } finally {
    await client.end();
  }
}

test("migrations apply to an empty database and re-applying changes nothing", async () => {
  const url = pg.database("feed_migrate");
  await runMigrations(url);
  const first = await inspect(url);
  assert.deepEqual(first.tables, ["like_events", "likes", "messages", "user_activity", "users", "videos"]);
  const journal = JSON.parse(fs.readFileSync(path.join(MIGRATIONS_FOLDER, "meta/_journal.json"), "utf8"));
  assert.equal(first.applied, journal.entries.length);

  await runMigrations(url);
  // The command-line entry the Kubernetes Job runs is idempotent too.
  const cli = await runProcess(["--import", "tsx", "apps/feed/src/migrate.ts"], { DATABASE_URL: url });
  assert.equal(cli.code, 0, cli.output);
  assert.deepEqual(await inspect(url), first);
});

test("drizzle-kit check passes on the committed migrations", async () => {
  const { code, output } = await runProcess([DRIZZLE_KIT, "check"], {});
  assert.equal(code, 0, output);
  assert.match(output, /Everything's fine/);
});

test("drizzle-kit generate against the committed snapshot finds no schema drift", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "feed-drift-"));
  try {
    fs.cpSync(MIGRATIONS_FOLDER, path.join(dir, "out"), { recursive: true });
    const args = [DRIZZLE_KIT, "generate", "--dialect", "postgresql", "--schema", SCHEMA, "--out", "out"];
    const { code, output } = await runProcess(args, {}, { cwd: dir });
    assert.equal(code, 0, output);
    assert.match(output, /No schema changes, nothing to migrate/);
    assert.deepEqual(fs.readdirSync(path.join(dir, "out")).sort(), fs.readdirSync(MIGRATIONS_FOLDER).sort());

    // The same command does notice a schema it has no snapshot for, so the check above can fail.
    const empty = await runProcess([...args.slice(0, -1), "fresh"], {}, { cwd: dir });
    assert.equal(empty.code, 0, empty.output);
    assert.ok(fs.readdirSync(path.join(dir, "fresh")).some((f) => f.endsWith(".sql")));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
