// A loopback HTTP server for one payment provider's API in tests: each fake
// (stripe.ts, paypal.ts, ...) answers the few calls an adapter makes, in
// the provider's documented shapes, and plays the scenario a test sets.
// Nothing here reaches a real provider.
import http from "node:http";
import type net from "node:net";

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

/** Returns the answer, or "hang" to keep the request open until the server closes. */
export type FakeHandler = (request: RecordedRequest, scenario: Scenario) => FakeResponse | "hang";

export interface FakeProvider {
  /** Base URL, http://127.0.0.1:<port> */
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
      let answer: FakeResponse | "hang";
      try {
        answer = handler(request, fake.scenario);
      } catch (err) {
        answer = { status: 500, body: { error: `fake provider: ${(err as Error).message}` } };
      }
      if (answer === "hang") return;
      const text = typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body ?? {});
      res.writeHead(answer.status, {
        "content-type": answer.contentType ?? "application/json",
        ...answer.headers,
      });
      res.end(text);
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
