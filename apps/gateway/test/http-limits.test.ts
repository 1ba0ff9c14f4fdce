// Requests that never become requests: oversized headers and slow clients are
// refused by the HTTP server itself, in the same error shape as every other
// error, and the connection is closed in a way keep-alive clients understand.
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { test } from "node:test";
import { gatewayOnFakeFeed, sleep } from "./support/gateway";

const USER = "44444444-4444-4444-8444-444444444444";
const fx = gatewayOnFakeFeed({ HTTP_REQUEST_TIMEOUT_MS: "1000" });

function get(agent: http.Agent, method: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>(
    (resolve, reject) => {
      const req = http.request(
        { host: "127.0.0.1", port: fx.gw.httpPort, method, path: `/v1/feed?userId=${USER}`, agent, headers },
        (res) => {
          let body = "";
          res.on("data", (c) => {
            body += c;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        },
      );
      req.on("error", reject);
      req.end();
    },
  );
}

/** Everything the server sends on one raw connection until it closes it (bounded). */
function rawExchange(write: (socket: net.Socket) => void, limitMs: number) {
  return new Promise<{ text: string; closedAfterMs: number }>((resolve, reject) => {
    const started = performance.now();
    const socket = net.connect(fx.gw.httpPort, "127.0.0.1");
    let text = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the connection open for ${limitMs} ms; got: ${text.slice(0, 80)}`));
    }, limitMs);
    socket.on("data", (c) => {
      text += c.toString("latin1");
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ text, closedAfterMs: performance.now() - started });
    });
    socket.on("connect", () => write(socket));
  });
}

test("oversized headers get 431 with Connection: close, the JSON error shape and a request id; the keep-alive client's next request succeeds", async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let i = 0; i < 20; i++) {
      const big = await get(agent, "GET", { "x-padding": "a".repeat(20_000) });
      assert.equal(big.status, 431);
      assert.equal(big.headers.connection, "close");
      assert.match(String(big.headers["x-request-id"]), /^[0-9a-f-]{36}$/);
      const body = JSON.parse(big.body);
      assert.deepEqual(Object.keys(body).sort(), ["code", "message", "requestId"]);
      assert.equal(body.code, "HEADERS_TOO_LARGE");
      assert.equal(body.requestId, big.headers["x-request-id"]);
      const next = await get(agent, "GET");
      assert.equal(next.status, 200, `request ${i} after the 431`);
    }
  } finally {
    agent.destroy();
  }
});

test("a HEAD with oversized headers gets 431 headers and no body", async () => {
  const { text } = await rawExchange((s) => {
    s.write(`HEAD /v1/feed?userId=${USER} HTTP/1.1\r\nHost: x\r\nX-Padding: ${"a".repeat(20_000)}\r\n\r\n`);
  }, 5000);
  assert.match(text, /^HTTP\/1\.1 431 /);
  assert.match(text, /\r\nconnection: close\r\n/i);
  assert.ok(text.endsWith("\r\n\r\n"), `no body after the headers: ${JSON.stringify(text.slice(-60))}`);
});

test("a body sent slowly gets 408 and its connection closed once the request timeout passes", async () => {
  const { text, closedAfterMs } = await rawExchange((s) => {
    s.write(
      `POST /v1/videos/00000000-0000-4000-8000-000000000001/likes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{`,
    );
    // One byte every 200 ms: always something arriving, never the whole body.
    const trickle = setInterval(() => (s.writable ? s.write(" ") : clearInterval(trickle)), 200);
    s.on("close", () => clearInterval(trickle));
  }, 6000);
  assert.match(text, /^HTTP\/1\.1 408 /);
  assert.match(text, /"code":"REQUEST_TIMEOUT"/);
  assert.ok(closedAfterMs >= 900 && closedAfterMs < 4000, `closed after ${Math.round(closedAfterMs)} ms`);
});

test("headers sent slowly get 408 too, and the gateway keeps serving", async () => {
  const { text } = await rawExchange((s) => {
    s.write("GET /v1/feed HTTP/1.1\r\nHost: x\r\n");
    let n = 0;
    const trickle = setInterval(
      () => (s.writable ? s.write(`X-Slow-${n++}: 1\r\n`) : clearInterval(trickle)),
      200,
    );
    s.on("close", () => clearInterval(trickle));
  }, 6000);
  assert.match(text, /^HTTP\/1\.1 408 /);
  await sleep(10);
  const agent = new http.Agent({ keepAlive: false });
  assert.equal((await get(agent, "GET")).status, 200);
});
