// End to end with the real services: gateway process -> feed process(es) ->
// real Postgres. Every endpoint, the WebSocket round trip, a feed crash under
// steady traffic, load spread over two feeds, and the gateway's own SIGTERM.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import http from "node:http";
import { after, before, describe, test } from "node:test";
import { call, feedClient } from "@golive/devkit/feed-process";
import {
  type GatewayProcess,
  prepareDatabase,
  scrapeSum,
  startFeedProcess,
  startGatewayProcess,
  waitFor,
} from "@golive/devkit/gateway-process";
import { freePort, startTestPostgres, type TestPostgres } from "@golive/devkit/postgres";
import { WebSocket } from "ws";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const DEADLINE_MS = 500;
const IP_HASH_KEY = "e2e-ip-hash-key-0123456789abcdef0123";

type FeedBody = {
  videos: Array<{ id: string; authorId: string; likeCount: number }>;
  nextCursor: string;
  stale: boolean;
};

describe("gateway -> feed -> Postgres", () => {
  let pg: TestPostgres;
  let databaseUrl: string;
  let userIds: string[];
  let feedA: Awaited<ReturnType<typeof startFeedProcess>>;
  let feedB: Awaited<ReturnType<typeof startFeedProcess>>;
  let portsA: { grpc: number; ops: number };
  let gw: GatewayProcess;
  let gwSpread: GatewayProcess;

  before(async () => {
    pg = await startTestPostgres();
    databaseUrl = pg.database("gateway_e2e");
    ({ userIds } = await prepareDatabase(databaseUrl));
    portsA = { grpc: await freePort(), ops: await freePort() };
    feedA = await startFeedProcess({ DATABASE_URL: databaseUrl, LOG_LEVEL: "warn" }, portsA);
    feedB = await startFeedProcess(
      { DATABASE_URL: databaseUrl, LOG_LEVEL: "warn" },
      { grpc: await freePort(), ops: await freePort() },
    );
    const common = {
      FEED_DEADLINE_MS: String(DEADLINE_MS),
      BREAKER_CONSECUTIVE_FAILURES: "5",
      BREAKER_HALF_OPEN_AFTER_MS: "1000",
      SHUTDOWN_GRACE_MS: "5000",
    };
    // dns:/// through the system resolver: the form a Kubernetes headless Service uses.
    gw = await startGatewayProcess(
      {
        ...common,
        FEED_ADDRESS: `dns:///localhost:${portsA.grpc}`,
        // As behind the edge: the caller is X-Forwarded-For's last entry.
        TRUST_PROXY_HOPS: "1",
        LOG_IP_HASH_KEY: IP_HASH_KEY,
        LOG_LEVEL: "info",
      },
      { http: await freePort(), ops: await freePort() },
    );
    gwSpread = await startGatewayProcess(
      { ...common, FEED_ADDRESS: `ipv4:127.0.0.1:${portsA.grpc},127.0.0.1:${feedB.grpcPort}` },
      { http: await freePort(), ops: await freePort() },
    );
  });

  after(async () => {
    for (const p of [gw?.child, gwSpread?.child, feedA?.child, feedB?.child]) p?.kill("SIGKILL");
    pg?.destroy();
  });

  test("GET /v1/feed pages through the seeded videos with the cursor", async () => {
    const first = await fetch(`${gw.url}/v1/feed?userId=${userIds[0]}&limit=25`);
    assert.equal(first.status, 200);
    assert.ok(first.headers.get("x-request-id"));
    const page1 = (await first.json()) as FeedBody;
    assert.equal(page1.videos.length, 25);
    assert.equal(page1.stale, false);
    assert.ok(page1.nextCursor);
    const second = (await (
      await fetch(`${gw.url}/v1/feed?userId=${userIds[0]}&limit=25&cursor=${page1.nextCursor}`)
    ).json()) as FeedBody;
    assert.equal(second.videos.length, 25);
    const ids = new Set([...page1.videos, ...second.videos].map((v) => v.id));
    assert.equal(ids.size, 50, "pages do not overlap");
    const bad = await fetch(`${gw.url}/v1/feed?userId=${userIds[0]}&cursor=bm90LWEtY3Vyc29y`);
    assert.equal(bad.status, 400, "the feed's INVALID_ARGUMENT for a malformed cursor becomes 400");
  });

  test("the request log line: request id, user id, duration, and the client only as a keyed hash", async () => {
    const client = "203.0.113.77";
    const res = await fetch(`${gw.url}/v1/feed?userId=${userIds[3]}&limit=2`, {
      headers: { "x-request-id": "e2e-log-line-1", "x-forwarded-for": `198.51.100.9, ${client}` },
    });
    assert.equal(res.status, 200);
    await waitFor(
      "the request's log line",
      async () => gw.output().includes('"requestId":"e2e-log-line-1"'),
      5000,
    );
    const line = gw
      .output()
      .split("\n")
      .filter((l) => l.includes('"requestId":"e2e-log-line-1"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.msg === "request");
    assert.ok(line, "a request line");
    assert.equal(line.route, "/v1/feed");
    assert.equal(line.statusCode, 200);
    assert.equal(typeof line.ms, "number");
    assert.equal(line.userId, userIds[3]);
    const expected = createHmac("sha256", IP_HASH_KEY).update(client).digest("hex").slice(0, 16);
    assert.equal(line.clientIpHash, expected, "the HMAC of the caller's address, not the proxy's");
    assert.ok(!gw.output().includes(client), "the raw address is nowhere in the log");
  });

  test("GET /v1/videos/:id returns the video; an unknown id is 404", async () => {
    const page = (await (await fetch(`${gw.url}/v1/feed?userId=${userIds[0]}&limit=1`)).json()) as FeedBody;
    const video = page.videos[0];
    assert.ok(video);
    const res = await fetch(`${gw.url}/v1/videos/${video.id}`);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { id: string }).id, video.id);
    const missing = await fetch(`${gw.url}/v1/videos/00000000-0000-4000-8000-000000000001`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { code: string }).code, "NOT_FOUND");
  });

  test("POST /v1/videos/:id/likes counts once per user", async () => {
    const page = (await (await fetch(`${gw.url}/v1/feed?userId=${userIds[0]}&limit=1`)).json()) as FeedBody;
    const videoId = page.videos[0]?.id;
    const like = () =>
      fetch(`${gw.url}/v1/videos/${videoId}/likes`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-request-id": "e2e-like-1" },
        body: JSON.stringify({ userId: userIds[19] }),
      });
    const firstRes = await like();
    assert.equal(firstRes.status, 200);
    assert.equal(firstRes.headers.get("x-request-id"), "e2e-like-1");
    const first = (await firstRes.json()) as { likeCount: number; created: boolean };
    const again = (await (await like()).json()) as { likeCount: number; created: boolean };
    assert.equal(again.created, false);
    assert.equal(again.likeCount, first.likeCount);
  });

  test("a like retried with its Idempotency-Key answers created:true again, and counts once", async () => {
    const page = (await (await fetch(`${gw.url}/v1/feed?userId=${userIds[0]}&limit=1`)).json()) as FeedBody;
    const videoId = page.videos[0]?.id;
    const like = (key: string) =>
      fetch(`${gw.url}/v1/videos/${videoId}/likes`, {
        method: "POST",
        headers: { "content-type": "application/json", "idempotency-key": key },
        body: JSON.stringify({ userId: userIds[18] }),
      }).then((r) => r.json() as Promise<{ likeCount: number; created: boolean }>);
    const first = await like("e2e-key-1");
    assert.equal(first.created, true);
    // The client lost the answer and retries: same key, same answer.
    assert.deepEqual(await like("e2e-key-1"), first);
    // Another request for the same like did not create it.
    assert.deepEqual(await like("e2e-key-2"), { ...first, created: false });
  });

  test("a WebSocket message round trip between two users goes through the real feed", async () => {
    const [alice, bob] = [userIds[1], userIds[2]];
    const open = (user: string | undefined) => {
      const ws = new WebSocket(`${gw.url.replace("http", "ws")}/v1/messages?userId=${user}`);
      const frames: Array<{ type: string; ref?: string; message?: { body: string; senderId: string } }> = [];
      ws.on("message", (d) => frames.push(JSON.parse(String(d))));
      return { ws, frames, opened: new Promise((r, j) => ws.once("open", r).once("error", j)) };
    };
    const a = open(alice);
    const b = open(bob);
    await Promise.all([a.opened, b.opened]);
    await sleep(300); // the feed registers bob's stream (LISTEN) asynchronously
    a.ws.send(JSON.stringify({ to: bob, body: "hello from e2e", ref: "e2e" }));
    await waitFor("bob to receive the message", async () => b.frames.some((f) => f.type === "message"), 5000);
    assert.equal(b.frames.find((f) => f.type === "message")?.message?.body, "hello from e2e");
    assert.equal(b.frames.find((f) => f.type === "message")?.message?.senderId, alice);
    await waitFor("alice's acknowledgement", async () => a.frames.some((f) => f.type === "sent"), 5000);
    a.ws.close();
    b.ws.close();
  });

  test("a WebSocket's feed stream resumes after its feed is killed: messages committed meanwhile arrive once, in order, and the socket stays open", async () => {
    const [alice, bob] = [userIds[3] as string, userIds[4] as string];
    // gw reaches feed A only; messages are sent through feed B, which shares the database.
    const sender = feedClient(feedB.grpcPort);
    const send = (body: string) =>
      call<object, { id: string }>(sender, "SendMessage", { senderId: alice, recipientId: bob, body });
    const ws = new WebSocket(`${gw.url.replace("http", "ws")}/v1/messages?userId=${bob}`);
    const bodies: string[] = [];
    let closed: number | undefined;
    ws.on("message", (d) => {
      const frame = JSON.parse(String(d)) as { type: string; message?: { body: string } };
      if (frame.type === "message" && frame.message) bodies.push(frame.message.body);
    });
    ws.on("close", (code) => {
      closed = code;
    });
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
    await sleep(300);
    await send("resume-1");
    await waitFor("the first message", async () => bodies.length === 1, 5000);

    feedA.child.kill("SIGKILL");
    await feedA.exited;
    await send("resume-2"); // committed while the socket's stream has no feed
    await send("resume-3");
    feedA = await startFeedProcess({ DATABASE_URL: databaseUrl, LOG_LEVEL: "warn" }, portsA);
    await waitFor("the messages committed during the outage", async () => bodies.length >= 3, 15_000);
    await send("resume-4");
    await waitFor("the live message after the resume", async () => bodies.length >= 4, 5000);
    await sleep(300); // a duplicate would have arrived by now
    assert.deepEqual(bodies, ["resume-1", "resume-2", "resume-3", "resume-4"]);
    assert.equal(closed, undefined, "the socket stayed open");
    const metrics = await (await fetch(`http://127.0.0.1:${gw.opsPort}/metrics`)).text();
    assert.match(metrics, /^gateway_message_stream_resumes_total [1-9]/m);
    ws.close();
    sender.close();
  });

  test("a client reconnecting with ?since= gets what was sent to it while it was away", async () => {
    const [alice, carol] = [userIds[3] as string, userIds[5] as string];
    const sender = feedClient(feedB.grpcPort);
    const before = new Date(Date.now() - 5000).toISOString();
    await call(sender, "SendMessage", { senderId: alice, recipientId: carol, body: "while you were away" });
    const ws = new WebSocket(`${gw.url.replace("http", "ws")}/v1/messages?userId=${carol}&since=${before}`);
    const bodies: string[] = [];
    ws.on("message", (d) => {
      const frame = JSON.parse(String(d)) as { type: string; message?: { body: string } };
      if (frame.type === "message" && frame.message) bodies.push(frame.message.body);
    });
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
    await waitFor("the replayed message", async () => bodies.includes("while you were away"), 5000);
    ws.close();
    sender.close();
  });

  test("two feed processes behind one target both serve GetFeed (from their own metrics)", async () => {
    const labels = { grpc_method: "GetFeed", grpc_code: "OK" };
    const before = [await scrapeSum(feedA.opsPort, "grpc_server_handled_total", labels)];
    before.push(await scrapeSum(feedB.opsPort, "grpc_server_handled_total", labels));
    for (let i = 0; i < 100; i += 1) {
      assert.equal((await fetch(`${gwSpread.url}/v1/feed?userId=${userIds[i % 20]}&limit=5`)).status, 200);
    }
    const deltas = [
      (await scrapeSum(feedA.opsPort, "grpc_server_handled_total", labels)) - (before[0] ?? 0),
      (await scrapeSum(feedB.opsPort, "grpc_server_handled_total", labels)) - (before[1] ?? 0),
    ];
    console.log(`load spread: feed A handled ${deltas[0]}, feed B handled ${deltas[1]} of 100 GetFeed`);
    assert.ok(
      deltas.every((d) => d >= 30),
      deltas.join(" / "),
    );
  });

  test("chaos: the feed is killed under steady traffic and restarted; stale pages, no request past its deadline", async () => {
    const keys = userIds.slice(0, 4).map((u) => `${gw.url}/v1/feed?userId=${u}&limit=10`);
    for (const key of keys) assert.equal((await fetch(key)).status, 200); // warm the stale cache
    type Sample = { phase: "before" | "outage" | "after"; status: number; stale: boolean; ms: number };
    const samples: Sample[] = [];
    let phase: Sample["phase"] = "before";
    let running = true;
    let sawOpen = false;
    const worker = async (w: number) => {
      for (let i = 0; running && i < 5000; i += 1) {
        const started = Date.now();
        const res = await fetch(keys[(w + i) % keys.length] as string, { signal: AbortSignal.timeout(5000) });
        await res.arrayBuffer();
        samples.push({
          phase,
          status: res.status,
          stale: res.headers.get("x-stale") === "true",
          ms: Date.now() - started,
        });
        await sleep(20); // bounded rate: about 4 x 40 requests a second
      }
    };
    const workers = [0, 1, 2, 3].map(worker);
    await sleep(1500);
    phase = "outage";
    feedA.child.kill("SIGKILL");
    await feedA.exited;
    const outageEnds = Date.now() + 4000;
    while (Date.now() < outageEnds) {
      if ((await scrapeSum(gw.opsPort, "gateway_circuit_breaker_state", { breaker: "feed" })) === 2)
        sawOpen = true;
      await sleep(200);
    }
    feedA = await startFeedProcess({ DATABASE_URL: databaseUrl, LOG_LEVEL: "warn" }, portsA);
    phase = "after";
    await waitFor(
      "the breaker to close and fresh pages",
      async () =>
        (await scrapeSum(gw.opsPort, "gateway_circuit_breaker_state", { breaker: "feed" })) === 0 &&
        samples.slice(-4).every((s) => s.status === 200 && !s.stale),
      20_000,
    );
    running = false;
    await Promise.all(workers);

    const outage = samples.filter((s) => s.phase === "outage");
    const errors = outage.filter((s) => s.status !== 200).length;
    const stale = outage.filter((s) => s.stale).length;
    const slowest = Math.max(...samples.map((s) => s.ms));
    console.log(
      `chaos: ${samples.length} requests; outage ${outage.length} requests, ${errors} errors ` +
        `(error rate ${((100 * errors) / outage.length).toFixed(1)} %), ${stale} served stale; slowest ${slowest} ms`,
    );
    assert.ok(sawOpen, "the breaker opened during the outage");
    assert.ok(stale > outage.length / 2, `most outage reads were served stale (${stale}/${outage.length})`);
    assert.ok(slowest < DEADLINE_MS + 700, `no request hung past its deadline: slowest ${slowest} ms`);
    assert.ok(outage.every((s) => s.status === 200 || s.status === 503 || s.status === 504));
    assert.ok(samples.filter((s) => s.phase === "before").every((s) => s.status === 200 && !s.stale));
  });

  test("SIGTERM with a drain delay: a kept-alive connection is still served, and each answer asks the client to close it", async () => {
    // Found by the drill on the real node: during a rollout a client's
    // kept-alive connection to the old replica got a 503 (a request that
    // arrived as the server closed). Answers in the drain delay carry
    // Connection: close, so clients move to a new connection (and replica)
    // before the gateway stops taking requests.
    const draining = await startGatewayProcess(
      {
        FEED_ADDRESS: `ipv4:127.0.0.1:${portsA.grpc}`,
        FEED_DEADLINE_MS: String(DEADLINE_MS),
        SHUTDOWN_DRAIN_DELAY_MS: "1500",
        SHUTDOWN_GRACE_MS: "5000",
      },
      { http: await freePort(), ops: await freePort() },
    );
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = () =>
      new Promise<{ status?: number; connection?: string }>((resolve, reject) => {
        http
          .get(`${draining.url}/v1/feed?userId=${userIds[0]}&limit=5`, { agent }, (res) => {
            res.resume();
            res.on("end", () => resolve({ status: res.statusCode, connection: res.headers.connection }));
          })
          .on("error", reject);
      });
    try {
      assert.deepEqual(await get(), { status: 200, connection: "keep-alive" });
      draining.child.kill("SIGTERM");
      await sleep(300);
      assert.deepEqual(await get(), { status: 200, connection: "close" }, "served in the drain delay");
      assert.equal(await draining.exited, 0, draining.output());
    } finally {
      agent.destroy();
      draining.child.kill("SIGKILL");
    }
  });

  test("SIGTERM: readiness off, open WebSockets get 1001, the process exits 0 within the grace period", async () => {
    const ws = new WebSocket(`${gw.url.replace("http", "ws")}/v1/messages?userId=${userIds[3]}`);
    await new Promise((r, j) => ws.once("open", r).once("error", j));
    const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
    const started = Date.now();
    gw.child.kill("SIGTERM");
    assert.equal(await closed, 1001);
    assert.equal(await gw.exited, 0, gw.output());
    assert.ok(Date.now() - started < 5000);
  });
});
