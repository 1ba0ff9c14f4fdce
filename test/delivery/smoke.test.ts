// The post-deploy smoke against real processes: a healthy gateway and feed
// pass it (with a real user, and with one that does not exist); a gateway
// whose feed is gone fails it, naming the check.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { after, before, test } from "node:test";
import {
  type GatewayProcess,
  prepareDatabase,
  startFeedProcess,
  startGatewayProcess,
} from "@golive/devkit/gateway-process";
import { freePort, startTestPostgres, type TestPostgres } from "@golive/devkit/postgres";

const ROOT = path.resolve(__dirname, "../..");
let pg: TestPostgres;
let userId: string;
let feed: Awaited<ReturnType<typeof startFeedProcess>>;
let healthy: GatewayProcess;
let orphan: GatewayProcess;

before(async () => {
  pg = await startTestPostgres();
  const url = pg.database("smoke");
  userId = (await prepareDatabase(url)).userIds[0] as string;
  feed = await startFeedProcess(
    { DATABASE_URL: url, LOG_LEVEL: "warn" },
    { grpc: await freePort(), ops: await freePort() },
  );
  healthy = await startGatewayProcess(
    { FEED_ADDRESS: `127.0.0.1:${feed.grpcPort}` },
    { http: await freePort(), ops: await freePort() },
  );
  // Its feed address answers nothing.
  orphan = await startGatewayProcess(
    { FEED_ADDRESS: `127.0.0.1:${await freePort()}` },
    { http: await freePort(), ops: await freePort() },
  );
});

after(() => {
  for (const p of [healthy?.child, orphan?.child, feed?.child]) p?.kill("SIGKILL");
  pg?.destroy();
});

const smoke = (url: string, ...args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", "scripts/smoke.ts", "--url", url, ...args], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 30_000,
  });

test("a healthy stack passes, with a real user and with an unknown one", () => {
  for (const args of [["--user", userId], []]) {
    const run = smoke(healthy.url, ...args);
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /^ok {4} {2}GET \/v1\/feed/m);
    assert.match(run.stdout, /^ok {4} {2}WebSocket \/v1\/messages/m);
    assert.match(run.stdout, /smoke: PASS/);
  }
});

test("a gateway whose feed is gone fails the smoke (exit 1), naming the failed check", () => {
  const run = smoke(orphan.url, "--user", userId, "--timeout-ms", "3000");
  assert.equal(run.status, 1, run.stdout + run.stderr);
  assert.match(run.stdout, /^FAILED {2}GET \/v1\/feed +\d+ ms {2}HTTP 503/m);
  assert.match(run.stdout, /smoke: FAIL/);
});

test("a missing --url is refused", () => {
  const run = spawnSync(process.execPath, ["--import", "tsx", "scripts/smoke.ts"], {
    cwd: ROOT,
    encoding: "utf8",
  });
  assert.equal(run.status, 2);
});
