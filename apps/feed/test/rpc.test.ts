// Every RPC against the real service (in-process) on a real Postgres: happy
// paths, feed pagination, the bad-input table, and the like queue.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import {
  call,
  callError,
  feedClient,
  healthCheck,
  openStream,
  testConfig,
  waitFor,
} from "@golive/devkit/feed-process";
import { startTestPostgres, type TestPostgres } from "@golive/devkit/postgres";
import { type SeedResult, seedDatabase } from "@golive/devkit/seed-data";
import type {
  FeedServiceClient,
  GetFeedResponse,
  LikeVideoResponse,
  Message,
  Video,
} from "@golive/proto/loader";
import { createLogger } from "@golive/shared/logger";
import * as grpc from "@grpc/grpc-js";
import { Pool } from "pg";
import { runMigrations } from "../src/migrate";
import { type FeedService, startFeedService } from "../src/server";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let pg: TestPostgres;
let pool: Pool;
let service: FeedService;
let client: FeedServiceClient;
let seeded: SeedResult;

const rowCounts = async () => {
  const { rows } = await pool.query(
    `select (select count(*) from likes)::int as likes, (select count(*) from like_events)::int as events,
            (select count(*) from messages)::int as messages, (select sum(like_count))::int as like_sum from videos`,
  );
  return rows[0];
};

before(async () => {
  pg = await startTestPostgres();
  const url = pg.database("feed_rpc");
  await runMigrations(url);
  pool = new Pool({ connectionString: url, max: 4 });
  seeded = await seedDatabase(pool, { users: 80, videos: 45, likes: 120 });
  // A long worker interval: the like-queue test drains explicitly. A pool wait
  // bound above the default 300 ms: 50 concurrent likes queue for 10 pooled
  // connections, and on a loaded CI machine the last ones waited past 300 ms
  // and got UNAVAILABLE (that bound is apps/gateway/test/stalled-replica.test.ts's).
  service = await startFeedService(
    testConfig(url, { LIKE_WORKER_INTERVAL_MS: "60000", DB_CONNECT_TIMEOUT_MS: "5000" }),
    createLogger("feed", "silent"),
  );
  client = feedClient(service.grpcPort);
});

after(async () => {
  client?.close();
  await service?.stop();
  await pool?.end();
  pg?.destroy();
});

const user = (i: number) => seeded.userIds[i] as string;
const video = (i: number) => seeded.videoIds[i] as string;
/** A user of its own, so a test's likes start from none. */
async function newUser(): Promise<string> {
  const id = randomUUID();
  await pool.query("insert into users (id, handle, email) values ($1, $2, $3)", [
    id,
    `h${id}`,
    `${id}@x.test`,
  ]);
  return id;
}

describe("happy paths", () => {
  test("GetFeed walks every page newest first with no duplicates and ends with an empty cursor", async () => {
    const seen: Video[] = [];
    let cursor = "";
    for (let page = 0; page < 20; page++) {
      const res = await call<object, GetFeedResponse>(client, "GetFeed", {
        userId: user(0),
        pageSize: 7,
        cursor,
      });
      assert.ok((res.videos ?? []).length <= 7);
      seen.push(...(res.videos ?? []));
      cursor = res.nextCursor ?? "";
      if (!cursor) break;
    }
    assert.equal(cursor, "", "the last page has no next cursor");
    assert.equal(seen.length, 45);
    assert.equal(new Set(seen.map((v) => v.id)).size, 45, "no video appears twice");
    assert.deepEqual(new Set(seen.map((v) => v.id)), new Set(seeded.videoIds));
    for (let i = 1; i < seen.length; i++) {
      const [a, b] = [seen[i - 1] as Video, seen[i] as Video];
      assert.ok((a.createdAt ?? "") >= (b.createdAt ?? ""), "newest first");
    }
  });

  test("GetFeed page size 0 means the default of 20", async () => {
    const res = await call<object, GetFeedResponse>(client, "GetFeed", {
      userId: user(0),
      pageSize: 0,
      cursor: "",
    });
    assert.equal(res.videos?.length, 20);
    assert.notEqual(res.nextCursor, "");
  });

  test("GetFeed pages come from memory for at most FEED_PAGE_CACHE_TTL_MS; concurrent misses share one query", async () => {
    const page = () =>
      call<object, GetFeedResponse>(client, "GetFeed", { userId: user(0), pageSize: 3, cursor: "" });
    const lookups = async (result: string) => {
      const text = await service.metrics.registry.metrics();
      return Number(
        text.match(new RegExp(`^feed_page_cache_lookups_total\\{result="${result}"\\} (\\d+)`, "m"))?.[1] ??
          0,
      );
    };
    await sleep(1100); // whatever earlier tests cached has expired
    const before = {
      miss: await lookups("miss"),
      shared: await lookups("shared"),
      hit: await lookups("hit"),
    };
    const pages = await Promise.all(Array.from({ length: 8 }, page));
    assert.equal((await lookups("miss")) - before.miss, 1, "eight concurrent calls, one query");
    assert.equal((await lookups("shared")) - before.shared + (await lookups("hit")) - before.hit, 7);
    for (const p of pages) assert.deepEqual(p, pages[0]);

    // A new newest video: not shown while the page is cached, shown once it expires.
    const [author] = seeded.userIds;
    const { rows } = await pool.query(
      "insert into videos (author_id, title, url, created_at) values ($1, 'brand new', 'https://cdn.example/new.mp4', now() + interval '1 hour') returning id",
      [author],
    );
    const cached = await page();
    assert.notEqual(cached.videos?.[0]?.id, rows[0].id, "served from the cache");
    await waitFor(
      "the new video after the TTL",
      async () => (await page()).videos?.[0]?.id === rows[0].id,
      1500,
    );
    await pool.query("delete from videos where id = $1", [rows[0].id]);
  });

  test("GetVideo returns the video with its like count", async () => {
    const { rows } = await pool.query("select like_count::int as n, title from videos where id = $1", [
      video(3),
    ]);
    const res = await call<object, Video>(client, "GetVideo", { videoId: video(3) });
    assert.equal(res.id, video(3));
    assert.equal(res.title, rows[0].title);
    assert.equal(res.likeCount, rows[0].n);
    assert.match(res.url ?? "", /^https:\/\//);
    assert.ok(!Number.isNaN(Date.parse(res.createdAt ?? "")));
  });

  test("LikeVideo counts a like once, including it in the returned count", async () => {
    const target = video(5);
    const liker = await newUser();
    const before = await call<object, Video>(client, "GetVideo", { videoId: target });
    const first = await call<object, LikeVideoResponse>(client, "LikeVideo", {
      userId: liker,
      videoId: target,
    });
    assert.deepEqual(first, { videoId: target, likeCount: Number(before.likeCount) + 1, created: true });
    const again = await call<object, LikeVideoResponse>(client, "LikeVideo", {
      userId: liker,
      videoId: target,
    });
    assert.deepEqual(again, { videoId: target, likeCount: Number(before.likeCount) + 1, created: false });
  });

  test("a like blocked past its caller's deadline is cancelled in the database and never commits", async () => {
    const liker = await newUser();
    // Another session holds the likes table: the like's insert waits on the lock.
    const blocker = await pool.connect();
    await blocker.query("begin; lock table likes in exclusive mode");
    try {
      const err = await new Promise<grpc.ServiceError>((resolve) =>
        client.LikeVideo({ userId: liker, videoId: video(7) }, { deadline: Date.now() + 300 }, (e) =>
          resolve(e as grpc.ServiceError),
        ),
      );
      assert.equal(err?.code, grpc.status.DEADLINE_EXCEEDED);
      // The feed's statement gives up at the caller's deadline, not 5 s later.
      await waitFor(
        "the blocked insert to be cancelled",
        async () =>
          (
            await pool.query(
              "select 1 from pg_stat_activity where application_name = 'feed' and wait_event_type = 'Lock'",
            )
          ).rowCount === 0,
        1000,
      );
    } finally {
      await blocker.query("commit");
      blocker.release();
    }
    await sleep(200);
    const { rows } = await pool.query("select count(*)::int as n from likes where user_id = $1", [liker]);
    assert.equal(rows[0].n, 0, "the caller was told it failed, so nothing was liked");
  });

  test("LikeVideo retried with its idempotency key answers created:true again (the first attempt's answer was lost)", async () => {
    const target = video(6);
    const liker = await newUser();
    const like = (idempotencyKey: string) =>
      call<object, LikeVideoResponse>(client, "LikeVideo", {
        userId: liker,
        videoId: target,
        idempotencyKey,
      });
    const first = await like("attempt-key");
    assert.equal(first.created, true);
    // Two retries racing, as after a lost answer: both say what the first attempt said.
    const retries = await Promise.all([like("attempt-key"), like("attempt-key")]);
    assert.deepEqual(retries, [first, first]);
    assert.deepEqual(await like("other-request"), { ...first, created: false });
    assert.deepEqual(await like(""), { ...first, created: false }, "no key: a repeat is not created");
    const { rows } = await pool.query("select count(*)::int as n from likes where user_id = $1", [liker]);
    assert.equal(rows[0].n, 1);
  });

  test("SendMessage stores the message and StreamMessages delivers it to the recipient", async () => {
    const stream = await openStream(client, user(2));
    const received = new Promise<Message>((resolve) => stream.once("data", resolve));
    const sent = await call<object, Message>(client, "SendMessage", {
      senderId: user(1),
      recipientId: user(2),
      body: "hello 👋",
    });
    assert.equal(sent.body, "hello 👋");
    assert.equal(sent.senderId, user(1));
    const got = await received;
    assert.deepEqual(got, sent);
    stream.on("error", () => {}); // the CANCELLED status our own cancel() causes
    stream.cancel();
    const { rows } = await pool.query("select body from messages where id = $1", [sent.id]);
    assert.equal(rows[0].body, "hello 👋");
  });

  test("a message too big for a NOTIFY payload still reaches the stream", async () => {
    const stream = await openStream(client, user(4));
    const received = new Promise<Message>((resolve) => stream.once("data", resolve));
    const body = "𝄞".repeat(2000); // 2000 characters, 8000 bytes
    const sent = await call<object, Message>(client, "SendMessage", {
      senderId: user(1),
      recipientId: user(4),
      body,
    });
    assert.equal((await received).body, body);
    assert.equal(sent.body, body);
    stream.on("error", () => {}); // the CANCELLED status our own cancel() causes
    stream.cancel();
  });

  test("StreamMessages with since replays what was committed meanwhile, then live messages, none twice", async () => {
    const send = (body: string) =>
      call<object, Message>(client, "SendMessage", { senderId: user(1), recipientId: user(6), body });
    // A first stream tells when it started; two messages arrive on it, then it is lost.
    const first = await openStream(client, user(6));
    assert.ok(Date.parse(first.streamSince) <= Date.now() + 1000, `x-stream-since: ${first.streamSince}`);
    const seen: Message[] = [];
    first.on("data", (m: Message) => seen.push(m));
    const m1 = await send("one");
    const m2 = await send("two");
    await waitFor("the first stream's messages", async () => seen.length === 2, 3000);
    first.on("error", () => {});
    first.cancel();
    // Committed while no stream is open.
    const gap = [await send("three"), await send("four")];
    // Resume from a few seconds before the last message seen, as the gateway does.
    const since = new Date(Date.parse(m2.createdAt as string) - 5000).toISOString();
    const resumed = await openStream(client, user(6), since);
    const got: Message[] = [];
    resumed.on("data", (m: Message) => got.push(m));
    const live = await send("five");
    await waitFor("the replay and the live message", async () => got.some((m) => m.id === live.id), 3000);
    await sleep(200); // anything sent twice would have arrived by now
    resumed.on("error", () => {});
    resumed.cancel();
    const ids = got.map((m) => m.id);
    assert.equal(new Set(ids).size, ids.length, "no message twice");
    assert.deepEqual(
      ids.filter((id) => ![m1.id, m2.id].includes(id)),
      [...gap, live].map((m) => m.id),
      "the gap in order, then the live message",
    );
  });

  test("gRPC health reports SERVING for the server and the feed service", async () => {
    assert.equal(await healthCheck(service.grpcPort, ""), "SERVING");
    assert.equal(await healthCheck(service.grpcPort, "feed.v1.FeedService"), "SERVING");
  });
});

describe("bad input", () => {
  const { INVALID_ARGUMENT, NOT_FOUND } = grpc.status;
  const badCursor = Buffer.from("not-a-date|nope").toString("base64url");
  const cases: [
    string,
    "GetFeed" | "GetVideo" | "LikeVideo" | "SendMessage",
    () => object,
    grpc.status,
    string,
  ][] = [
    [
      "GetFeed empty user_id",
      "GetFeed",
      () => ({ userId: "", pageSize: 10, cursor: "" }),
      INVALID_ARGUMENT,
      "user_id",
    ],
    [
      "GetFeed non-uuid user_id",
      "GetFeed",
      () => ({ userId: "bob", pageSize: 10 }),
      INVALID_ARGUMENT,
      "user_id",
    ],
    [
      "GetFeed page_size 101",
      "GetFeed",
      () => ({ userId: user(0), pageSize: 101 }),
      INVALID_ARGUMENT,
      "page_size",
    ],
    [
      "GetFeed page_size -1",
      "GetFeed",
      () => ({ userId: user(0), pageSize: -1 }),
      INVALID_ARGUMENT,
      "page_size",
    ],
    [
      "GetFeed garbage cursor",
      "GetFeed",
      () => ({ userId: user(0), cursor: "%%%" }),
      INVALID_ARGUMENT,
      "cursor",
    ],
    [
      "GetFeed forged cursor",
      "GetFeed",
      () => ({ userId: user(0), cursor: badCursor }),
      INVALID_ARGUMENT,
      "cursor",
    ],
    ["GetVideo empty video_id", "GetVideo", () => ({ videoId: "" }), INVALID_ARGUMENT, "video_id"],
    ["GetVideo unknown video", "GetVideo", () => ({ videoId: randomUUID() }), NOT_FOUND, "video_id"],
    [
      "LikeVideo empty user_id",
      "LikeVideo",
      () => ({ userId: "", videoId: video(0) }),
      INVALID_ARGUMENT,
      "user_id",
    ],
    [
      "LikeVideo bad video_id",
      "LikeVideo",
      () => ({ userId: user(0), videoId: "1" }),
      INVALID_ARGUMENT,
      "video_id",
    ],
    [
      "LikeVideo oversized idempotency_key",
      "LikeVideo",
      () => ({ userId: user(0), videoId: video(0), idempotencyKey: "k".repeat(129) }),
      INVALID_ARGUMENT,
      "idempotency_key",
    ],
    [
      // Postgres text cannot hold NUL: before, the like INSERT failed and the caller got INTERNAL.
      "LikeVideo idempotency_key with a NUL character",
      "LikeVideo",
      () => ({ userId: user(0), videoId: video(0), idempotencyKey: "k\u0000ey" }),
      INVALID_ARGUMENT,
      "idempotency_key",
    ],
    [
      "LikeVideo unknown video",
      "LikeVideo",
      () => ({ userId: user(0), videoId: randomUUID() }),
      NOT_FOUND,
      "video_id",
    ],
    [
      "LikeVideo unknown user",
      "LikeVideo",
      () => ({ userId: randomUUID(), videoId: video(0) }),
      NOT_FOUND,
      "user_id",
    ],
    [
      "SendMessage empty body",
      "SendMessage",
      () => ({ senderId: user(0), recipientId: user(1), body: "" }),
      INVALID_ARGUMENT,
      "body",
    ],
    [
      "SendMessage body of 2001 characters",
      "SendMessage",
      () => ({ senderId: user(0), recipientId: user(1), body: "x".repeat(2001) }),
      INVALID_ARGUMENT,
      "body",
    ],
    [
      // Postgres text cannot hold NUL: it must be refused here, not fail as INTERNAL at the INSERT.
      "SendMessage body with a NUL character",
      "SendMessage",
      () => ({ senderId: user(0), recipientId: user(1), body: "a\u0000b" }),
      INVALID_ARGUMENT,
      "body",
    ],
    [
      "SendMessage empty recipient_id",
      "SendMessage",
      () => ({ senderId: user(0), recipientId: "", body: "hi" }),
      INVALID_ARGUMENT,
      "recipient_id",
    ],
    [
      "SendMessage unknown recipient",
      "SendMessage",
      () => ({ senderId: user(0), recipientId: randomUUID(), body: "hi" }),
      NOT_FOUND,
      "recipient_id",
    ],
    [
      "SendMessage unknown sender",
      "SendMessage",
      () => ({ senderId: randomUUID(), recipientId: user(1), body: "hi" }),
      NOT_FOUND,
      "sender_id",
    ],
  ];

  for (const [name, method, request, code, field] of cases) {
    test(`${name} -> ${grpc.status[code]} naming ${field}, nothing written`, async () => {
      const before = await rowCounts();
      const err = await callError(client, method, request());
      assert.equal(err.code, code, err.details);
      assert.match(err.details, new RegExp(`^${field}\\b`));
      assert.deepEqual(await rowCounts(), before);
    });
  }

  test("StreamMessages with a non-uuid user_id ends with INVALID_ARGUMENT naming user_id", async () => {
    const stream = client.StreamMessages({ userId: "nobody" });
    const err = await new Promise<grpc.ServiceError>((resolve) => stream.once("error", resolve));
    assert.equal(err.code, INVALID_ARGUMENT);
    assert.match(err.details, /^user_id/);
  });

  test("StreamMessages with a malformed, too old or future since ends with INVALID_ARGUMENT naming since", async () => {
    for (const since of [
      "yesterday",
      "2026-13-01T00:00:00Z",
      new Date(Date.now() - 25 * 3600_000).toISOString(),
      // After now: a resumed stream would skip everything sent before that time.
      new Date(Date.now() + 3600_000).toISOString(),
    ]) {
      const stream = client.StreamMessages({ userId: user(0), since });
      const err = await new Promise<grpc.ServiceError>((resolve) => stream.once("error", resolve));
      assert.equal(err.code, INVALID_ARGUMENT, since);
      assert.match(err.details, /^since: /, since);
    }
  });

  test("StreamMessages for an unknown user ends with NOT_FOUND", async () => {
    const stream = client.StreamMessages({ userId: randomUUID() });
    const err = await new Promise<grpc.ServiceError>((resolve) => stream.once("error", resolve));
    assert.equal(err.code, NOT_FOUND);
  });
});

describe("like queue", () => {
  test("50 concurrent likes by distinct users end with count 50; a repeat does not double count", async () => {
    const target = video(10);
    await pool.query("delete from likes where video_id = $1", [target]);
    await pool.query("update videos set like_count = 0 where id = $1", [target]);
    const likers = Array.from({ length: 50 }, (_, i) => user(i + 20));
    const responses = await Promise.all(
      likers.map((userId) =>
        call<object, LikeVideoResponse>(client, "LikeVideo", { userId, videoId: target }),
      ),
    );
    assert.ok(responses.every((r) => r.created));
    // Each answer counts its own like plus those committed before it.
    assert.ok(responses.every((r) => Number(r.likeCount) >= 1 && Number(r.likeCount) <= 50));
    assert.equal((await call<object, Video>(client, "GetVideo", { videoId: target })).likeCount, 50);
    const depth = await pool.query("select count(*)::int as n from like_events where video_id = $1", [
      target,
    ]);
    assert.equal(depth.rows[0].n, 50, "every like is queued before the worker runs");

    await service.likeWorker.drainOnce();
    const drained = await pool.query("select like_count::int as n from videos where id = $1", [target]);
    assert.equal(drained.rows[0].n, 50);
    assert.match(await service.metrics.registry.metrics(), /^feed_like_queue_depth 0$/m);

    const repeat = await call<object, LikeVideoResponse>(client, "LikeVideo", {
      userId: likers[0],
      videoId: target,
    });
    assert.deepEqual(repeat, { videoId: target, likeCount: 50, created: false });
    await service.likeWorker.drainOnce();
    const video10 = await call<object, Video>(client, "GetVideo", { videoId: target });
    assert.equal(video10.likeCount, 50);
  });
});

test("metrics expose the contract names with per-method codes", async () => {
  const text = await service.metrics.registry.metrics();
  for (const name of [
    'grpc_server_handled_total{grpc_service="feed.v1.FeedService",grpc_method="GetFeed",grpc_code="OK"}',
    'grpc_server_handled_total{grpc_service="feed.v1.FeedService",grpc_method="GetVideo",grpc_code="NOT_FOUND"}',
    'grpc_server_handled_total{grpc_service="feed.v1.FeedService",grpc_method="LikeVideo",grpc_code="INVALID_ARGUMENT"}',
    'grpc_server_handling_seconds_bucket{le="0.005",grpc_service="feed.v1.FeedService",grpc_method="GetFeed"}',
    "feed_db_up 1",
    'feed_db_pool_connections{state="total"}',
    "feed_message_streams_open 0",
    // Every statement by its name: the page read, the like transaction's steps.
    'feed_db_query_duration_seconds_count{statement="feed_page_first"}',
    'feed_db_query_duration_seconds_count{statement="video_get"}',
    'feed_db_query_duration_seconds_count{statement="like_insert"}',
    "process_cpu_user_seconds_total",
  ]) {
    assert.ok(text.includes(name), `missing ${name}`);
  }
});
