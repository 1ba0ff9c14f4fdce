// The backup CronJob's off-site step (apps/jobs/src/offsite.sh) with real
// rclone against an S3 endpoint on loopback (`rclone serve s3`, the stand-in
// for a bucket: no object store is reachable here), fed by real dumps that
// backup.sh writes from a real PostgreSQL. Run with `sh` (dash), as the
// rclone image runs it with busybox sh: no bash-isms.
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { freePort, startTestPostgres, type TestPostgres } from "@golive/devkit/postgres";
import { seedDatabase } from "@golive/devkit/seed-data";
import { REPO_ROOT } from "@golive/devkit/service-process";
import { runMigrations } from "@golive/feed/migrate";
import { Pool } from "pg";

const SRC = path.resolve(__dirname, "../src");
const PG_BIN = "/usr/lib/postgresql/15/bin";
const TOOLS_BIN = path.join(REPO_ROOT, ".tools/bin");
const BUCKET = "golive-backups";
const ACCESS_KEY = "GOLIVETESTKEY";
const SECRET_KEY = "s3cr3t-offsite-key-do-not-log";

let pg: TestPostgres;
let databaseUrl: string;
let tmp: string;
let backupDir: string;
let s3Root: string;
let s3Port: number;
let server: ChildProcess;

const PATH = `${TOOLS_BIN}:${PG_BIN}:${process.env.PATH ?? ""}`;

function remoteEnv(secret = SECRET_KEY, port = s3Port): Record<string, string> {
  return {
    RCLONE_CONFIG_OFFSITE_TYPE: "s3",
    RCLONE_CONFIG_OFFSITE_PROVIDER: "Other",
    RCLONE_CONFIG_OFFSITE_ENDPOINT: `http://127.0.0.1:${port}`,
    RCLONE_CONFIG_OFFSITE_REGION: "us-east-1",
    RCLONE_CONFIG_OFFSITE_ACCESS_KEY_ID: ACCESS_KEY,
    RCLONE_CONFIG_OFFSITE_SECRET_ACCESS_KEY: secret,
    // The bucket exists already; the Job's key needs no CreateBucket right.
    RCLONE_CONFIG_OFFSITE_NO_CHECK_BUCKET: "true",
    // A dead endpoint fails within seconds rather than after rclone's defaults.
    RCLONE_LOW_LEVEL_RETRIES: "1",
    RCLONE_CONTIMEOUT: "2s",
  };
}

function run(script: "backup.sh" | "offsite.sh", env: Record<string, string>) {
  const shell = script === "backup.sh" ? "bash" : "sh";
  const result = spawnSync(shell, [path.join(SRC, script)], {
    env: { PATH, HOME: tmp, ...env },
    encoding: "utf8",
    timeout: 60_000,
  });
  const lines = result.stdout
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { status: result.status, lines, output: result.stdout + result.stderr };
}

const backup = (keep = 10) =>
  run("backup.sh", { DATABASE_URL: databaseUrl, BACKUP_DIR: backupDir, BACKUP_KEEP: String(keep) });
const offsite = (extra: Record<string, string> = {}, secret?: string) =>
  run("offsite.sh", {
    BACKUP_DIR: backupDir,
    OFFSITE_REMOTE: `offsite:${BUCKET}/staging`,
    OFFSITE_KEEP: "28",
    ...remoteEnv(secret),
    ...extra,
  });

const inBucket = () =>
  fs
    .readdirSync(path.join(s3Root, BUCKET, "staging"))
    .filter((f) => !f.startsWith("."))
    .sort();
const local = () =>
  fs
    .readdirSync(backupDir)
    .filter((f) => f.endsWith(".dump") && !f.startsWith("."))
    .sort();
const sha256 = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex");
const msg = (lines: Record<string, unknown>[], text: string) => lines.find((l) => l.msg === text);

async function waitForPort(port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => resolve(socket.end() !== undefined));
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listening on ${port} after ${timeoutMs} ms`);
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "golive-offsite-"));
  backupDir = path.join(tmp, "backups");
  s3Root = path.join(tmp, "s3");
  fs.mkdirSync(backupDir);
  fs.mkdirSync(path.join(s3Root, BUCKET), { recursive: true });
  // PostgreSQL runs as the postgres user when the tests run as root: let it write dumps there too.
  fs.chmodSync(backupDir, 0o777);

  pg = await startTestPostgres();
  databaseUrl = pg.database("feed");
  await runMigrations(databaseUrl);
  const pool = new Pool({ connectionString: databaseUrl, max: 2 });
  await seedDatabase(pool, { users: 200, videos: 800, likes: 2000 });
  await pool.end();

  s3Port = await freePort();
  server = spawn(
    path.join(TOOLS_BIN, "rclone"),
    [
      "serve",
      "s3",
      "--config",
      "",
      "--addr",
      `127.0.0.1:${s3Port}`,
      "--auth-key",
      `${ACCESS_KEY},${SECRET_KEY}`,
      s3Root,
    ],
    { stdio: ["ignore", "ignore", "pipe"], env: { PATH, HOME: tmp } },
  );
  await waitForPort(s3Port);
});

after(() => {
  server?.kill("SIGTERM");
  pg?.destroy();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test("the dump backup.sh wrote reaches the bucket byte for byte, logged as JSON without credentials", () => {
  assert.equal(backup().status, 0);
  const r = offsite();
  assert.equal(r.status, 0, r.output);
  assert.equal(msg(r.lines, "dumps uploaded")?.uploaded, 1);
  assert.equal(msg(r.lines, "dumps uploaded")?.inBucket, 1);
  assert.deepEqual(inBucket(), local());
  const [name] = local();
  assert.ok(name);
  assert.equal(sha256(path.join(s3Root, BUCKET, "staging", name)), sha256(path.join(backupDir, name)));
  // And back out through S3, as a restore would fetch it: a readable custom-format dump.
  const fetched = path.join(tmp, "fetched.dump");
  const get = spawnSync("rclone", ["--config", "", "copyto", `offsite:${BUCKET}/staging/${name}`, fetched], {
    env: { PATH, HOME: tmp, ...remoteEnv() },
    encoding: "utf8",
  });
  assert.equal(get.status, 0, get.stderr);
  const toc = spawnSync("pg_restore", ["--list", fetched], { env: { PATH }, encoding: "utf8" });
  assert.equal(toc.status, 0, toc.stderr);
  assert.match(toc.stdout, /TABLE DATA public videos/);
  assert.ok(!r.output.includes(SECRET_KEY) && !r.output.includes(ACCESS_KEY), "credentials in the log");
});

test("a rerun uploads nothing", () => {
  const r = offsite();
  assert.equal(r.status, 0, r.output);
  assert.equal(msg(r.lines, "dumps uploaded")?.uploaded, 0);
});

test("a failed upload (bad key) exits 1 without leaking it; the next run catches up every missing dump, never a partial one", () => {
  assert.equal(backup().status, 0);
  assert.equal(backup().status, 0);
  fs.writeFileSync(path.join(backupDir, ".golive-20990101T000000.000000000Z.dump.partial"), "half a dump");
  const bad = offsite({}, "wrong-secret-value");
  assert.equal(bad.status, 1, bad.output);
  assert.equal(msg(bad.lines, "cannot list the bucket")?.level, "error", bad.output);
  assert.ok(!bad.output.includes("wrong-secret-value"));
  assert.equal(inBucket().length, 1, "nothing uploaded with a bad key");

  const r = offsite();
  assert.equal(r.status, 0, r.output);
  assert.equal(msg(r.lines, "dumps uploaded")?.uploaded, 2);
  assert.deepEqual(inBucket(), local());
  assert.ok(!inBucket().some((f) => f.includes("partial")));
});

test("a dump already in the bucket is never overwritten with different bytes", () => {
  const newest = local().at(-1) as string;
  const inStore = path.join(s3Root, BUCKET, "staging", newest);
  const original = sha256(inStore);
  // A volume holding a different file under a name the bucket already has.
  const other = path.join(tmp, "other-volume");
  fs.mkdirSync(other);
  fs.writeFileSync(path.join(other, newest), "not the dump that was uploaded");
  const r = offsite({ BACKUP_DIR: other });
  assert.equal(r.status, 1, r.output);
  assert.equal(msg(r.lines, "upload failed")?.level, "error");
  assert.equal(sha256(inStore), original);
});

test("the bucket keeps only the OFFSITE_KEEP newest dumps", () => {
  // backup.sh with keep 2 leaves the two newest on the volume; the bucket holds 3 or more.
  assert.equal(backup(2).status, 0);
  const before = inBucket();
  const r = offsite({ OFFSITE_KEEP: "2" });
  assert.equal(r.status, 0, r.output);
  const retention = msg(r.lines, "offsite retention applied");
  assert.equal(retention?.kept, 2);
  assert.equal(retention?.pruned, before.length + 1 - 2);
  assert.deepEqual(inBucket(), local(), "the two newest, which are the volume's");
  assert.equal(offsite({ OFFSITE_KEEP: "2" }).lines.find((l) => l.msg === "dumps uploaded")?.uploaded, 0);
});

test("bad settings and an unreachable store exit 1 with a JSON error that says what is wrong", async () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ OFFSITE_REMOTE: "" }, /OFFSITE_REMOTE is required/],
    [{ OFFSITE_REMOTE: "s3:bucket" }, /OFFSITE_REMOTE must look like offsite:/],
    [{ OFFSITE_KEEP: "0" }, /OFFSITE_KEEP must be an integer/],
    [{ BACKUP_DIR: path.join(tmp, "missing") }, /BACKUP_DIR is not a directory/],
    [{ ...remoteEnv(SECRET_KEY, await freePort()) }, /cannot list the bucket/],
  ];
  for (const [extra, pattern] of cases) {
    const r = offsite(extra);
    assert.equal(r.status, 1, `${JSON.stringify(extra)}: ${r.output}`);
    assert.match(String(r.lines.at(-1)?.msg), pattern);
  }
});
