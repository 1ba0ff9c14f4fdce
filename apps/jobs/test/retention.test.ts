// The retention job against a real PostgreSQL with the real migrations: what
// is due goes, what is not stays, a run cut short is finished by the next one,
// and running again changes nothing.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { after, before, test } from "node:test";
import { startTestPostgres, type TestPostgres } from "@golive/devkit/postgres";
import { runMigrations } from "@golive/feed/migrate";
import { createLogger } from "@golive/shared/logger";
import { Pool } from "pg";
import { type RetentionOptions, runRetention } from "../src/retention";

const NOW = new Date("2026-06-15T12:00:00Z");
const DAY = 86_400_000;
const DUE_USERS = 45;
const DUE_ACTIVITY_PER_KEPT_USER = 1200;
const silent = createLogger("retention-test", "silent");

let pg: TestPostgres;
let url: string;
let pool: Pool;

const ids = {
  keeper: "00000000-0000-4000-8000-000000000001",
  recentlyDeleted: "00000000-0000-4000-8000-000000000002",
  almostDue: "00000000-0000-4000-8000-000000000003",
  keeperVideo: "00000000-0000-4000-8000-0000000000a1",
};

async function count(sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(sql, params);
  return Number(rows[0]?.n);
}

async function seed(db: Pool): Promise<void> {
  const at = (daysAgo: number) => new Date(NOW.getTime() - daysAgo * DAY);
  await db.query(
    "insert into users (id, handle, email, deleted_at) values ($1,'keeper','k@example.test',null)",
    [ids.keeper],
  );
  // Soft-deleted, but inside the 30-day undo window: must survive.
  await db.query(
    "insert into users (id, handle, email, deleted_at) values ($1,'recent','r@example.test',$2)",
    [ids.recentlyDeleted, at(10)],
  );
  await db.query(
    "insert into users (id, handle, email, deleted_at) values ($1,'almost','a@example.test',$2)",
    [ids.almostDue, new Date(NOW.getTime() - 30 * DAY + 60_000)],
  );
  await db.query(
    "insert into videos (id, author_id, title, url, like_count) values ($1,$2,'kept','https://v/1',0)",
    [ids.keeperVideo, ids.keeper],
  );
  // Users soft-deleted 31 to 75 days ago: due. Each authored a video, liked
  // the keeper's video, messaged the keeper and has activity of its own.
  await db.query(
    `insert into users (id, handle, email, deleted_at)
     select gen_random_uuid(), 'gone' || g, 'gone' || g || '@example.test', $1::timestamptz - g * interval '1 day'
     from generate_series(31, 30 + $2) g`,
    [NOW, DUE_USERS],
  );
  await db.query(`insert into videos (author_id, title, url)
    select id, 'theirs', 'https://v/' || id from users where handle like 'gone%'`);
  await db.query(
    `insert into likes (user_id, video_id) select id, $1 from users where handle like 'gone%' or handle = 'recent'`,
    [ids.keeperVideo],
  );
  await db.query("update videos set like_count = $2 where id = $1", [ids.keeperVideo, DUE_USERS + 1]);
  await db.query(
    `insert into messages (sender_id, recipient_id, body) select id, $1, 'bye' from users where handle like 'gone%'`,
    [ids.keeper],
  );
  await db.query(`insert into user_activity (user_id, kind, retention_date)
    select id, 'view', date '2027-01-01' from users where handle like 'gone%'`);
  // Activity of users who stay: due (yesterday and before), and not yet due
  // (today, tomorrow): a row is kept through its retention date.
  await db.query(
    `insert into user_activity (user_id, kind, retention_date)
     select u, 'view', date '2026-06-14' - (g % 90) from unnest($1::uuid[]) u, generate_series(1, $2) g`,
    [[ids.keeper, ids.recentlyDeleted], DUE_ACTIVITY_PER_KEPT_USER],
  );
  await db.query(
    `insert into user_activity (user_id, kind, retention_date)
     select $1, 'view', d from unnest(array[date '2026-06-15', date '2026-06-16', date '2026-09-01']) d`,
    [ids.keeper],
  );
}

const options = (extra: Partial<RetentionOptions> = {}): RetentionOptions => ({
  retentionDays: 30,
  activityBatch: 400,
  userBatch: 10,
  maxBatches: 10_000,
  now: NOW,
  ...extra,
});

before(async () => {
  pg = await startTestPostgres();
  url = pg.database("feed");
  await runMigrations(url);
  pool = new Pool({ connectionString: url, max: 4 });
  await seed(pool);
});

after(async () => {
  await pool?.end();
  pg?.destroy();
});

test("a run stopped at max batches deletes only due rows, and a rerun finishes the job", async () => {
  const partial = await runRetention(pool, options({ maxBatches: 3 }), silent);
  assert.equal(partial.complete, false);
  assert.equal(partial.batches, 3);
  assert.equal(partial.usersDeleted, 30, "three user batches of ten");
  assert.equal(await count("select count(*) as n from users where handle like 'gone%'"), DUE_USERS - 30);

  const rest = await runRetention(pool, options(), silent);
  assert.equal(rest.complete, true);
  assert.equal(partial.usersDeleted + rest.usersDeleted, DUE_USERS);
  assert.equal(rest.activityDeleted, 2 * DUE_ACTIVITY_PER_KEPT_USER);

  // Everything that belonged to the hard-deleted users is gone.
  assert.equal(await count("select count(*) as n from users where handle like 'gone%'"), 0);
  assert.equal(await count("select count(*) as n from videos where title = 'theirs'"), 0);
  assert.equal(await count("select count(*) as n from messages"), 0);
  // Not due: the undo window and the activity kept through its date.
  assert.equal(
    await count("select count(*) as n from users where id = any($1::uuid[])", [
      [ids.keeper, ids.recentlyDeleted, ids.almostDue],
    ]),
    3,
  );
  assert.equal(
    await count("select count(*) as n from user_activity where retention_date >= date '2026-06-15'"),
    3,
  );
  assert.equal(
    await count("select count(*) as n from user_activity where retention_date < date '2026-06-15'"),
    0,
  );
  // The deleted users' likes came off the surviving video's counter; the
  // recently deleted user's like stays until that user is due.
  assert.equal(await count("select like_count as n from videos where id = $1", [ids.keeperVideo]), 1);
  assert.equal(await count("select count(*) as n from likes"), 1);
});

test("running again when nothing is due changes nothing", async () => {
  const before = await count(
    "select (select count(*) from users) + (select count(*) from user_activity) as n",
  );
  const again = await runRetention(pool, options(), silent);
  assert.deepEqual(again, { activityDeleted: 0, usersDeleted: 0, batches: 2, complete: true });
  assert.equal(
    await count("select (select count(*) from users) + (select count(*) from user_activity) as n"),
    before,
  );
});

test("two runs at once share the work without deleting anything twice or deadlocking", async () => {
  const db = pg.database("concurrent");
  await runMigrations(db);
  const other = new Pool({ connectionString: db, max: 4 });
  try {
    await seed(other);
    const [a, b] = await Promise.all([
      runRetention(other, options(), silent),
      runRetention(other, options(), silent),
    ]);
    assert.ok(a.complete && b.complete);
    assert.equal(a.usersDeleted + b.usersDeleted, DUE_USERS);
    assert.equal(a.activityDeleted + b.activityDeleted, 2 * DUE_ACTIVITY_PER_KEPT_USER);
  } finally {
    await other.end();
  }
});

test("the job entry point logs JSON lines and fails fast naming a bad variable", () => {
  const entry = path.resolve(__dirname, "../src/retention.ts");
  // The test server trusts loopback, so the password is ignored by it but
  // still has to be kept out of the logs.
  const withPassword = url.replace("postgres@", "postgres:hunter2-secret@");
  const ok = spawnSync(process.execPath, ["--import", "tsx", entry], {
    env: { PATH: process.env.PATH, DATABASE_URL: withPassword, RETENTION_DAYS: "30" },
    encoding: "utf8",
    timeout: 30_000,
  });
  assert.equal(ok.status, 0, ok.stderr);
  const lines = ok.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const done = lines.find((l) => l.msg === "retention complete");
  assert.equal(done?.service, "retention");
  assert.ok(!ok.stdout.includes("hunter2-secret"), "the password is masked");

  const bad = spawnSync(process.execPath, ["--import", "tsx", entry], {
    env: { PATH: process.env.PATH, DATABASE_URL: url, RETENTION_DAYS: "-1" },
    encoding: "utf8",
    timeout: 30_000,
  });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /RETENTION_DAYS/);
});
