// The load of issue 29's RSS report, one round at a time: malformed inputs
// (HTTP requests fastify refuses, bytes Node's HTTP parser refuses, WebSocket
// frames the gateway or ws refuses) and WebSocket connect/disconnect cycles
// with a real user, against a gateway on loopback. Deterministic, so two runs
// send the same bytes. Used by the gateway memory test and its bench script.
import http from "node:http";
import net from "node:net";
import { WebSocket } from "ws";

export interface AbuseRound {
  /** Malformed inputs in all (HTTP requests, raw HTTP, WebSocket frames). */
  inputs: number;
  /** WebSocket connect/disconnect cycles of a real user. */
  cycles: number;
  /** Clients at once. */
  concurrency: number;
}

export interface AbuseTarget {
  httpPort: number;
  /** An existing user: its sockets subscribe to the feed's message stream. */
  userId: string;
  videoId: string;
}

export interface AbuseCounts {
  http: number;
  raw: number;
  frames: number;
  cycles: number;
  /** Answers outside what a malformed input should get (5xx, a socket that never opened). */
  unexpected: string[];
}

const BAD_IDS = ["", "1", "not-a-uuid", "'; DROP TABLE users; --", "%00", "%F0%9F%92%A9", "x".repeat(300)];
const BAD_BODIES = ["{", "not json", "[]", "null", "42", '{"userId":1}', '{"userId":"nope"}', "{}"];

/** The i-th malformed HTTP request: method, path, body, content type. */
function badRequest(
  i: number,
  t: AbuseTarget,
): { method: string; path: string; body?: string; type?: string } {
  const id = encodeURIComponent(BAD_IDS[i % BAD_IDS.length] as string);
  switch (i % 9) {
    case 0:
      return { method: "GET", path: `/v1/feed?userId=${id}` };
    case 1:
      return {
        method: "GET",
        path: `/v1/feed?userId=${t.userId}&limit=${(i % 3) - 1}&cursor=${"%3C".repeat(i % 5)}`,
      };
    case 2:
      return { method: "GET", path: `/v1/videos/${id || "%20"}` };
    case 3:
      return {
        method: "POST",
        path: `/v1/videos/${t.videoId}/likes`,
        body: BAD_BODIES[i % BAD_BODIES.length],
        type: "application/json",
      };
    case 4:
      // Over the body limit: refused while it streams in.
      return {
        method: "POST",
        path: `/v1/videos/${t.videoId}/likes`,
        body: JSON.stringify({ userId: t.userId, pad: "x".repeat(20_000) }),
        type: "application/json",
      };
    case 5:
      return {
        method: "POST",
        path: `/v1/videos/${t.videoId}/likes`,
        body: `userId=${t.userId}`,
        type: "text/plain",
      };
    case 6:
      return { method: "PUT", path: "/v1/feed" };
    case 7:
      return { method: "GET", path: `/v1/messages?userId=${t.userId}` };
    default:
      return { method: "GET", path: `/admin/${"a".repeat(i % 200)}` };
  }
}

/** The i-th request Node's HTTP parser refuses (clientError), on a connection of its own. */
function badRaw(i: number): string {
  switch (i % 5) {
    case 0:
      return "GARBAGE\r\n\r\n";
    case 1:
      return "GET /v1/feed HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n";
    case 2:
      return "GET /v1/feed HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n";
    case 3:
      // Over the header size limit: 431.
      return `GET /${"a".repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`;
    default:
      return `GET /v1/feed HTTP/1.1\r\nHost: x\r\nX-Bad: ${"\u0001"}\r\n\r\n`;
  }
}

/** The i-th malformed frame; the last two kinds make the gateway (or ws) close the socket. */
function badFrame(i: number, t: AbuseTarget, maxPayload: number): { data: string | Buffer; closes: boolean } {
  switch (i % 8) {
    case 0:
      return { data: "{".repeat(1 + (i % 10)), closes: false };
    case 1:
      return { data: JSON.stringify({ to: BAD_IDS[i % BAD_IDS.length], body: "hi" }), closes: false };
    case 2:
      return { data: JSON.stringify({ to: t.userId, body: "x".repeat(2001) }), closes: false };
    case 3:
      return { data: JSON.stringify({ to: t.userId }), closes: false };
    case 4:
      return { data: JSON.stringify({ to: t.userId, body: "hi", extra: 1 }), closes: false };
    case 5:
      return { data: "null", closes: false };
    case 6:
      return { data: Buffer.from([0xff, 0xfe, 0xfd]), closes: true };
    default:
      return { data: "x".repeat(maxPayload + 1000), closes: true };
  }
}

function sendRequest(agent: http.Agent, port: number, req: ReturnType<typeof badRequest>): Promise<number> {
  return new Promise((resolve, reject) => {
    const r = http.request(
      {
        agent,
        host: "127.0.0.1",
        port,
        method: req.method,
        path: req.path,
        headers: req.type ? { "content-type": req.type } : {},
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
        res.on("error", reject);
      },
    );
    // A body refused mid-stream may reset the connection: that is an answer too.
    r.on("error", (err: NodeJS.ErrnoException) =>
      err.code === "ECONNRESET" || err.code === "EPIPE" ? resolve(413) : reject(err),
    );
    r.end(req.body);
  });
}

function sendRaw(port: number, raw: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write(raw));
    let head = "";
    socket.on("data", (chunk: Buffer) => {
      if (head.length < 64) head += chunk.toString("latin1");
    });
    socket.on("error", () => {});
    socket.on("close", () => resolve(head));
    setTimeout(() => socket.destroy(), 5_000).unref();
  });
}

function openSocket(port: number, userId: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/messages?userId=${userId}`);
    ws.on("error", () => {});
    // Ready once the feed stream is live: the gateway then holds everything a real socket does.
    ws.on("message", (data) => {
      if (String(data).includes('"subscribed"')) resolve(ws);
    });
    ws.once("close", (code) => reject(new Error(`socket closed with ${code} before it subscribed`)));
    ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade answered ${res.statusCode}`)));
  });
}

function closed(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) resolve();
    else ws.once("close", () => resolve());
  });
}

/** Runs `count` jobs, `concurrency` at a time. */
async function pool(count: number, concurrency: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await job(next++);
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
}

/**
 * One round against the gateway: half the malformed inputs are HTTP requests
 * over keep-alive connections, a fifth raw requests the parser refuses, the
 * rest frames on open sockets; then the connect/disconnect cycles.
 */
export async function abuseRound(
  target: AbuseTarget,
  round: AbuseRound,
  opts: { maxPayloadBytes: number; seed?: number },
): Promise<AbuseCounts> {
  const counts: AbuseCounts = { http: 0, raw: 0, frames: 0, cycles: 0, unexpected: [] };
  const unexpected = (what: string) => {
    if (counts.unexpected.length < 20) counts.unexpected.push(what);
  };
  const seed = opts.seed ?? 0;
  const httpCount = Math.floor(round.inputs / 2);
  const rawCount = Math.floor(round.inputs / 5);
  const frameCount = round.inputs - httpCount - rawCount;
  const port = target.httpPort;

  const agent = new http.Agent({ keepAlive: true, maxSockets: round.concurrency });
  try {
    await pool(httpCount, round.concurrency, async (i) => {
      const req = badRequest(seed + i, target);
      const status = await sendRequest(agent, port, req);
      counts.http += 1;
      if (status < 400 || status >= 500) unexpected(`${req.method} ${req.path.slice(0, 60)} -> ${status}`);
    });
  } finally {
    agent.destroy();
  }

  await pool(rawCount, round.concurrency, async (i) => {
    const head = await sendRaw(port, badRaw(seed + i));
    counts.raw += 1;
    const status = Number(head.split(" ")[1] ?? 0);
    if (head !== "" && (status < 400 || status >= 500)) unexpected(`raw ${i % 5} -> ${head.slice(0, 40)}`);
  });

  let sent = 0;
  await pool(round.concurrency, round.concurrency, async () => {
    let ws: WebSocket | undefined;
    while (sent < frameCount) {
      const frame = badFrame(seed + sent++, target, opts.maxPayloadBytes);
      if (!ws || ws.readyState !== WebSocket.OPEN) ws = await openSocket(port, target.userId);
      const answered = frame.closes
        ? closed(ws)
        : new Promise<void>((resolve) => ws?.once("message", () => resolve()));
      ws.send(frame.data);
      await answered;
      counts.frames += 1;
    }
    if (ws) {
      ws.close();
      await closed(ws);
    }
  });

  await pool(round.cycles, round.concurrency, async () => {
    const ws = await openSocket(port, target.userId);
    ws.close();
    await closed(ws);
    counts.cycles += 1;
  });
  return counts;
}
