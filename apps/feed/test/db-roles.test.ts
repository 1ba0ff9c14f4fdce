// The in-cluster database roles and the zero-downtime password rotation, on a
// real PostgreSQL that checks SCRAM passwords on TCP: the db-roles and migrate
// entries run as the migrations Job runs them, the feed runs as real
// processes, and a rotation switches the login role under gRPC traffic.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import {
  call,
  type FeedProcess,
  feedClient,
  runProcess,
  startFeedProcess,
} from "@golive/devkit/feed-process";
import { freePort, startTestPostgres, type TestPostgres } from "@golive/devkit/postgres";
import { type SeedResult, seedDatabase } from "@golive/devkit/seed-data";
import type { GetFeedResponse, LikeVideoResponse } from "@golive/proto/loader";
import { Client, Pool } from "pg";
import { APP_ROLE, LOGIN_ROLES, OWNER_ROLE } from "../src/db-roles";

// Passwords with the characters that break naive quoting.
const ADMIN_PASSWORD = `adm'in"pw$(id)\\-0123456789`;
const PW = {
  a1: "a1-Qx7'Lm\"9$(touch /tmp/x)-pw",
  b1: "b1-Zk3TuV8wR2yN5pL0sH4jD6fG",
  b2: "b2-Hn8Wc4Rt6Yp2Ks9Lm3Qd7Vb1",
  a2: "a2-Pf5Gj8Lw2Xz6Cv9Bn3Mq7Rt4",
};
const JOBS_BIN = path.resolve(__dirname, "../../jobs/src");
const PG_BIN = "/usr/lib/postgresql/15/bin";

let pg: TestPostgres;
let adminUrl: string;
const started: FeedProcess[] = [];

const loginUrl = (role: string, password: string, db = "feed") =>
  `postgres://${role}:${encodeURIComponent(password)}@127.0.0.1:${pg.port}/${db}`;

/** Runs the db-roles entry exactly as the migrations Job's first container does. */
async function applyRoles(active: string, a: string, b: string, graceMinutes = 60) {
  const run = await runProcess(["--import", "tsx", "apps/feed/src/db-roles.ts"], {
    DATABASE_URL: adminUrl,
    FEED_LOGIN_ACTIVE: active,
    FEED_A_PASSWORD: a,
    FEED_B_PASSWORD: b,
    FEED_LOGIN_GRACE_MINUTES: String(graceMinutes),
  });
  assert.equal(run.code, 0, run.output);
  const line = run.output
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((l) => l.msg === "database roles applied");
  assert.ok(line, run.output);
  for (const secret of [ADMIN_PASSWORD, a, b])
    assert.ok(!run.output.includes(secret), "a password was logged");
  return line as { active: string; created: string[]; inactiveValidUntil: string };
}

/** Resolves with the login error's message, or "ok" when the login works. */
async function tryLogin(url: string): Promise<string> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    await client.query("select 1");
    return "ok";
  } catch (err) {
    return (err as Error).message;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function adminQuery<R extends Record<string, unknown>>(sql: string, params: unknown[] = []) {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

const validUntil = async (role: string) =>
  (
    await adminQuery<{ v: string | null }>(
      "select rolvaliduntil::text as v from pg_roles where rolname = $1",
      [role],
    )
  )[0]?.v;

before(async () => {
  pg = await startTestPostgres({ superuserPassword: ADMIN_PASSWORD });
  adminUrl = pg.database("feed");
  // Log every statement, so a password sent in one would show up in the log.
  await adminQuery("alter system set log_statement = 'all'");
  await adminQuery("select pg_reload_conf()");
});

after(() => {
  for (const p of started) if (p.child.exitCode === null) p.child.kill("SIGKILL");
  pg?.destroy();
});

test("the db-roles entry rejects bad settings with one line naming the variable, and echoes no password", async () => {
  const run = await runProcess(["--import", "tsx", "apps/feed/src/db-roles.ts"], {
    DATABASE_URL: adminUrl,
    FEED_LOGIN_ACTIVE: "feed_c",
    FEED_A_PASSWORD: "short",
    FEED_B_PASSWORD: PW.b1,
  });
  assert.notEqual(run.code, 0);
  assert.match(run.output, /FEED_LOGIN_ACTIVE: must be one of feed_a, feed_b/);
  assert.match(run.output, /FEED_A_PASSWORD: must be at least 16 characters/);
  assert.equal(run.output.trim().split("\n").length, 1, run.output);
  assert.ok(!run.output.includes(PW.b1) && !run.output.includes(ADMIN_PASSWORD));
});

describe("roles, grants and a rotation on a real server", () => {
  let seeded: SeedResult;

  test("the first run creates the four roles; migrations run as feed_owner, which owns every table", async () => {
    const report = await applyRoles("feed_a", PW.a1, PW.b1);
    assert.deepEqual(report.created.sort(), [APP_ROLE, ...LOGIN_ROLES, OWNER_ROLE].sort());
    const migrate = await runProcess(["--import", "tsx", "apps/feed/src/migrate.ts"], {
      DATABASE_URL: adminUrl,
      MIGRATIONS_ROLE: OWNER_ROLE,
    });
    assert.equal(migrate.code, 0, migrate.output);
    const owners = await adminQuery<{ t: string; owner: string }>(
      `select schemaname || '.' || tablename as t, tableowner as owner from pg_tables
        where schemaname in ('public', 'drizzle') order by 1`,
    );
    assert.ok(owners.length >= 7, JSON.stringify(owners));
    for (const { t, owner } of owners) assert.equal(owner, OWNER_ROLE, t);
    const roles = await adminQuery<{ rolname: string; rolsuper: boolean; rolcanlogin: boolean }>(
      "select rolname, rolsuper, rolcanlogin from pg_roles where rolname like 'feed%' order by 1",
    );
    assert.deepEqual(
      roles.map((r) => [r.rolname, r.rolsuper, r.rolcanlogin]),
      [
        ["feed_a", false, true],
        ["feed_app", false, false],
        ["feed_b", false, true],
        ["feed_owner", false, false],
      ],
    );
  });

  test("the login role reads and writes rows, and cannot change the schema or its own role", async () => {
    const pool = new Pool({ connectionString: loginUrl("feed_a", PW.a1), max: 2 });
    try {
      seeded = await seedDatabase(pool, { users: 20, videos: 60, likes: 40 });
      await pool.query("update users set handle = handle where id = $1", [seeded.userIds[0]]);
      await pool.query("delete from likes where video_id = $1", [seeded.videoIds[0]]);
      await pool.query("select count(*) from drizzle.__drizzle_migrations");
      const denied = async (sql: string, pattern: RegExp) =>
        assert.rejects(pool.query(sql), pattern, `${sql} should be denied`);
      await denied("drop table videos", /must be owner of table videos/);
      await denied("create table public.sneaky (id int)", /permission denied for schema public/);
      await denied("alter table videos add column x int", /must be owner of table videos/);
      await denied(
        "insert into drizzle.__drizzle_migrations (hash, created_at) values ('x', 0)",
        /permission denied/,
      );
      await denied("alter role feed_a superuser", /must be superuser/);
      await denied("create database other", /permission denied/);
    } finally {
      await pool.end();
    }
  });

  test("a wrong password is refused (the server checks SCRAM on TCP)", async () => {
    assert.match(
      await tryLogin(loginUrl("feed_a", PW.b1)),
      /password authentication failed for user "feed_a"/,
    );
    assert.equal(await tryLogin(loginUrl("feed_b", PW.b1)), "ok");
  });

  test("switching to feed_b under gRPC traffic while the feed rolls: no failed call, no database restart", async () => {
    const startedAt = (await adminQuery<{ t: string }>("select pg_postmaster_start_time()::text as t"))[0]?.t;
    const startFeed = async (role: string, password: string) => {
      const p = await startFeedProcess(
        { DATABASE_URL: loginUrl(role, password), DB_POOL_MAX: "4", SHUTDOWN_GRACE_MS: "5000" },
        { grpc: await freePort(), ops: await freePort() },
      );
      started.push(p);
      return p;
    };
    const oldPod = await startFeed("feed_a", PW.a1);

    // Traffic: GetFeed and LikeVideo back to back, sent to whichever replica
    // the "Service" currently points at, until stopped.
    let target = { name: "old", client: feedClient(oldPod.grpcPort) };
    const served = new Map<string, number>();
    const failures: string[] = [];
    let running = true;
    let n = 0;
    const traffic = (async () => {
      while (running) {
        const { name, client } = target;
        const user = seeded.userIds[n % seeded.userIds.length];
        const video = seeded.videoIds[(n * 7) % seeded.videoIds.length];
        n++;
        try {
          await call<object, GetFeedResponse>(
            client,
            "GetFeed",
            { userId: user, pageSize: 5 },
            { deadlineMs: 3_000 },
          );
          await call<object, LikeVideoResponse>(
            client,
            "LikeVideo",
            { userId: user, videoId: video },
            { deadlineMs: 3_000 },
          );
          served.set(name, (served.get(name) ?? 0) + 2);
        } catch (err) {
          failures.push(`${name}: ${(err as Error).message}`);
        }
      }
    })();
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
    await pause(1_000);

    // The deploy: the Job sets feed_b's new password and makes it active ...
    const report = await applyRoles("feed_b", PW.a1, PW.b2);
    assert.equal(report.active, "feed_b");
    assert.ok(Date.parse(report.inactiveValidUntil) > Date.now() + 55 * 60_000, report.inactiveValidUntil);
    // ... the old replica can still open connections with its old URL ...
    assert.equal(await tryLogin(loginUrl("feed_a", PW.a1)), "ok");
    assert.match(await tryLogin(loginUrl("feed_b", PW.b1)), /password authentication failed/);
    // ... a new replica starts with the new URL, takes the traffic, and the old one drains.
    const newPod = await startFeed("feed_b", PW.b2);
    await pause(500);
    target = { name: "new", client: feedClient(newPod.grpcPort) };
    await pause(300);
    oldPod.child.kill("SIGTERM");
    assert.equal(await oldPod.exited, 0, oldPod.output());
    await pause(1_000);
    running = false;
    await traffic;

    assert.deepEqual(failures, [], "calls failed during the rotation");
    assert.ok((served.get("old") ?? 0) >= 20 && (served.get("new") ?? 0) >= 20, JSON.stringify([...served]));
    const sessions = await adminQuery<{ usename: string }>(
      "select distinct usename from pg_stat_activity where datname = 'feed' and usename like 'feed_%'",
    );
    assert.deepEqual(
      sessions.map((s) => s.usename),
      ["feed_b"],
    );
    const restartedAt = (await adminQuery<{ t: string }>("select pg_postmaster_start_time()::text as t"))[0]
      ?.t;
    assert.equal(restartedAt, startedAt, "PostgreSQL was restarted");
    newPod.child.kill("SIGTERM");
    await newPod.exited;
    // What was measured, for the docs and the closing note.
    process.stdout.write(
      `# rotation under traffic: ${JSON.stringify(Object.fromEntries(served))} calls served, 0 failed\n`,
    );
  });

  test("a rerun with the same settings converges and does not extend the old role's deadline", async () => {
    const before = await validUntil("feed_a");
    const report = await applyRoles("feed_b", PW.a1, PW.b2);
    assert.deepEqual(report.created, []);
    assert.equal(await validUntil("feed_a"), before);
    assert.equal(await validUntil("feed_b"), "infinity");
    assert.equal(await tryLogin(loginUrl("feed_b", PW.b2)), "ok");
  });

  test("once the grace period is over the old login is refused, but its open sessions are not cut", async () => {
    const held = new Client({ connectionString: loginUrl("feed_b", PW.b2) });
    await held.connect();
    try {
      // The next rotation switches back to feed_a with a new password; grace 0.
      await applyRoles("feed_a", PW.a2, PW.b2, 0);
      assert.match(await tryLogin(loginUrl("feed_b", PW.b2)), /password authentication failed/);
      assert.match(await tryLogin(loginUrl("feed_a", PW.a1)), /password authentication failed/);
      assert.equal(await tryLogin(loginUrl("feed_a", PW.a2)), "ok");
      const { rows } = await held.query<{ n: string }>("select count(*) as n from videos");
      assert.ok(Number(rows[0]?.n) >= 60, "the session opened before the switch still works");
    } finally {
      await held.end();
    }
  });

  test("the backup Job's pg_dump as the login role reads every table; a restore as the superuser keeps owners and grants", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "golive-roles-backup-"));
    try {
      const env = { PATH: `${PG_BIN}:${process.env.PATH ?? ""}`, BACKUP_DIR: dir, BACKUP_KEEP: "1" };
      const backup = spawnSync("bash", [path.join(JOBS_BIN, "backup.sh")], {
        env: { ...env, DATABASE_URL: loginUrl("feed_a", PW.a2) },
        encoding: "utf8",
      });
      assert.equal(backup.status, 0, backup.stderr);
      const dump = fs.readdirSync(dir).find((f) => f.endsWith(".dump"));
      assert.ok(dump);
      pg.database("feed_restore");
      const restore = spawnSync("bash", [path.join(JOBS_BIN, "restore.sh"), path.join(dir, dump)], {
        env: { ...env, RESTORE_DATABASE_URL: adminUrl.replace(/\/feed$/, "/feed_restore") },
        encoding: "utf8",
      });
      assert.equal(restore.status, 0, restore.stderr);
      const client = new Client({ connectionString: loginUrl("feed_a", PW.a2, "feed_restore") });
      await client.connect();
      try {
        const { rows } = await client.query<{ n: string }>("select count(*) as n from videos");
        assert.ok(Number(rows[0]?.n) >= 60);
        await client.query("update users set handle = handle");
        await assert.rejects(client.query("drop table videos"), /must be owner/);
      } finally {
        await client.end();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("no password reaches the server log, although every statement is logged", () => {
    const log = fs.readFileSync(pg.logFile, "utf8");
    assert.match(log, /statement: .*CREATE TABLE/i, "log_statement = all was in effect");
    for (const secret of [ADMIN_PASSWORD, ...Object.values(PW)]) {
      assert.ok(!log.includes(secret), "a password is in the server log");
    }
  });
});

// Last: it applies other passwords. The migrations Job replaced by a
// superuser rotation once started before the restarted Postgres was routable
// (the real-pods lane: ENETUNREACH), failed, and waited 10 s for the Job's
// retry. The step now waits for the database itself; a refused login still
// ends it at once.
test("db-roles waits for a database it cannot reach yet, then applies the roles; a wrong password fails at once", async () => {
  const port = await freePort();
  const unreachable = adminUrl.replace(`:${pg.port}/`, `:${port}/`);
  assert.notEqual(unreachable, adminUrl);
  const env = { FEED_LOGIN_ACTIVE: "feed_a", FEED_A_PASSWORD: PW.a2, FEED_B_PASSWORD: PW.b2 };
  const run = runProcess(["--import", "tsx", "apps/feed/src/db-roles.ts"], {
    ...env,
    DATABASE_URL: unreachable,
  });
  // Nothing listens on the port for a while; then it forwards to the server.
  await new Promise((r) => setTimeout(r, 2500));
  const forwarder = net.createServer((client) => {
    const upstream = net.connect(pg.port, "127.0.0.1");
    client.pipe(upstream).pipe(client);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
  });
  await new Promise<void>((resolve) => forwarder.listen(port, "127.0.0.1", resolve));
  try {
    const { code, output } = await run;
    assert.equal(code, 0, output);
    const lines = output
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { msg: string; err?: { message: string } });
    const waits = lines.filter((l) => l.msg === "waiting for the database");
    assert.ok(waits.length >= 2, output);
    assert.match(waits[0]?.err?.message ?? "", /ECONNREFUSED/);
    assert.ok(
      lines.some((l) => l.msg === "database roles applied"),
      output,
    );
    for (const secret of [ADMIN_PASSWORD, PW.a2, PW.b2]) assert.ok(!output.includes(secret));
  } finally {
    forwarder.close();
  }

  const wrong = adminUrl.replace(encodeURIComponent(ADMIN_PASSWORD), "not-the-password");
  assert.notEqual(wrong, adminUrl);
  const refused = await runProcess(["--import", "tsx", "apps/feed/src/db-roles.ts"], {
    ...env,
    DATABASE_URL: wrong,
  });
  assert.notEqual(refused.code, 0);
  assert.match(refused.output, /password authentication failed/);
  assert.doesNotMatch(refused.output, /waiting for the database/);
});
