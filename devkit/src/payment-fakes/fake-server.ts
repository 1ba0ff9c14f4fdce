// A loopback HTTP server for one payment provider's API in tests: each fake
// (stripe.ts, paypal.ts, ...) answers the few calls an adapter makes, in
// the provider's documented shapes, and plays the scenario a test sets.
// Nothing here reaches a real provider.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import tls from "node:tls";

/**
 * approve: authorize and void succeed. decline: the authorization is refused
 * the way the provider refuses a card. hang: the authorization never gets an
 * answer. void-fails: authorized, then the void is refused (money held).
 */
export type Scenario = "approve" | "decline" | "hang" | "void-fails";

export interface RecordedRequest {
  method: string;
  /** Path and query, as sent. */
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface FakeResponse {
  status: number;
  body?: unknown;
  /** Sent as is when a string (XML, form); JSON otherwise. */
  contentType?: string;
  headers?: Record<string, string>;
}

/** Returns the answer (or a promise of it: a proxy), or "hang" to keep the request open until the server closes. */
export type FakeHandler = (
  request: RecordedRequest,
  scenario: Scenario,
) => FakeResponse | "hang" | Promise<FakeResponse>;

export interface FakeProvider {
  /** Base URL, http://127.0.0.1:<port> (https:// behind serveOverTls) */
  url: string;
  scenario: Scenario;
  /** Every request received, in order. */
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export async function startFakeProvider(
  handler: FakeHandler,
  scenario: Scenario = "approve",
): Promise<FakeProvider> {
  const sockets = new Set<net.Socket>();
  const fake: FakeProvider = {
    url: "",
    scenario,
    requests: [],
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const request: RecordedRequest = {
        method: req.method ?? "GET",
        path: req.url ?? "/",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      fake.requests.push(request);
      Promise.resolve()
        .then(() => handler(request, fake.scenario))
        .catch(
          (err: Error): FakeResponse => ({ status: 500, body: { error: `fake provider: ${err.message}` } }),
        )
        .then((answer) => {
          if (answer === "hang") return;
          const text =
            typeof answer.body === "string" || Buffer.isBuffer(answer.body)
              ? answer.body
              : JSON.stringify(answer.body ?? {});
          res.writeHead(answer.status, {
            "content-type": answer.contentType ?? "application/json",
            ...answer.headers,
          });
          res.end(text);
        });
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  fake.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return fake;
}

export interface TlsFakeProvider extends FakeProvider {
  /** PEM of the front's self-signed certificate (CN and SAN 127.0.0.1), for a client that must trust it. */
  certificate: string;
}

let pair: { key: string; cert: string } | undefined;

/** One throwaway key and certificate per test process, made with the openssl CLI. */
function selfSigned(): { key: string; cert: string } {
  if (pair) return pair;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "golive-fake-tls-"));
  try {
    const key = path.join(dir, "key.pem");
    const cert = path.join(dir, "cert.pem");
    execFileSync(
      "openssl",
      [
        ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
        ...["-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        ...["-keyout", key, "-out", cert],
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    pair = { key: fs.readFileSync(key, "utf8"), cert: fs.readFileSync(cert, "utf8") };
    return pair;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Puts a TLS listener on 127.0.0.1 in front of a plain-HTTP fake: each TLS
 * connection is piped to the fake, which still records and answers every
 * request. The returned provider shares the fake's requests and scenario.
 */
export async function serveOverTls(fake: FakeProvider): Promise<TlsFakeProvider> {
  const { key, cert } = selfSigned();
  const inner = new URL(fake.url);
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  };
  const server = tls.createServer({ key, cert }, (client) => {
    const upstream = net.connect(Number(inner.port), inner.hostname);
    track(client);
    track(upstream);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  server.on("connection", track);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    certificate: cert,
    get scenario() {
      return fake.scenario;
    },
    set scenario(next) {
      fake.scenario = next;
    },
    requests: fake.requests,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await fake.close();
    },
  };
}
