// The HTTP server under fastify, and what it answers when a request never
// becomes one (Node's parser or its timers refuse it before fastify runs):
// the same JSON error shape and request id as every other error, no body on
// HEAD, and `Connection: close`, because the server closes that socket and a
// keep-alive client must not send its next request on it.
import http from "node:http";
import type { Socket } from "node:net";
import type { GatewayMetrics } from "./metrics";
import { REQUEST_ID_HEADER, requestIdFrom } from "./request-id";

export interface HttpServerLimits {
  /** The whole request, headers and body, must arrive within this. */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection stays open (above load balancers' idle timeouts). */
  keepAliveTimeoutMs: number;
}

/** A fastify serverFactory: Node checks the request timeout every second (default: every 30 s). */
export function httpServerFactory(limits: HttpServerLimits) {
  return (handler: http.RequestListener) => {
    const server = http.createServer(
      {
        requestTimeout: limits.requestTimeoutMs,
        headersTimeout: limits.requestTimeoutMs,
        connectionsCheckingInterval: 1000,
      },
      handler,
    );
    server.keepAliveTimeout = limits.keepAliveTimeoutMs;
    return server;
  };
}

const CLIENT_ERRORS: Record<string, { status: number; code: string; message: string }> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    code: "HEADERS_TOO_LARGE",
    message: "request headers exceed the size limit",
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    code: "REQUEST_TIMEOUT",
    message: "the request did not arrive in time",
  },
};

/**
 * How much of a refused body the server reads and throws away so that its
 * client gets to read the answer; past this the socket is destroyed.
 */
export const DISCARD_LIMIT_BYTES = 16 * 1024 * 1024;

/** Sockets whose request was answered before its body arrived (being discarded). */
const answeredEarly = new WeakSet<Socket>();

/**
 * Keeps reading and discarding a body the server has already refused (413),
 * instead of closing the connection under a client that is still uploading:
 * a client that writes its whole body before it reads (Node's http.request,
 * most scripts) would get EPIPE/ECONNRESET and never see the answer. The
 * connection stays open (the caller drops fastify's `Connection: close`, and
 * Node drains the rest as on any keep-alive request)
 * for at most DISCARD_LIMIT_BYTES and the request timeout, which
 * clientErrorHandler turns into a close without a second answer.
 */
export function discardRestOfBody(req: http.IncomingMessage): void {
  if (req.complete) return;
  const socket = req.socket;
  answeredEarly.add(socket);
  let discarded = 0;
  // Reading it here (not leaving it to Node's dump, which counts nothing) bounds its size.
  req.on("data", (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > DISCARD_LIMIT_BYTES) socket.destroy();
  });
  req.once("end", () => answeredEarly.delete(socket));
}

/** fastify's clientErrorHandler: answers parser errors and timeouts, then closes the socket. */
export function clientErrorHandler(metrics: GatewayMetrics) {
  return (err: Error & { code?: string; rawPacket?: unknown }, socket: Socket) => {
    if (err.code === "ECONNRESET" || socket.destroyed) return;
    // The request timeout while a refused body is discarded: it has its answer.
    if (answeredEarly.has(socket)) {
      socket.destroy();
      return;
    }
    const known = (err.code && CLIENT_ERRORS[err.code]) || {
      status: 400,
      code: "INVALID_ARGUMENT",
      message: "malformed HTTP request",
    };
    const requestId = requestIdFrom(undefined);
    const isHead =
      Buffer.isBuffer(err.rawPacket) && err.rawPacket.subarray(0, 5).toString("latin1") === "HEAD ";
    const body = JSON.stringify({ code: known.code, message: known.message, requestId });
    const head = [
      `HTTP/1.1 ${known.status} ${http.STATUS_CODES[known.status]}`,
      "content-type: application/json; charset=utf-8",
      `content-length: ${Buffer.byteLength(body)}`,
      `${REQUEST_ID_HEADER}: ${requestId}`,
      "connection: close",
    ].join("\r\n");
    metrics.httpRequests.inc({ route: "unparsed", method: "unknown", status_code: String(known.status) });
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    socket.end(`${head}\r\n\r\n${isHead ? "" : body}`, () => socket.destroy());
  };
}
