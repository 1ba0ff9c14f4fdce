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

const LIKE_PATH = "/v1/videos/00000000-0000-4000-8000-000000000001/likes";
const UPLOAD_BYTES = 3 * 1024 * 1024;

/**
 * A client that is still writing its body when the server answers, and reads
 * only once it is done writing (as Node's http.request and most scripts do):
 * the first chunk, a pause in which the gateway answers, the rest (then its
 * end of the connection), then read.
 */
function uploadThenRead(headers: string, body: Buffer, limitMs = 8000) {
  return new Promise<{ text: string; writeError?: string }>((resolve) => {
    const socket = net.connect(fx.gw.httpPort, "127.0.0.1");
    let text = "";
    let writeError: string | undefined;
    const timer = setTimeout(() => socket.destroy(), limitMs);
    socket.pause();
    socket.on("error", (err: NodeJS.ErrnoException) => {
      writeError ??= err.code;
    });
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ text, writeError });
    });
    socket.on("connect", () => {
      socket.write(headers);
      socket.write(body.subarray(0, 65_536));
      // The answer has arrived (unread) and the gateway had time to act on it.
      socket.once("readable", () =>
        setTimeout(() => {
          socket.end(body.subarray(65_536), () => {
            socket.on("data", (c: Buffer) => {
              text += c.toString("latin1");
            });
            socket.resume();
          });
        }, 100),
      );
    });
  });
}

test("a body over the limit gets its 413 even when the client writes all of it before reading", async () => {
  const body = Buffer.alloc(UPLOAD_BYTES, "a");
  const head = (framing: string) =>
    `POST ${LIKE_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${framing}\r\n`;
  const lost: string[] = [];
  for (let i = 0; i < 20; i++) {
    const { text, writeError } = await uploadThenRead(head(`Content-Length: ${UPLOAD_BYTES}\r\n`), body);
    if (writeError || !/^HTTP\/1\.1 413 /.test(text) || !text.includes('"code":"PAYLOAD_TOO_LARGE"')) {
      lost.push(`raw ${i}: ${writeError ?? "no error"}, got ${JSON.stringify(text.slice(0, 40))}`);
    }
  }
  // Node's http.request writes the body before it reads the response too.
  for (let i = 0; i < 40; i++) {
    const answer = await new Promise<string>((resolve) => {
      const req = http.request(
        {
          host: "127.0.0.1",
          port: fx.gw.httpPort,
          method: "POST",
          path: LIKE_PATH,
          agent: false,
          headers: { "content-type": "application/json", "content-length": UPLOAD_BYTES },
        },
        (res) => {
          let text = "";
          res.on("data", (c) => {
            text += c;
          });
          res.on("end", () => resolve(`${res.statusCode} ${text}`));
          res.on("error", (err: NodeJS.ErrnoException) => resolve(`response ${err.code}`));
        },
      );
      req.on("error", (err: NodeJS.ErrnoException) => resolve(`request ${err.code}`));
      req.end(body);
    });
    if (!answer.startsWith("413 ") || !answer.includes("PAYLOAD_TOO_LARGE")) {
      lost.push(`http.request ${i}: ${answer.slice(0, 60)}`);
    }
  }
  assert.deepEqual(lost, [], "clients that never saw the 413");
});

test("discarding a refused body is bounded: a slow uploader is closed at the request timeout with one answer, an endless one past the byte limit", async () => {
  const head = `POST ${LIKE_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n`;
  const slow = await rawExchange((s) => {
    s.write(head);
    const trickle = setInterval(() => (s.writable ? s.write("a".repeat(100)) : clearInterval(trickle)), 100);
    s.on("close", () => clearInterval(trickle));
  }, 6000);
  assert.match(slow.text, /^HTTP\/1\.1 413 /);
  assert.equal(slow.text.match(/HTTP\/1\.1 /g)?.length, 1, "no 408 after the 413");
  assert.ok(slow.closedAfterMs < 4000, `closed after ${Math.round(slow.closedAfterMs)} ms`);

  let sent = 0;
  const endless = await rawExchange((s) => {
    s.write(head);
    const chunk = Buffer.alloc(256 * 1024, "a");
    const pump = () => {
      while (s.writable && sent < 64 * 1024 * 1024) {
        sent += chunk.length;
        if (!s.write(chunk)) return void s.once("drain", pump);
      }
    };
    pump();
  }, 6000);
  assert.match(endless.text, /^HTTP\/1\.1 413 /);
  assert.ok(sent < 64 * 1024 * 1024, `the gateway read all ${sent} bytes`);
});

test("once a refused body is drained, the same keep-alive connection serves the next request", async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const refused = await new Promise<{ status: number; connection?: string }>((resolve, reject) => {
      const req = http.request(
        {
          host: "127.0.0.1",
          port: fx.gw.httpPort,
          method: "POST",
          path: LIKE_PATH,
          agent,
          headers: { "content-type": "application/json" },
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
        },
      );
      req.on("error", reject);
      req.end(Buffer.alloc(100_000, "a"));
    });
    assert.equal(refused.status, 413);
    // HTTP/1.1 without `Connection: close` is keep-alive.
    assert.equal(refused.connection, undefined);
    assert.equal((await get(agent, "GET")).status, 200);
  } finally {
    agent.destroy();
  }
});
