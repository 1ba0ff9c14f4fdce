// Database outage: calls fail fast with UNAVAILABLE, readiness and gRPC health
// go down, and the service recovers by itself (listener included) when the
// database comes back.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  call,
  callError,
  feedClient,
  healthCheck,
  openStream,
  readiness,
  testConfig,
  waitFor,
} from "@golive/devkit/feed-process";
import { startTestPostgres, type TestPostgres } from "@golive/devkit/postgres";
import { type SeedResult, seedDatabase } from "@golive/devkit/seed-data";
import type { FeedServiceClient, GetFeedResponse, Message } from "@golive/proto/loader";
import { createLogger } from "@golive/shared/logger";
import * as grpc from "@grpc/grpc-js";
import { Pool } from "pg";
import { runMigrations } from "../src/migrate";
import { type FeedService, startFeedService } from "../src/server";

let pg: TestPostgres;
let url: string;
let service: FeedService;
let client: FeedServiceClient;
let seeded: SeedResult;

before(async () => {
  pg = await startTestPostgres();
  url = pg.database("feed_outage");
  await runMigrations(url);
  const pool = new Pool({ connectionString: url, max: 2 });
  seeded = await seedDatabase(pool, { users: 5, videos: 10, likes: 5 });
  await pool.end();
  service = await startFeedService(
    testConfig(url, { DB_PROBE_INTERVAL_MS: "200", DB_CONNECT_TIMEOUT_MS: "1000" }),
    createLogger("feed", "silent"),
  );
  client = feedClient(service.grpcPort);
});

after(async () => {
  client?.close();
  await service?.stop();
  pg?.destroy();
});

test("database down: UNAVAILABLE fast, not ready, NOT_SERVING; back up: recovers by itself", async () => {
  const userId = seeded.userIds[0];
  await call(client, "GetFeed", { userId, pageSize: 3 });
  assert.equal(await readiness(service.opsPort), 200);

  pg.stop();
  const began = Date.now();
  // A page not cached (a cached one is served for up to FEED_PAGE_CACHE_TTL_MS into the outage).
  const err = await callError(client, "GetFeed", { userId, pageSize: 4 });
  assert.equal(err.code, grpc.status.UNAVAILABLE, err.details);
  assert.ok(Date.now() - began < 2_500, `failed in ${Date.now() - began} ms`);
  const likeErr = await callError(client, "LikeVideo", { userId, videoId: seeded.videoIds[0] });
  assert.equal(likeErr.code, grpc.status.UNAVAILABLE);

  const readyBody = async () =>
    (await (await fetch(`http://127.0.0.1:${service.opsPort}/health/ready`)).json()) as {
      status: string;
      checks: Record<string, string>;
    };
  await waitFor("readiness 503", async () => (await readiness(service.opsPort)) === 503, 5_000);
  const body = await readyBody();
  assert.equal(body.status, "not ready");
  assert.equal(body.checks.database, "fail");
  assert.equal(body.checks.shutdown, "pass");
  // Each part says how it is: the listener reconnects for 5 s before it fails
  // readiness; the like worker warns once a drain failed.
  await waitFor(
    "the listener check to fail",
    async () => (await readyBody()).checks.listener === "fail",
    8_000,
  );
  await waitFor("the worker check to warn", async () => (await readyBody()).checks.worker === "warn", 3_000);
  assert.equal(await healthCheck(service.grpcPort, "feed.v1.FeedService"), "NOT_SERVING");
  assert.match(await service.metrics.registry.metrics(), /^feed_db_up 0$/m);

  pg.start();
  await waitFor("readiness 200", async () => (await readiness(service.opsPort)) === 200, 15_000);
  await waitFor(
    "every check to pass",
    async () => Object.values((await readyBody()).checks).every((r) => r === "pass"),
    5_000,
  );
  assert.equal(await healthCheck(service.grpcPort, ""), "SERVING");
  const page = await call<object, GetFeedResponse>(client, "GetFeed", { userId, pageSize: 3 });
  assert.equal(page.videos?.length, 3);

  // The LISTEN connection came back too: a new stream gets a new message.
  const pool = new Pool({ connectionString: url, max: 1 });
  await waitFor(
    "the message listener to reconnect",
    async () =>
      (await pool.query("select 1 from pg_stat_activity where application_name = 'feed-listener'"))
        .rowCount === 1,
    10_000,
  );
  await pool.end();
  const stream = await openStream(client, seeded.userIds[1] as string);
  const received = new Promise<Message>((resolve) => stream.once("data", resolve));
  const sent = await call<object, Message>(client, "SendMessage", {
    senderId: userId,
    recipientId: seeded.userIds[1],
    body: "after the outage",
  });
  assert.deepEqual(await received, sent);
  stream.on("error", () => {}); // the CANCELLED status our own cancel() causes
  stream.cancel();
});
