// WebSocket /v1/messages against a fake feed: the send/receive bridge, bad
// frames, heartbeats, back-pressure, breaker refusal and shutdown close codes.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { status } from "@grpc/grpc-js";
import { WebSocket } from "ws";
import { UNKNOWN_USER } from "./support/fake-feed";
import { gatewayOnFakeFeed, metricValue, sleep } from "./support/gateway";
import { rawWebSocket, refusedUpgrade } from "./support/raw-socket";

const ALICE = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
const BOB = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb";

type Frame = { type: string; ref?: string; code?: string; message?: { body: string; senderId: string } };

function connect(url: string, userId: string, headers: Record<string, string> = {}) {
  const ws = new WebSocket(`${url.replace("http", "ws")}/v1/messages?userId=${userId}`, { headers });
  const frames: Frame[] = [];
  let onSubscribed: () => void = () => {};
  const subscribed = new Promise<void>((resolve) => {
    onSubscribed = resolve;
  });
  ws.on("message", (data) => {
    const frame = JSON.parse(String(data)) as Frame;
    // "subscribed" may follow error or sent frames; tests wait for it on its own.
    if (frame.type === "subscribed") onSubscribed();
    else frames.push(frame);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  const opened = new Promise<void>((resolve, reject) =>
    ws.once("open", () => resolve()).once("error", reject),
  );
  return { ws, frames, closed, opened, subscribed };
}

async function until(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(10);
  }
}

describe("websocket messages bridge", () => {
  const fixture = gatewayOnFakeFeed({
    WS_PING_INTERVAL_MS: "200",
    WS_MAX_PAYLOAD_BYTES: "4096",
    WS_MAX_BUFFERED_BYTES: "65536",
    FEED_RETRY_MAX_ATTEMPTS: "0",
  });
  const { feed } = fixture;

  test("a frame sent by one user reaches the other's socket and is acknowledged to the sender", async () => {
    const alice = connect(fixture.gw.url, ALICE, { "x-request-id": "ws-rid-1" });
    const bob = connect(fixture.gw.url, BOB);
    await Promise.all([alice.opened, bob.opened]);
    // The subscribed frame comes first, once the feed stream is live.
    await Promise.all([alice.subscribed, bob.subscribed]);
    assert.equal(feed.openStreams(ALICE), 1);
    assert.equal(feed.openStreams(BOB), 1);
    assert.equal(await metricValue(fixture.gw.opsPort, "gateway_websocket_connections"), 2);
    alice.ws.send(JSON.stringify({ to: BOB, body: "hi bob", ref: "r-1" }));
    await until(() => bob.frames.length > 0 && alice.frames.length > 0);
    assert.deepEqual(
      {
        type: bob.frames[0]?.type,
        body: bob.frames[0]?.message?.body,
        from: bob.frames[0]?.message?.senderId,
      },
      { type: "message", body: "hi bob", from: ALICE },
    );
    assert.equal(alice.frames[0]?.type, "sent");
    assert.equal(alice.frames[0]?.ref, "r-1");
    assert.ok(feed.requestIds.includes("ws-rid-1"), "the upgrade's request id reached the feed");
    alice.ws.close();
    bob.ws.close();
    await until(() => feed.openStreams(ALICE) === 0 && feed.openStreams(BOB) === 0);
  });

  test("invalid JSON and wrong shapes get error frames and the socket stays open", async () => {
    const alice = connect(fixture.gw.url, ALICE);
    await alice.opened;
    const before = feed.calls.SendMessage;
    alice.ws.send("{not json");
    alice.ws.send(JSON.stringify({ to: "not-a-uuid", body: "x" }));
    alice.ws.send(JSON.stringify({ to: BOB, body: "" }));
    alice.ws.send(JSON.stringify({ to: BOB, body: "x".repeat(2001) }));
    alice.ws.send(JSON.stringify([1, 2, 3]));
    await until(() => alice.frames.length === 5);
    assert.deepEqual(
      alice.frames.map((f) => f.code),
      ["INVALID_JSON", "INVALID_ARGUMENT", "INVALID_ARGUMENT", "INVALID_ARGUMENT", "INVALID_ARGUMENT"],
    );
    assert.equal(feed.calls.SendMessage, before, "nothing malformed reached the feed");
    assert.equal(alice.ws.readyState, WebSocket.OPEN);
    alice.ws.close();
  });

  test("an oversized frame closes with 1009 and a binary frame with 1003", async () => {
    const big = connect(fixture.gw.url, ALICE);
    await big.opened;
    big.ws.send("x".repeat(5000));
    assert.equal((await big.closed).code, 1009);
    const binary = connect(fixture.gw.url, ALICE);
    await binary.opened;
    binary.ws.send(Buffer.from([1, 2, 3]));
    const closed = await binary.closed;
    assert.equal(closed.code, 1003);
    assert.match(closed.reason, /binary/);
  });

  test("a feed error on send becomes an error frame with the mapped code", async () => {
    const alice = connect(fixture.gw.url, ALICE);
    await alice.opened;
    feed.failNext(1, status.INVALID_ARGUMENT);
    alice.ws.send(JSON.stringify({ to: BOB, body: "hello", ref: "r-2" }));
    await until(() => alice.frames.length === 1);
    assert.equal(alice.frames[0]?.code, "INVALID_ARGUMENT");
    assert.equal(alice.frames[0]?.ref, "r-2");
    alice.ws.close();
  });

  test("a socket that never answers pings is dropped by the heartbeat", async () => {
    const socket = await rawWebSocket(fixture.gw.httpPort, `/v1/messages?userId=${ALICE}`);
    const started = Date.now();
    await new Promise((resolve) => socket.on("close", resolve));
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 2000, `dropped after ${elapsed} ms with a 200 ms ping interval`);
    await until(() => feed.openStreams(ALICE) === 0);
  });

  test("a client that stops reading is closed once its buffer passes the bound", async () => {
    const socket = await rawWebSocket(fixture.gw.httpPort, `/v1/messages?userId=${BOB}`);
    socket.on("error", () => {});
    socket.pause();
    await until(() => feed.openStreams(BOB) === 1);
    const body = "m".repeat(1500);
    let pushed = 0;
    for (let batch = 0; batch < 200 && feed.openStreams(BOB) > 0; batch += 1) {
      for (let i = 0; i < 200; i += 1) {
        feed.push(BOB, { id: `p-${pushed}`, senderId: ALICE, recipientId: BOB, body, createdAt: "" });
        pushed += 1;
      }
      await sleep(5);
    }
    console.log(
      `back-pressure: closed after ${pushed} pushed messages (${Math.round((pushed * 1.6) / 1024)} MB)`,
    );
    await until(() => feed.openStreams(BOB) === 0, 5000);
    socket.destroy();
    const live = await fetch(`http://127.0.0.1:${fixture.gw.opsPort}/health/live`);
    assert.equal(live.status, 200);
    await until(() => fixture.gw.sockets.size === 0, 3000);
  });

  test("a plain GET is 426; a bad userId or a malformed or future since is refused with 400 before the upgrade", async () => {
    assert.equal((await fetch(`${fixture.gw.url}/v1/messages?userId=${ALICE}`)).status, 426);
    const bad = connect(fixture.gw.url, "nope");
    await assert.rejects(bad.opened, /Unexpected server response: 400/);
    const badSince = connect(fixture.gw.url, `${ALICE}&since=yesterday`);
    await assert.rejects(badSince.opened, /Unexpected server response: 400/);
    // A resume point after now would make a resumed stream skip what arrives before it.
    const future = new Date(Date.now() + 3600_000).toISOString();
    const path = `/v1/messages?userId=${ALICE}&since=${encodeURIComponent(future)}`;
    const refused = await refusedUpgrade(fixture.gw.httpPort, path, {});
    assert.match(refused, /^HTTP\/1\.1 400 /);
    assert.match(refused, /since: must not be in the future/);
  });

  test("a socket whose first feed stream breaks before it is live still gets its subscribed frame, then messages", async () => {
    feed.failStreamsNext = 1;
    const bob = connect(fixture.gw.url, BOB);
    await bob.opened;
    const late = sleep(3000).then(() => Promise.reject(new Error("no subscribed frame within 3 s")));
    await Promise.race([bob.subscribed, late]);
    assert.equal(feed.openStreams(BOB), 1, "the resumed stream is live");
    feed.push(BOB, {
      id: "m-late",
      senderId: ALICE,
      recipientId: BOB,
      body: "after the resume",
      createdAt: new Date().toISOString(),
    });
    await until(() => bob.frames.some((f) => f.message?.body === "after the resume"));
    bob.ws.close();
    await until(() => feed.openStreams(BOB) === 0);
  });

  test("an unknown user's socket closes with 4404 (do not reconnect), not 1013 (try again)", async () => {
    const client = connect(fixture.gw.url, UNKNOWN_USER);
    await client.opened;
    const closed = await client.closed;
    assert.equal(closed.code, 4404);
    assert.match(closed.reason, /unknown user/);
  });

  test("a socket the gateway closes is freed even if the client never answers the close frame", async () => {
    // A raw client that ignores the close frame (as the blackbox exporter's
    // upgrade probe does): ws alone would hold the socket for 30 s.
    const socket = await rawWebSocket(fixture.gw.httpPort, `/v1/messages?userId=${UNKNOWN_USER}`);
    const started = Date.now();
    await new Promise((resolve) => socket.once("close", resolve));
    const heldMs = Date.now() - started;
    assert.ok(heldMs < 5000, `socket held ${heldMs} ms after the 4404 close`);
  });

  test("the 101 carries the request id, and handshakes the ws library refuses get the JSON error shape with one", async () => {
    const client = connect(fixture.gw.url, ALICE, { "x-request-id": "ws-rid-1" });
    const upgraded = new Promise<string | string[] | undefined>((resolve) =>
      client.ws.once("upgrade", (res) => resolve(res.headers["x-request-id"])),
    );
    await client.opened;
    assert.equal(await upgraded, "ws-rid-1");
    client.ws.close();
    const text = await refusedUpgrade(fixture.gw.httpPort, `/v1/messages?userId=${ALICE}`, {
      "Sec-WebSocket-Version": "99",
      "X-Request-Id": "ws-rid-2",
    });
    assert.match(text, /^HTTP\/1\.1 400 /);
    assert.match(text, /\r\nx-request-id: ws-rid-2\r\n/);
    const body = JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4));
    assert.deepEqual(body, {
      code: "INVALID_ARGUMENT",
      message: "Missing or invalid Sec-WebSocket-Version header",
      requestId: "ws-rid-2",
    });
  });

  test("upgrades pass the gateway's own hooks: refusals are counted, logged and carry the request id; other paths are 404", async () => {
    const upgrade = (path: string, requestId: string) =>
      refusedUpgrade(fixture.gw.httpPort, path, { "X-Request-Id": requestId });
    const counted = async (status: number) => {
      const text = await (await fetch(`http://127.0.0.1:${fixture.gw.opsPort}/metrics`)).text();
      const labels = ['method="GET"', 'route="/v1/messages"', `status_code="${status}"`];
      const line = text
        .split("\n")
        .find((l) => l.startsWith("http_requests_total{") && labels.every((x) => l.includes(x)));
      return line ? Number(line.split(" ").pop()) : 0;
    };
    const [refusedBefore, upgradedBefore] = [await counted(400), await counted(101)];

    const refused = await upgrade("/v1/messages?userId=nope", "ws-rid-3");
    assert.match(refused, /^HTTP\/1\.1 400 /);
    assert.match(refused, /\r\nx-request-id: ws-rid-3\r\n/i);
    const body = JSON.parse(refused.slice(refused.indexOf("\r\n\r\n") + 4));
    assert.equal(body.code, "INVALID_ARGUMENT");
    assert.equal(body.requestId, "ws-rid-3");
    assert.match(body.message, /userId/);
    assert.equal(await counted(400), refusedBefore + 1);

    for (const path of [`/v1/feed?userId=${ALICE}`, "/v1/nothing"]) {
      const answer = await upgrade(path, "ws-rid-4");
      assert.match(answer, /^HTTP\/1\.1 404 /, `${path}: ${answer.slice(0, 40)}`);
      assert.equal(JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)).code, "ROUTE_NOT_FOUND");
    }

    const client = connect(fixture.gw.url, ALICE);
    await client.opened;
    assert.equal(await counted(101), upgradedBefore + 1);
    client.ws.close();
  });

  test("shutdown closes open sockets with 1001", async () => {
    const client = connect(fixture.gw.url, ALICE);
    await client.opened;
    const [closed] = await Promise.all([client.closed, fixture.gw.close()]);
    assert.equal(closed.code, 1001);
    assert.equal(fixture.gw.ready(), false);
  });
});

describe("websocket under an open breaker", () => {
  const fixture = gatewayOnFakeFeed({
    FEED_RETRY_MAX_ATTEMPTS: "0",
    BREAKER_HALF_OPEN_AFTER_MS: "5000",
  });
  const { feed } = fixture;

  test("while the breaker is open the upgrade fails fast with 503 and Retry-After; sends get an error frame", async () => {
    const open = connect(fixture.gw.url, ALICE);
    await open.opened;
    feed.failWith = status.UNAVAILABLE;
    for (let i = 0; i < 3; i += 1) await fetch(`${fixture.gw.url}/v1/videos/${BOB}`);
    assert.equal(fixture.gw.feed.breakerOpen, true);
    open.ws.send(JSON.stringify({ to: BOB, body: "during outage" }));
    await until(() => open.frames.length === 1);
    assert.equal(open.frames[0]?.code, "FEED_CIRCUIT_OPEN");
    const refused = connect(fixture.gw.url, BOB);
    let retryAfter: string | undefined;
    refused.ws.on("unexpected-response", (_req, res) => {
      retryAfter = res.headers["retry-after"];
      refused.ws.terminate();
    });
    await assert.rejects(refused.opened);
    assert.equal(retryAfter, "5");
    feed.failWith = undefined;
    open.ws.close();
  });
});
