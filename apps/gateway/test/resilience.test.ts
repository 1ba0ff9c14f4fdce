// The gateway against a fake feed it can break on command: deadlines, which
// codes are retried, the retry budget, the breaker with its stale pages,
// status mapping, request ids and round_robin over two feed servers.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { status } from "@grpc/grpc-js";
import { RetryBudget } from "../src/retry-budget";
import { FakeFeed, VIDEO_IDS } from "./support/fake-feed";
import { gatewayOnFakeFeed, metricValue, sleep, startTestGateway } from "./support/gateway";

const USER = "44444444-4444-4444-8444-444444444444";
const VIDEO = VIDEO_IDS[0] as string;

describe("deadlines and retries", () => {
  // A high breaker threshold keeps these cases about retries alone.
  const fixture = gatewayOnFakeFeed({ BREAKER_CONSECUTIVE_FAILURES: "1000" });
  const { feed } = fixture;

  test("a slow feed answers 504 within the deadline, retries included", async () => {
    feed.delayMs = 2000;
    const started = Date.now();
    const res = await fetch(`${fixture.gw.url}/v1/videos/${VIDEO}`);
    const elapsed = Date.now() - started;
    feed.delayMs = 0;
    assert.equal(res.status, 504);
    const body = (await res.json()) as { code: string; requestId: string };
    assert.equal(body.code, "DEADLINE_EXCEEDED");
    assert.ok(body.requestId);
    assert.ok(elapsed < 300 + 300, `took ${elapsed} ms with a 300 ms deadline`);
  });

  test("UNAVAILABLE and DEADLINE_EXCEEDED are retried and the call succeeds", async () => {
    for (const code of [status.UNAVAILABLE, status.DEADLINE_EXCEEDED]) {
      const before = feed.calls.GetVideo;
      const retriesBefore = await metricValue(
        fixture.gw.opsPort,
        "gateway_feed_retries_total",
        'method="GetVideo"',
      );
      feed.failNext(1, code);
      const res = await fetch(`${fixture.gw.url}/v1/videos/${VIDEO}`);
      assert.equal(res.status, 200, `after one ${status[code]}`);
      assert.equal(feed.calls.GetVideo - before, 2);
      assert.equal(
        await metricValue(fixture.gw.opsPort, "gateway_feed_retries_total", 'method="GetVideo"'),
        retriesBefore + 1,
      );
    }
  });

  test("a like's retries carry one idempotency key: the client's Idempotency-Key, else one made per request", async () => {
    const like = (headers: Record<string, string> = {}) =>
      fetch(`${fixture.gw.url}/v1/videos/${VIDEO}/likes`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ userId: USER }),
      });
    feed.likeKeys = [];
    feed.failNext(2, status.UNAVAILABLE);
    assert.equal((await like()).status, 200);
    const [made, ...retries] = feed.likeKeys;
    assert.match(made ?? "", /^[0-9a-f-]{36}$/);
    assert.deepEqual(retries, [made, made], "the retries reuse the first attempt's key");
    assert.equal((await like()).status, 200);
    assert.notEqual(feed.likeKeys[3], made, "a new request gets a new key");

    feed.likeKeys = [];
    assert.equal((await like({ "idempotency-key": "client-key-1" })).status, 200);
    assert.deepEqual(feed.likeKeys, ["client-key-1"]);
    const bad = await like({ "idempotency-key": "no spaces allowed" });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { message: string }).message, /^Idempotency-Key: /);
    assert.equal(feed.likeKeys.length, 1, "a bad key reaches no feed");
  });

  test("other codes are not retried", async () => {
    for (const code of [
      status.INVALID_ARGUMENT,
      status.NOT_FOUND,
      status.INTERNAL,
      status.RESOURCE_EXHAUSTED,
    ]) {
      const before = feed.calls.GetVideo;
      feed.failNext(1, code);
      const res = await fetch(`${fixture.gw.url}/v1/videos/${VIDEO}`);
      assert.notEqual(res.status, 200);
      assert.equal(feed.calls.GetVideo - before, 1, `${status[code]} was retried`);
    }
  });

  test("SendMessage is not retried after DEADLINE_EXCEEDED (it may have been stored)", async () => {
    const { WebSocket } = await import("ws");
    const ws = new WebSocket(`${fixture.gw.url.replace("http", "ws")}/v1/messages?userId=${USER}`);
    // The first frame says the socket's stream is live.
    const subscribed = new Promise((resolve) => ws.once("message", resolve));
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
    await subscribed;
    const before = feed.calls.SendMessage;
    feed.failNext(1, status.DEADLINE_EXCEEDED);
    ws.send(JSON.stringify({ to: VIDEO, body: "hello", ref: "r1" }));
    const frame = await new Promise<{ type: string; code: string }>((resolve) =>
      ws.once("message", (data) => resolve(JSON.parse(String(data)))),
    );
    ws.close();
    assert.equal(frame.type, "error");
    assert.equal(frame.code, "DEADLINE_EXCEEDED");
    assert.equal(feed.calls.SendMessage - before, 1);
  });

  test("the retry budget caps retries while every call fails", async () => {
    feed.failWith = status.UNAVAILABLE;
    const before = feed.calls.GetVideo;
    const requests = 60;
    for (let i = 0; i < requests; i += 1) {
      const res = await fetch(`${fixture.gw.url}/v1/videos/${VIDEO}`);
      assert.equal(res.status, 503);
      assert.ok(res.headers.get("retry-after"));
    }
    feed.failWith = undefined;
    const attempts = feed.calls.GetVideo - before;
    // Without a budget: 3 attempts each (180). With it: the initial bucket
    // (<= 50 tokens) plus 20 % of calls plus the slow refill.
    console.log(`retry budget: ${requests} failing requests made ${attempts} feed attempts`);
    assert.ok(attempts < requests * 2, `${attempts} attempts for ${requests} requests`);
  });

  test("RetryBudget spends a token per retry and refills by ratio and time", () => {
    let now = 0;
    const budget = new RetryBudget(0.5, 1, 2, () => now);
    assert.equal(budget.tryWithdraw(), true);
    assert.equal(budget.tryWithdraw(), true);
    assert.equal(budget.tryWithdraw(), false);
    budget.deposit();
    budget.deposit();
    assert.equal(budget.tryWithdraw(), true);
    assert.equal(budget.tryWithdraw(), false);
    now += 1000;
    assert.equal(budget.tryWithdraw(), true);
  });
});

describe("circuit breaker and stale pages", () => {
  const fixture = gatewayOnFakeFeed({ FEED_RETRY_MAX_ATTEMPTS: "0" });
  const { feed } = fixture;

  test("the breaker opens, serves the last good page marked stale, fails likes fast, and closes after recovery", async () => {
    const page = `${fixture.gw.url}/v1/feed?userId=${USER}&limit=2`;
    const fresh = await fetch(page);
    assert.equal(fresh.status, 200);
    const freshBody = (await fresh.json()) as { videos: unknown[]; stale: boolean };
    assert.equal(freshBody.stale, false);
    assert.equal(freshBody.videos.length, 2);

    feed.failWith = status.UNAVAILABLE;
    for (let i = 0; i < 3; i += 1) {
      assert.equal((await fetch(`${fixture.gw.url}/v1/videos/${VIDEO}`)).status, 503);
    }
    assert.equal(await metricValue(fixture.gw.opsPort, "gateway_circuit_breaker_state", 'breaker="feed"'), 2);
    const callsWhileOpen = feed.totalCalls();

    const stale = await fetch(page);
    assert.equal(stale.status, 200);
    assert.equal(stale.headers.get("x-stale"), "true");
    const staleBody = (await stale.json()) as { videos: unknown[]; stale: boolean };
    assert.equal(staleBody.stale, true);
    assert.deepEqual(staleBody.videos, freshBody.videos);

    const otherPage = await fetch(`${fixture.gw.url}/v1/feed?userId=${USER}&limit=3`);
    assert.equal(otherPage.status, 503, "a page never served has nothing stale to give");
    const like = await fetch(`${fixture.gw.url}/v1/videos/${VIDEO}/likes`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ userId: USER }),
    });
    assert.equal(like.status, 503);
    assert.equal(like.headers.get("retry-after"), "1");
    assert.equal(((await like.json()) as { code: string }).code, "FEED_CIRCUIT_OPEN");
    assert.equal(feed.totalCalls(), callsWhileOpen, "nothing reached the feed while the breaker was open");
    assert.ok(await metricValue(fixture.gw.opsPort, "gateway_feed_stale_responses_total"));
    const ready = await fetch(`http://127.0.0.1:${fixture.gw.opsPort}/health/ready`);
    assert.equal(ready.status, 200, "ready while serving stale pages");

    feed.failWith = undefined;
    await sleep(350);
    const recovered = await fetch(page);
    assert.equal(recovered.status, 200);
    assert.equal(recovered.headers.get("x-stale"), null);
    assert.equal(((await recovered.json()) as { stale: boolean }).stale, false);
    assert.equal(await metricValue(fixture.gw.opsPort, "gateway_circuit_breaker_state", 'breaker="feed"'), 0);
  });

  test("a feed that disappears gets fast 503s, then stale pages, never a hang", async () => {
    const page = `${fixture.gw.url}/v1/feed?userId=${USER}&limit=1`;
    assert.equal((await fetch(page)).status, 200);
    const port = feed.port;
    feed.stop();
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1) {
      const started = Date.now();
      const res = await fetch(page);
      statuses.push(res.status);
      assert.ok(
        Date.now() - started < 600,
        "answered within the deadline (300 ms) plus slack for a busy machine",
      );
    }
    assert.ok(statuses.includes(200), `stale page served: ${statuses.join(",")}`);
    assert.ok(
      statuses.every((s) => s === 200 || s === 503),
      statuses.join(","),
    );
    await feed.start(port);
    let recovered = false;
    for (let i = 0; i < 40 && !recovered; i += 1) {
      await sleep(100);
      const res = await fetch(page);
      recovered = res.status === 200 && res.headers.get("x-stale") === null;
    }
    assert.ok(recovered, "fresh pages again after the feed came back");
  });
});

describe("status mapping and request ids", () => {
  const fixture = gatewayOnFakeFeed({
    FEED_RETRY_MAX_ATTEMPTS: "0",
    BREAKER_CONSECUTIVE_FAILURES: "1000",
  });
  const { feed } = fixture;

  const cases: Array<[status, number]> = [
    [status.INVALID_ARGUMENT, 400],
    [status.NOT_FOUND, 404],
    [status.ALREADY_EXISTS, 409],
    [status.RESOURCE_EXHAUSTED, 429],
    [status.UNAVAILABLE, 503],
    [status.DEADLINE_EXCEEDED, 504],
    [status.INTERNAL, 502],
    [status.UNKNOWN, 502],
    [status.UNIMPLEMENTED, 501],
    [status.PERMISSION_DENIED, 403],
  ];
  for (const [code, http] of cases) {
    test(`gRPC ${status[code]} becomes HTTP ${http} with a JSON body and no stack`, async () => {
      feed.failNext(1, code);
      const res = await fetch(`${fixture.gw.url}/v1/videos/${VIDEO}`, {
        headers: { "x-request-id": "map-1" },
      });
      assert.equal(res.status, http);
      const body = (await res.json()) as Record<string, string>;
      assert.deepEqual(Object.keys(body).sort(), ["code", "message", "requestId"]);
      assert.equal(body.code, status[code]);
      assert.equal(body.requestId, "map-1");
      assert.doesNotMatch(JSON.stringify(body), /\bat \S+ \(|\.ts:\d+/);
    });
  }

  test("a valid x-request-id is returned and passed to the feed as gRPC metadata", async () => {
    const res = await fetch(`${fixture.gw.url}/v1/feed?userId=${USER}`, {
      headers: { "x-request-id": "req-abc.123" },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-request-id"), "req-abc.123");
    assert.equal(feed.requestIds.at(-1), "req-abc.123");
  });

  test("an invalid or oversized x-request-id is replaced by a generated one", async () => {
    for (const bad of ["has spaces", "x".repeat(200), "semi;colon", ""]) {
      const res = await fetch(`${fixture.gw.url}/v1/feed?userId=${USER}`, {
        headers: { "x-request-id": bad },
      });
      const id = res.headers.get("x-request-id") ?? "";
      assert.match(id, /^[0-9a-f-]{36}$/);
      assert.equal(feed.requestIds.at(-1), id);
    }
  });
});

describe("round_robin over two feed servers", () => {
  const feeds = [new FakeFeed(), new FakeFeed()];
  let gw: Awaited<ReturnType<typeof startTestGateway>>;
  before(async () => {
    for (const f of feeds) await f.start();
    // The ipv4: scheme takes a comma-separated address list: the same shape a
    // dns:/// name of a headless Service resolves to, without a DNS server.
    gw = await startTestGateway(`ipv4:127.0.0.1:${feeds[0]?.port},127.0.0.1:${feeds[1]?.port}`);
  });
  after(async () => {
    await gw.close();
    for (const f of feeds) f.stop();
  });

  test("both servers receive GetFeed calls", async () => {
    for (let i = 0; i < 40; i += 1) {
      assert.equal((await fetch(`${gw.url}/v1/feed?userId=${USER}`)).status, 200);
    }
    const counts = feeds.map((f) => f.calls.GetFeed);
    console.log(`round_robin: GetFeed calls per server ${counts.join(" / ")}`);
    assert.ok(
      counts.every((c) => c >= 10),
      counts.join(","),
    );
  });
});
