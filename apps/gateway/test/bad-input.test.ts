// Generated malformed HTTP requests and WebSocket frames: every one gets a
// 4xx (or an error frame / close code), none reaches the feed, and the
// gateway keeps serving.
import assert from "node:assert/strict";
import net from "node:net";
import { test } from "node:test";
import { WebSocket } from "ws";
import { VIDEO_IDS } from "./support/fake-feed";
import { gatewayOnFakeFeed, sleep } from "./support/gateway";

const USER = "44444444-4444-4444-8444-444444444444";
const VIDEO = VIDEO_IDS[0] as string;

// A small deterministic generator so a failure can be replayed.
let seed = 20260101;
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};
const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)] as T;

const BAD_IDS = [
  "",
  "1",
  "not-a-uuid",
  "'; DROP TABLE users; --",
  "%00",
  "%F0%9F%92%A9",
  "x".repeat(300),
  "..%2F..%2Fetc",
];
const BAD_LIMITS = ["0", "101", "-1", "1.5", "abc", "1e3", "", " 5", "99999999999999999999"];
const BAD_BODIES = [
  "{",
  "not json",
  "[]",
  "null",
  '"string"',
  "42",
  '{"userId":1}',
  '{"userId":null}',
  '{"userId":"nope"}',
  `{"userId":"${USER}","extra":true}`,
  '{"__proto__":{"polluted":true}}',
  `{"userId":"${USER}"`,
  "{}",
];

interface Probe {
  method: string;
  path: string;
  body?: string;
  headers?: Record<string, string>;
}

function generateRequests(count: number): Probe[] {
  const probes: Probe[] = [];
  const makers: Array<() => Probe> = [
    () => ({ method: "GET", path: `/v1/feed?userId=${encodeURIComponent(pick(BAD_IDS))}` }),
    () => ({ method: "GET", path: `/v1/feed?userId=${USER}&limit=${encodeURIComponent(pick(BAD_LIMITS))}` }),
    () => ({
      method: "GET",
      path: `/v1/feed?userId=${USER}&cursor=${"%3C".repeat(1 + Math.floor(rand() * 5))}`,
    }),
    () => ({ method: "GET", path: `/v1/feed?userId=${USER}&cursor=${"a".repeat(513)}` }),
    () => ({ method: "GET", path: `/v1/feed?userId=${USER}&userId=${USER}` }),
    () => ({ method: "GET", path: `/v1/feed?userId=${USER}&unknown=1` }),
    () => ({ method: "GET", path: "/v1/feed" }),
    () => ({ method: "GET", path: `/v1/videos/${encodeURIComponent(pick(BAD_IDS)) || "%20"}` }),
    () => ({
      method: "POST",
      path: `/v1/videos/${VIDEO}/likes`,
      body: pick(BAD_BODIES),
      headers: { "content-type": "application/json" },
    }),
    () => ({
      method: "POST",
      path: `/v1/videos/${encodeURIComponent(pick(BAD_IDS)) || "x"}/likes`,
      body: JSON.stringify({ userId: USER }),
      headers: { "content-type": "application/json" },
    }),
    () => ({
      method: "POST",
      path: `/v1/videos/${VIDEO}/likes`,
      body: JSON.stringify({ userId: USER, pad: "x".repeat(20_000) }),
      headers: { "content-type": "application/json" },
    }),
    () => ({
      method: "POST",
      path: `/v1/videos/${VIDEO}/likes`,
      body: `userId=${USER}`,
      headers: {
        "content-type": pick(["text/plain", "application/x-www-form-urlencoded", "application/xml"]),
      },
    }),
    () => ({ method: pick(["PUT", "DELETE", "PATCH"]), path: pick(["/v1/feed", `/v1/videos/${VIDEO}`]) }),
    () => ({ method: "GET", path: `/v1/videos/${VIDEO}/likes` }),
    () => ({
      method: "GET",
      path: pick(["/", "/v2/feed", "/v1", "/admin", "/v1/videos", "/%2e%2e/etc/passwd"]),
    }),
  ];
  for (let i = 0; i < count; i += 1) probes.push(pick(makers)());
  return probes;
}

const fixture = gatewayOnFakeFeed({ WS_MAX_PAYLOAD_BYTES: "4096" });
const { feed } = fixture;

test("400 generated malformed HTTP requests get 4xx JSON errors and never reach the feed", async () => {
  const probes = generateRequests(400);
  const statuses = new Map<number, number>();
  const feedCallsBefore = feed.totalCalls();
  for (const probe of probes) {
    const res = await fetch(`${fixture.gw.url}${probe.path}`, {
      method: probe.method,
      body: probe.body,
      headers: probe.headers,
    });
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    const text = await res.text();
    assert.ok(
      res.status >= 400 && res.status < 500,
      `${probe.method} ${probe.path} -> ${res.status} ${text}`,
    );
    const body = JSON.parse(text) as { code: string; requestId: string };
    assert.ok(body.code && body.requestId, text);
    assert.doesNotMatch(text, /\.ts:\d+|node_modules/);
  }
  console.log(`bad-input HTTP status counts: ${JSON.stringify(Object.fromEntries(statuses))}`);
  assert.equal(feed.totalCalls(), feedCallsBefore, "no malformed request reached the feed");
  assert.ok(statuses.get(405), "wrong methods on known routes are 405");
});

test("a wrong method on a known path is 405 with the route's methods in Allow, from the routes themselves", async () => {
  for (const [method, path, allow] of [
    ["PUT", "/v1/feed", "GET, HEAD"],
    ["DELETE", "/v1/videos/abc", "GET, HEAD"],
    ["GET", "/v1/videos/abc/likes", "POST"],
    ["POST", "/v1/messages/", "GET, HEAD"],
  ] as const) {
    const res = await fetch(`${fixture.gw.url}${path}`, { method });
    assert.equal(res.status, 405, `${method} ${path}`);
    assert.equal(res.headers.get("allow"), allow, `${method} ${path}`);
    assert.equal(((await res.json()) as { code: string }).code, "METHOD_NOT_ALLOWED");
  }
  assert.equal((await fetch(`${fixture.gw.url}/v1/nothing`, { method: "PUT" })).status, 404);
});

test("raw malformed HTTP on the socket gets a 4xx or a closed connection, never a crash", async () => {
  const raws = [
    "GARBAGE\r\n\r\n",
    "GET /v1/feed HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    `GET /v1/feed?userId=${USER} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n`,
    `GET /${"a".repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
    "GET /v1/messages?userId=nope HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    "GET /elsewhere HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
  ];
  for (const raw of raws) {
    const answer = await new Promise<string>((resolve) => {
      const socket = net.connect(fixture.gw.httpPort, "127.0.0.1", () => socket.write(raw));
      let data = "";
      socket.on("data", (chunk) => {
        data += chunk.toString("latin1");
      });
      socket.on("error", () => resolve(data));
      socket.on("close", () => resolve(data));
      setTimeout(() => socket.destroy(), 2000).unref();
    });
    const statusCode = Number(answer.split(" ")[1] ?? 0);
    assert.ok(
      answer === "" || (statusCode >= 400 && statusCode < 500),
      `${JSON.stringify(raw.slice(0, 40))} -> ${answer.slice(0, 80)}`,
    );
  }
});

test("300 generated malformed WebSocket frames get error frames or close codes; the gateway keeps serving", async () => {
  const frames: Array<string | Buffer> = [];
  const shapes: Array<() => string | Buffer> = [
    () => "{".repeat(1 + Math.floor(rand() * 10)),
    () => JSON.stringify({ to: pick(BAD_IDS), body: "hi" }),
    () => JSON.stringify({ to: USER, body: pick(["", 42, null, [], "x".repeat(2001), "nul \u0000 inside"]) }),
    () => JSON.stringify({ to: USER }),
    () => JSON.stringify({ body: "no recipient" }),
    () => JSON.stringify({ to: USER, body: "hi", extra: 1 }),
    () => pick(["null", "[]", "42", '"s"', "true"]),
    () => Buffer.from([0xff, 0xfe, 0xfd]),
    () => "x".repeat(5000),
  ];
  for (let i = 0; i < 300; i += 1) frames.push(pick(shapes)());
  const feedSendsBefore = feed.calls.SendMessage;
  const closeCodes = new Map<number, number>();
  let errorFrames = 0;
  let ws: WebSocket | undefined;
  const open = async () => {
    const socket = new WebSocket(`ws://127.0.0.1:${fixture.gw.httpPort}/v1/messages?userId=${USER}`);
    socket.on("message", (data) => {
      const frame = JSON.parse(String(data)) as { type: string };
      if (frame.type === "error") errorFrames += 1;
    });
    socket.on("close", (code) => closeCodes.set(code, (closeCodes.get(code) ?? 0) + 1));
    socket.on("error", () => {});
    await new Promise((resolve) => socket.once("open", resolve));
    return socket;
  };
  for (const frame of frames) {
    if (!ws || ws.readyState !== WebSocket.OPEN) ws = await open();
    ws.send(frame);
    if (Buffer.isBuffer(frame) || frame.length > 4096) {
      const socket = ws;
      await new Promise((resolve) =>
        socket.readyState === WebSocket.CLOSED ? resolve(0) : socket.once("close", resolve),
      );
    }
  }
  await sleep(200);
  ws?.close();
  console.log(
    `bad-input WS: ${errorFrames} error frames, close codes ${JSON.stringify(Object.fromEntries(closeCodes))}`,
  );
  assert.equal(feed.calls.SendMessage, feedSendsBefore, "no malformed frame reached the feed");
  assert.ok(errorFrames > 100);
  for (const code of closeCodes.keys())
    assert.ok([1000, 1003, 1005, 1009].includes(code), `close code ${code}`);
  const res = await fetch(`${fixture.gw.url}/v1/feed?userId=${USER}`);
  assert.equal(res.status, 200, "still serving after the fuzz");
  const metrics = await (await fetch(`http://127.0.0.1:${fixture.gw.opsPort}/metrics`)).text();
  assert.doesNotMatch(metrics, /http_requests_total\{[^}]*status_code="5\d\d"/, "no 5xx was counted");
});

test("a message body with a NUL character gets an INVALID_ARGUMENT frame naming it and never reaches the feed", async () => {
  const sendsBefore = feed.calls.SendMessage;
  const ws = new WebSocket(`ws://127.0.0.1:${fixture.gw.httpPort}/v1/messages?userId=${USER}`);
  try {
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
    const reply = new Promise<{ type: string; code: string; message: string }>((resolve) =>
      ws.once("message", (data) => resolve(JSON.parse(String(data)))),
    );
    ws.send(JSON.stringify({ to: USER, body: "before\u0000after", ref: "nul" }));
    const frame = await reply;
    assert.equal(frame.type, "error");
    assert.equal(frame.code, "INVALID_ARGUMENT");
    assert.match(frame.message, /body: must not contain NUL/);
    assert.equal(feed.calls.SendMessage, sendsBefore);
  } finally {
    ws.close();
  }
});
