// The backup CronJob's exact command (apps/jobs/src/backup.sh) against a real
// PostgreSQL with the real schema: dump, restore into an empty database with
// restore.sh, and prove every table came back row for row.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { startTestPostgres, type TestPostgres } from "@golive/devkit/postgres";
import { seedDatabase } from "@golive/devkit/seed-data";
import { runMigrations } from "@golive/feed/migrate";
import { Pool } from "pg";

const BACKUP = path.resolve(__dirname, "../src/backup.sh");
const RESTORE = path.resolve(__dirname, "../src/restore.sh");
// pg_dump must match the server's major version: use the test server's own bin.
const PG_BIN = "/usr/lib/postgresql/15/bin";
const env = (extra: Record<string, string>) => ({
  PATH: `${PG_BIN}:${process.env.PATH ?? ""}`,
  ...extra,
});

let pg: TestPostgres;
let sourceUrl: string;
let backupDir: string;

/** Row count and an order-independent checksum of every row of every table. */
async function fingerprint(url: string): Promise<Map<string, { rows: number; md5: string }>> {
  const pool = new Pool({ connectionString: url, max: 1 });
  try {
    const tables = await pool.query<{ name: string }>(
      `select format('%I.%I', table_schema, table_name) as name from information_schema.tables
       where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')
       order by 1`,
    );
    const result = new Map<string, { rows: number; md5: string }>();
    for (const { name } of tables.rows) {
      const { rows } = await pool.query<{ rows: string; md5: string }>(
        `select count(*) as rows, md5(coalesce(string_agg(t::text, E'\\n' order by t::text), '')) as md5
         from ${name} t`,
      );
      result.set(name, { rows: Number(rows[0]?.rows), md5: rows[0]?.md5 ?? "" });
    }
    return result;
  } finally {
    await pool.end();
  }
}

function runBackup(extra: Record<string, string> = {}) {
  return spawnSync("bash", [BACKUP], {
    env: env({ DATABASE_URL: sourceUrl, BACKUP_DIR: backupDir, BACKUP_KEEP: "2", ...extra }),
    encoding: "utf8",
  });
}

const dumps = () =>
  fs
    .readdirSync(backupDir)
    .filter((f) => f.endsWith(".dump"))
    .sort();

before(async () => {
  pg = await startTestPostgres();
  sourceUrl = pg.database("feed");
  await runMigrations(sourceUrl);
  const pool = new Pool({ connectionString: sourceUrl, max: 2 });
  try {
    await seedDatabase(pool, { users: 2000, videos: 8000, likes: 60000 }, 7);
    // The tables the seed leaves empty, filled from what it wrote.
    await pool.query(`insert into user_activity (user_id, kind, retention_date)
      select id, (array['view','like','share'])[1 + (g % 3)], current_date + (g % 400)
      from users, generate_series(1, 20) g`);
    await pool.query(`insert into messages (sender_id, recipient_id, body)
      select u.id, v.author_id, 'hello ' || g from users u
      join lateral (select author_id from videos order by id limit 5) v on true, generate_series(1, 2) g`);
    await pool.query("insert into like_events (video_id) select id from videos order by id limit 3000");
    await pool.query("update users set deleted_at = now() - interval '40 days' where handle like '%1'");
  } finally {
    await pool.end();
  }
  backupDir = fs.mkdtempSync(path.join(os.tmpdir(), "golive-backup-"));
});

after(() => {
  pg?.destroy();
  if (backupDir) fs.rmSync(backupDir, { recursive: true, force: true });
});

test("the backup command writes one readable custom-format dump and logs JSON without the password", (t) => {
  const run = runBackup();
  assert.equal(run.status, 0, run.stderr);
  const lines = run.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const written = lines.find((l) => l.msg === "backup written");
  assert.ok(written, run.stdout);
  assert.ok(Number(written.bytes) > 0);
  t.diagnostic(`dump took ${written.durationMs} ms for ${written.bytes} bytes`);
  assert.deepEqual(dumps(), [written.file]);
  assert.ok(!run.stdout.includes(sourceUrl), "the connection string must not be logged");
  // Custom format: pg_restore reads the table of contents back.
  const toc = execFileSync(
    path.join(PG_BIN, "pg_restore"),
    ["--list", path.join(backupDir, dumps()[0] ?? "")],
    {
      encoding: "utf8",
    },
  );
  assert.match(toc, /TABLE DATA public users/);
});

test("restoring the dump into an empty database reproduces every table's rows and checksum", async (t) => {
  const [latest] = dumps().slice(-1);
  assert.ok(latest);
  const file = path.join(backupDir, latest);
  const targetUrl = pg.database("restored");
  const started = process.hrtime.bigint();
  execFileSync("bash", [RESTORE, file], { env: env({ RESTORE_DATABASE_URL: targetUrl }), stdio: "pipe" });
  const restoreMs = Number(process.hrtime.bigint() - started) / 1e6;

  const [source, restored] = await Promise.all([fingerprint(sourceUrl), fingerprint(targetUrl)]);
  assert.deepEqual([...restored.keys()], [...source.keys()]);
  for (const table of ["public.users", "public.videos", "public.likes", "public.user_activity"]) {
    assert.ok((source.get(table)?.rows ?? 0) > 0, `${table} was seeded`);
  }
  assert.deepEqual(restored, source);

  const totalRows = [...source.values()].reduce((sum, v) => sum + v.rows, 0);
  const bytes = fs.statSync(file).size;
  const summary = [...source].map(([name, v]) => `${name}=${v.rows}`).join(" ");
  t.diagnostic(`backup round trip: ${totalRows} rows in ${source.size} tables (${summary})`);
  t.diagnostic(`dump size ${(bytes / 1024 / 1024).toFixed(2)} MiB; restore ${restoreMs.toFixed(0)} ms`);
  console.log(`backup round trip: rows=${totalRows} dumpBytes=${bytes} restoreMs=${restoreMs.toFixed(0)}`);
});

test("the restore refuses to half-apply: a non-empty target fails and keeps its data", async () => {
  const [latest] = dumps().slice(-1);
  const targetUrl = pg.database("restored"); // already restored once: objects exist
  const run = spawnSync("bash", [RESTORE, path.join(backupDir, latest ?? "")], {
    env: env({ RESTORE_DATABASE_URL: targetUrl }),
    encoding: "utf8",
  });
  assert.notEqual(run.status, 0);
  const pool = new Pool({ connectionString: targetUrl, max: 1 });
  try {
    const { rows } = await pool.query<{ n: string }>("select count(*) as n from users");
    assert.equal(Number(rows[0]?.n), 2000);
  } finally {
    await pool.end();
  }
});

test("retention keeps the BACKUP_KEEP newest dumps and deletes the older ones", () => {
  const before = dumps();
  for (let i = 0; i < 3; i++) assert.equal(runBackup().status, 0);
  const now = dumps();
  assert.equal(now.length, 2);
  // Every remaining dump is newer than every dump that existed before.
  for (const old of before) assert.ok(!now.includes(old));
  assert.ok(fs.readdirSync(backupDir).every((f) => !f.endsWith(".partial")));
});

test("a failed dump leaves no partial file and exits non-zero", () => {
  const run = runBackup({ DATABASE_URL: `postgres://postgres@127.0.0.1:${pg.port}/no_such_db` });
  assert.notEqual(run.status, 0);
  assert.match(run.stdout, /"level":"error".*pg_dump failed/);
  assert.ok(fs.readdirSync(backupDir).every((f) => !f.includes(".partial")));
  assert.equal(dumps().length, 2);
});

test("bad settings are refused before anything runs", () => {
  const run = runBackup({ BACKUP_KEEP: "0" });
  assert.notEqual(run.status, 0);
  assert.match(run.stdout, /BACKUP_KEEP must be an integer/);
});

test("a database with no tables yet (before the first migration) is backed up, not reported unreadable", (t) => {
  const emptyUrl = pg.database("fresh_empty");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "golive-backup-empty-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const run = spawnSync("bash", [BACKUP], {
    env: env({ DATABASE_URL: emptyUrl, BACKUP_DIR: dir }),
    encoding: "utf8",
  });
  assert.equal(run.status, 0, `${run.stdout}${run.stderr}`);
  const written = run.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((l) => l.msg === "backup written");
  assert.equal(written?.tocEntries, 0);
});
