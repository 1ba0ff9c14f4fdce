// The feed as real processes: start-up config errors, message fan-out
// between two replicas on one database, and graceful shutdown on SIGTERM.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import {
  call,
  callError,
  type FeedProcess,
  feedClient,
  openStream,
  readiness,
  runProcess,
  startFeedProcess,
  waitFor,
} from "@golive/devkit/feed-process";
import { freePort, startTestPostgres, type TestPostgres } from "@golive/devkit/postgres";
import { type SeedResult, seedDatabase } from "@golive/devkit/seed-data";
import type { GetFeedResponse, LikeVideoResponse, Message } from "@golive/proto/loader";
import * as grpc from "@grpc/grpc-js";
import { Pool } from "pg";
import { runMigrations } from "../src/migrate";

let pg: TestPostgres;
let url: string;
let pool: Pool;
let seeded: SeedResult;
const started: FeedProcess[] = [];

before(async () => {
  pg = await startTestPostgres();
  url = pg.database("feed_processes");
  await runMigrations(url);
  pool = new Pool({ connectionString: url, max: 2 });
  seeded = await seedDatabase(pool, { users: 10, videos: 30, likes: 20 });
});

after(async () => {
  for (const p of started) if (p.child.exitCode === null) p.child.kill("SIGKILL");
  await pool?.end();
  pg?.destroy();
});

async function startFeed(env: Record<string, string> = {}): Promise<FeedProcess> {
  const p = await startFeedProcess(
    { DATABASE_URL: url, LOG_LEVEL: "debug", ...env },
    { grpc: await freePort(), ops: await freePort() },
  );
  started.push(p);
  return p;
}

test("missing DATABASE_URL stops start-up with one line naming it and a non-zero exit", async () => {
  const { code, output } = await runProcess(["--import", "tsx", "apps/feed/src/main.ts"], {});
  assert.notEqual(code, 0);
  assert.match(output, /DATABASE_URL/);
  assert.equal(output.trim().split("\n").length, 1, `one line expected, got: ${output}`);
  assert.doesNotMatch(output, /\n\s+at /, "no stack trace");
});

test("an invalid GRPC_PORT is named in the start-up error", async () => {
  const { code, output } = await runProcess(["--import", "tsx", "apps/feed/src/main.ts"], {
    DATABASE_URL: url,
    GRPC_PORT: "not-a-port",
  });
  assert.notEqual(code, 0);
  assert.match(output, /GRPC_PORT/);
});

test("a stream opened on replica A receives a message sent through replica B", async () => {
  const [a, b] = await Promise.all([startFeed(), startFeed()]);
  const clientA = feedClient(a.grpcPort);
  const clientB = feedClient(b.grpcPort);
  const recipient = seeded.userIds[1] as string;
  const stream = await openStream(clientA, recipient);
  const received = new Promise<Message>((resolve) => stream.once("data", resolve));
  const sent = await call<object, Message>(clientB, "SendMessage", {
    senderId: seeded.userIds[0],
    recipientId: recipient,
    body: `across replicas ${randomUUID()}`,
  });
  const got = await Promise.race([
    received,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error("no message on A within 5 s")), 5_000),
    ),
  ]);
  assert.deepEqual(got, sent);

  // Shutting A down ends its open stream cleanly instead of cutting it.
  const ended = new Promise<string>((resolve) => {
    stream.once("end", () => resolve("end"));
    stream.once("error", (err: grpc.ServiceError) => resolve(`error ${err.code}`));
  });
  a.child.kill("SIGTERM");
  b.child.kill("SIGTERM");
  assert.equal(await ended, "end");
  assert.deepEqual(await Promise.all([a.exited, b.exited]), [0, 0]);
  assert.doesNotMatch(a.output() + b.output(), /across replicas/, "message bodies never reach the logs");
  clientA.close();
  clientB.close();
});

test("a message committed while the listener is reconnecting still reaches the open stream, exactly once", async () => {
  const feed = await startFeed();
  const client = feedClient(feed.grpcPort);
  const recipient = seeded.userIds[2] as string;
  const stream = await openStream(client, recipient);
  const got: Message[] = [];
  stream.on("data", (m: Message) => got.push(m));
  const send = (body: string) =>
    call<object, Message>(client, "SendMessage", {
      senderId: seeded.userIds[0],
      recipientId: recipient,
      body,
    });
  const before = await send(`before the gap ${randomUUID()}`);
  await waitFor("the first message", async () => got.length === 1, 5_000);

  // Cut only the LISTEN connection; the pool keeps working, so SendMessage commits
  // while the listener waits out its 1 s before reconnecting: Postgres drops that NOTIFY.
  const listeners = "select pid from pg_stat_activity where application_name = 'feed-listener'";
  await pool.query(`select pg_terminate_backend(pid) from (${listeners}) l`);
  await waitFor("the listener to be gone", async () => (await pool.query(listeners)).rowCount === 0, 5_000);
  const inGap = await send(`in the gap ${randomUUID()}`);
  assert.equal((await pool.query(listeners)).rowCount, 0, "the message was sent while nobody listened");

  await waitFor("the caught-up message", async () => got.length >= 2, 10_000);
  // Room for a duplicate from the catch-up re-reading the first message, which must not come.
  await new Promise((r) => setTimeout(r, 1_000));
  assert.deepEqual(got, [before, inGap]);
  assert.match(feed.output(), /message listener caught up/);

  stream.on("error", () => {}); // the CANCELLED status our own cancel() causes
  stream.cancel();
  client.close();
  feed.child.kill("SIGTERM");
  assert.equal(await feed.exited, 0);
});

test("the feed logs the caller's x-request-id with a rejected call, and drops an unsafe one", async () => {
  const feed = await startFeed();
  const client = feedClient(feed.grpcPort);
  for (const [id, logged] of [
    ["rid-feed-log-1", true],
    ["spaced id {x}", false],
  ] as const) {
    const metadata = new grpc.Metadata();
    metadata.set("x-request-id", id);
    const err = await callError(client, "GetVideo", { videoId: randomUUID() }, { metadata });
    assert.equal(err.code, grpc.status.NOT_FOUND);
    if (logged)
      await waitFor(
        `the log line for ${id}`,
        async () => feed.output().includes(`"requestId":"${id}"`),
        3000,
      );
  }
  assert.doesNotMatch(feed.output(), /spaced id/);
  client.close();
  feed.child.kill("SIGTERM");
  assert.equal(await feed.exited, 0);
});

test("SIGTERM with a drain delay: readiness fails at once, calls and new streams are still served until the delay passes, then refused", async () => {
  const feed = await startFeed({ SHUTDOWN_DRAIN_DELAY_MS: "2000", SHUTDOWN_GRACE_MS: "10000" });
  const client = feedClient(feed.grpcPort);
  const userId = seeded.userIds[0];
  await call(client, "GetFeed", { userId, pageSize: 5 });
  const signalledAt = Date.now();
  feed.child.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await readiness(feed.opsPort), 503, "readiness fails first");
  // Load balancers and resolvers have not caught up yet: what still arrives is served.
  const page = await call<object, GetFeedResponse>(client, "GetFeed", { userId, pageSize: 5 });
  assert.equal(page.videos?.length, 5);
  // Streams too: a gateway's round robin still picks this replica for a new
  // subscription; refusing it left a WebSocket unsubscribed for seconds
  // during a rollout (the real-pods drill lost a message so). It is live at
  // once and ends cleanly when the delay is over (the gateway resumes it on
  // another replica, replaying what it missed).
  const stream = await openStream(client, userId as string);
  assert.ok(stream.streamSince, "the subscription is live");
  const ended = new Promise<string>((resolve) => {
    stream.once("end", () => resolve("end"));
    stream.once("error", (err: grpc.ServiceError) => resolve(`error ${err.code}`));
  });
  stream.on("data", () => {});
  assert.ok(Date.now() - signalledAt < 2000, "served inside the drain delay");
  assert.equal(await ended, "end");
  assert.equal(await feed.exited, 0, feed.output());
  assert.ok(Date.now() - signalledAt >= 2000, "the process waited out the drain delay");
  client.close();
});

test("SIGTERM: the in-flight call completes, new calls are refused, exit 0 within the grace period", async () => {
  const graceMs = 10_000;
  const feed = await startFeed({ SHUTDOWN_GRACE_MS: String(graceMs) });
  const client = feedClient(feed.grpcPort);
  const userId = seeded.userIds[0];
  await call(client, "GetFeed", { userId, pageSize: 5 }); // connection established

  // The slow call: a like whose insert waits on a lock this test holds for 2 s.
  const blocker = await pool.connect();
  await blocker.query("begin; lock table likes in exclusive mode");
  setTimeout(() => void blocker.query("commit").finally(() => blocker.release()), 2000);
  const slow = call<object, LikeVideoResponse>(
    client,
    "LikeVideo",
    { userId: seeded.userIds[2], videoId: seeded.videoIds[0] },
    { deadlineMs: 8_000 },
  );
  const waiting = async () =>
    (
      await pool.query(
        "select count(*)::int as n from pg_stat_activity where application_name = 'feed' and wait_event_type = 'Lock'",
      )
    ).rows[0].n > 0;
  for (let i = 0; i < 50 && !(await waiting()); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(await waiting(), "the slow call is running in the database");

  const signalledAt = Date.now();
  feed.child.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await readiness(feed.opsPort), 503, "readiness fails first");

  const refused = await callError(client, "GetFeed", { userId, pageSize: 5 }, { deadlineMs: 3_000 });
  assert.equal(refused.code, grpc.status.UNAVAILABLE, refused.details);
  const fresh = feedClient(feed.grpcPort);
  const refusedFresh = await callError(fresh, "GetFeed", { userId, pageSize: 5 }, { deadlineMs: 3_000 });
  assert.equal(refusedFresh.code, grpc.status.UNAVAILABLE, refusedFresh.details);

  const liked = await slow;
  assert.equal(liked.videoId, seeded.videoIds[0], "the in-flight call got its full answer");
  assert.equal(await feed.exited, 0, feed.output());
  assert.ok(Date.now() - signalledAt < graceMs, "exited within the grace period");
  assert.match(feed.output(), /"msg":"shutdown complete"/);
  client.close();
  fresh.close();
});
