// WebSocket /v1/messages?userId=: bridges a client to the feed's messaging.
// Frames the client sends ({"to","body"}) become SendMessage calls; messages
// addressed to the user arrive from one StreamMessages call per socket.
// Dead sockets are dropped by ping/pong, and a client that does not read is
// closed once its send buffer passes a bound rather than buffered without end.
// The upgrade goes through fastify (@fastify/websocket): the request id,
// error and metrics hooks answer it like any request until the 101.
import http from "node:http";
import type { Duplex } from "node:stream";
import websocket from "@fastify/websocket";
import type { FeatureFlags } from "@golive/flags/feature-flags";
import type { Message__Output } from "@golive/proto/generated/feed/v1/Message";
import type { Logger } from "@golive/shared/logger";
import { status as GrpcStatus } from "@grpc/grpc-js";
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { BrokenCircuitError } from "cockatiel";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { RawData, WebSocket, WebSocketServer } from "ws";
import { featureDisabled, GatewayError, mapError } from "./errors";
import { grpcCode, type ResilientFeedClient } from "./feed-client";
import type { GatewayMetrics } from "./metrics";
import { REQUEST_ID_HEADER } from "./request-id";
import { describeIssues, socketFrameSchema, socketQuerySchema } from "./validation";

export const MESSAGES_PATH = "/v1/messages";
const tracer = trace.getTracer("gateway.messages");
/** How long a socket we close may take to answer our close frame. */
const CLOSE_WAIT_MS = 1000;
/** Sends awaiting the feed per socket; more are refused so one client cannot queue without bound. */
const MAX_IN_FLIGHT_SENDS = 16;
/**
 * Waits before each attempt to resume a broken feed stream, then 1013: the
 * first lands on another replica at once; the rest ride out a few seconds
 * with no replica (about 7 s in all).
 */
const RESUME_DELAYS_MS = [50, 100, 200, 400, 800, 1500, 2000, 2000];
/** created_at is a transaction's start, not its commit: a resume reads back this far. */
const RESUME_MARGIN_MS = 5000;
/** The feed's response header: when the subscription started, in database time. */
const STREAM_SINCE_HEADER = "x-stream-since";

// Close codes (RFC 6455 and the IANA registry).
export const CLOSE = {
  goingAway: 1001,
  unsupportedData: 1003,
  policyViolation: 1008,
  internalError: 1011,
  tryAgainLater: 1013,
  /** Application code: the user does not exist; reconnecting cannot help. */
  unknownUser: 4404,
} as const;

/** Feed errors that a reconnect cannot fix: the socket closes with a code that says so. */
const PERMANENT: Partial<Record<GrpcStatus, { code: number; reason: string }>> = {
  [GrpcStatus.NOT_FOUND]: { code: CLOSE.unknownUser, reason: "unknown user; do not reconnect" },
  [GrpcStatus.INVALID_ARGUMENT]: { code: CLOSE.policyViolation, reason: "request refused by the feed" },
  [GrpcStatus.PERMISSION_DENIED]: { code: CLOSE.policyViolation, reason: "request refused by the feed" },
};

export interface MessagesSocketServer {
  /** Closes every socket with 1001 and resolves when they are gone (or were terminated). */
  closeAll(timeoutMs: number): Promise<void>;
  get size(): number;
}

export interface MessagesSocketDeps {
  feed: ResilientFeedClient;
  /** The messages kill switch: off, upgrades get 503 and sends an error frame (open sockets keep receiving). */
  flags: FeatureFlags;
  metrics: GatewayMetrics;
  logger: Logger;
  maxPayloadBytes: number;
  maxBufferedBytes: number;
  pingIntervalMs: number;
}

/** What the preHandler checked, handed to the wsHandler once the upgrade is done. */
interface AcceptedUpgrade {
  userId: string;
  since?: string;
  started: number;
}

type FeedStream = ReturnType<ResilientFeedClient["streamMessages"]>;

/** Registers GET /v1/messages on the gateway's fastify instance. */
export async function registerMessagesSocket(
  app: FastifyInstance,
  deps: MessagesSocketDeps,
): Promise<MessagesSocketServer> {
  await app.register(websocket, {
    options: { maxPayload: deps.maxPayloadBytes },
    // Shutdown closes the sockets itself, with 1001 and a time bound (closeAll).
    preClose: (done) => done(),
    errorHandler: (err, ws, request) => {
      // ws has already closed the socket (1009 for oversized frames, 1002 for protocol errors).
      request.log.info({ err: err instanceof Error ? err.message : String(err) }, "websocket error");
      ws.terminate();
    },
  });
  const wss = app.websocketServer;
  // Set before the handshake: the 101 and ws's own refusals carry the request's id.
  const requestIds = new WeakMap<http.IncomingMessage, string>();
  const gate = { accepting: true };

  // The 101 carries the request id like every other response...
  wss.on("headers", (headers, req) => headers.push(`${REQUEST_ID_HEADER}: ${requestIds.get(req)}`));
  // ...and so do the handshakes the ws library itself refuses (a bad key or
  // version), in the gateway's error shape instead of ws's plain text.
  wss.on("wsClientError", (err, socket, req) => {
    countUpgrade(deps.metrics, 400, performance.now());
    refuseHandshake(socket, err, requestIds.get(req) ?? "");
  });

  const heartbeat = new Heartbeat(wss, deps.logger, deps.pingIntervalMs);
  addMessagesRoute(app, deps, heartbeat, requestIds, () => gate.accepting);

  return {
    get size() {
      return wss.clients.size;
    },
    async closeAll(timeoutMs) {
      gate.accepting = false;
      heartbeat.stop();
      await Promise.all([...wss.clients].map((ws) => closeWithin(ws, timeoutMs)));
      wss.close();
    },
  };
}

/** Counts an upgrade as the HTTP request it is: the 101 and ws's refusals skip the response hooks. */
function countUpgrade(metrics: GatewayMetrics, status: number, started: number): void {
  const labels = { route: MESSAGES_PATH, method: "GET" };
  metrics.httpRequests.inc({ ...labels, status_code: String(status) });
  metrics.httpDuration.observe({ labels, value: (performance.now() - started) / 1000 });
}

/** Answers a handshake ws refused with a 400 in the gateway's error shape, then hangs up. */
function refuseHandshake(socket: Duplex, err: Error, requestId: string): void {
  const text = JSON.stringify({ code: "INVALID_ARGUMENT", message: err.message, requestId });
  const head = [
    `HTTP/1.1 400 ${http.STATUS_CODES[400]}`,
    "content-type: application/json",
    `content-length: ${Buffer.byteLength(text)}`,
    `${REQUEST_ID_HEADER}: ${requestId}`,
    "connection: close",
  ];
  socket.end(`${head.join("\r\n")}\r\n\r\n${text}`);
}

/** Pings every socket each interval; one that did not answer the last ping is dead and terminated. */
class Heartbeat {
  private readonly alive = new WeakMap<WebSocket, boolean>();
  private readonly timer: NodeJS.Timeout;

  constructor(wss: WebSocketServer, logger: Logger, intervalMs: number) {
    this.timer = setInterval(() => {
      for (const ws of wss.clients) {
        if (this.alive.get(ws) === false) {
          logger.info("websocket missed a pong: terminating");
          ws.terminate();
          continue;
        }
        this.alive.set(ws, false);
        ws.ping();
      }
    }, intervalMs);
    this.timer.unref();
  }

  /** A new socket counts as alive until it misses a pong. */
  watch(ws: WebSocket): void {
    this.alive.set(ws, true);
    ws.on("pong", () => this.alive.set(ws, true));
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** Adds the socket route, and a 404 for upgrades to any other route. */
function addMessagesRoute(
  app: FastifyInstance,
  deps: MessagesSocketDeps,
  heartbeat: Heartbeat,
  requestIds: WeakMap<http.IncomingMessage, string>,
  accepting: () => boolean,
): void {
  const accepted = new WeakMap<FastifyRequest, AcceptedUpgrade>();
  // Only /v1/messages upgrades; an upgrade anywhere else is a route that does not exist.
  app.addHook("onRequest", async (request) => {
    if (request.ws && request.routeOptions.url !== MESSAGES_PATH && request.routeOptions.url !== undefined) {
      throw new GatewayError(404, "ROUTE_NOT_FOUND", "no such route");
    }
  });
  app.route({
    method: "GET",
    url: MESSAGES_PATH,
    // Refusals before the upgrade are plain HTTP answers, through the error handler.
    preHandler: async (request) => {
      // Also for a plain GET: the drill asks that way whether messages are off.
      if (!deps.flags.current.messages) throw featureDisabled("messages", "messages");
      if (!request.ws) return;
      requestIds.set(request.raw, request.id);
      if (!accepting()) throw new GatewayError(503, "SHUTTING_DOWN", "gateway shutting down");
      const query = parseUpgradeQuery(request);
      if (deps.feed.breakerOpen) throw new BrokenCircuitError();
      accepted.set(request, { ...query, started: performance.now() });
    },
    // A plain GET on the socket path means the client forgot to upgrade.
    handler: async (request, reply) => {
      reply.code(426).header("upgrade", "websocket");
      return { code: "UPGRADE_REQUIRED", message: "connect with a WebSocket", requestId: request.id };
    },
    wsHandler: (ws, request) => {
      // The 101 ends the HTTP exchange without a response hook: counted here.
      const { userId, since, started } = accepted.get(request) as AcceptedUpgrade;
      countUpgrade(deps.metrics, 101, started);
      heartbeat.watch(ws);
      new MessagesSession(ws, deps, userId, request.id, since).start();
    },
  });
}

/** The socket's query: userId exactly once, and an optional resume point; anything else is a 400. */
function parseUpgradeQuery(request: FastifyRequest): { userId: string; since?: string } {
  const url = new URL(request.url, "http://gateway.invalid");
  const query = socketQuerySchema.safeParse(Object.fromEntries(url.searchParams));
  if (!query.success || url.searchParams.getAll("userId").length !== 1) {
    const message = query.success ? "userId: must be given once" : describeIssues(query.error);
    throw new GatewayError(400, "INVALID_ARGUMENT", message);
  }
  return query.data;
}

/**
 * Closes from our side and frees the socket within CLOSE_WAIT_MS even if the
 * client never answers the close frame (ws would wait 30 s): a client gone
 * silent, or a probe that only checks the upgrade, holds nothing.
 */
function closeSocket(ws: WebSocket, code: number, reason: string): void {
  ws.close(code, reason);
  setTimeout(() => ws.terminate(), CLOSE_WAIT_MS).unref();
}

/** Closes with 1001 for shutdown; resolves once the socket is gone, terminating it after timeoutMs. */
function closeWithin(ws: WebSocket, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    if (ws.readyState === ws.CLOSED) return resolve();
    const timer = setTimeout(() => {
      ws.terminate();
      resolve();
    }, timeoutMs);
    ws.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
    ws.close(CLOSE.goingAway, "server shutting down");
  });
}

/**
 * One client socket: its feed stream (resumed when it breaks) and the sends it
 * makes. State lives here so a resume knows where the socket left off.
 */
class MessagesSession {
  private readonly log: Logger;
  private readonly openedAt = Date.now();
  private stream: FeedStream | undefined;
  private resumeTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private inFlight = 0;
  // Where a resumed stream starts: the newest message delivered, else the
  // client's own resume point, else the subscription's start (all database
  // time, from the feed).
  private resumeFrom: string | undefined;
  private subscribed = false;
  // Ids delivered on this socket within the resume margin, so a replay never
  // delivers one twice.
  private readonly delivered = new Map<string, number>();

  constructor(
    private readonly ws: WebSocket,
    private readonly deps: MessagesSocketDeps,
    private readonly userId: string,
    private readonly requestId: string,
    private readonly clientSince?: string,
  ) {
    this.log = deps.logger.child({ requestId });
    this.resumeFrom = clientSince;
  }

  start(): void {
    const { ws, deps } = this;
    deps.metrics.websocketConnections.inc();
    ws.on("error", (err) => {
      // ws closes the socket itself (1009 for oversized frames, 1002 for protocol errors).
      this.log.info({ err: err.message }, "websocket protocol error");
    });
    ws.on("close", () => {
      deps.metrics.websocketConnections.dec();
      clearTimeout(this.resumeTimer);
      this.stream?.cancel();
    });
    this.openStream(false);
    ws.on("message", (data: RawData, isBinary: boolean) => this.onFrame(data, isBinary));
  }

  /** Sends a frame unless the socket is gone; a client that stopped reading is closed instead. */
  private sendFrame(frame: object): void {
    const { ws, deps } = this;
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > deps.maxBufferedBytes) {
      deps.logger.warn({ bufferedAmount: ws.bufferedAmount }, "websocket client too slow: closing");
      // A client that does not read will not read the close frame either.
      closeSocket(ws, CLOSE.tryAgainLater, "client too slow: send buffer full");
      return;
    }
    ws.send(JSON.stringify(frame));
  }

  private deliver(message: Message__Output): void {
    if (this.delivered.has(message.id)) return;
    const at = Date.parse(message.createdAt);
    this.delivered.set(message.id, at);
    for (const [id, t] of this.delivered) {
      if (t >= at - 2 * RESUME_MARGIN_MS) break;
      this.delivered.delete(id);
    }
    if (!this.resumeFrom || at > Date.parse(this.resumeFrom)) this.resumeFrom = message.createdAt;
    this.sendFrame({ type: "message", message });
    // A span per message delivered (its own trace: a socket lives for hours).
    tracer
      .startSpan("messages deliver", {
        kind: SpanKind.CONSUMER,
        attributes: {
          "request.id": this.requestId,
          "messaging.operation.type": "process",
          "messaging.message.id": message.id,
        },
      })
      .end();
  }

  // A broken feed stream (a replica killed or rolled) is opened again,
  // on whichever replica answers, from where this socket left off.
  private resumeOrClose(reason: string): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    const delay = RESUME_DELAYS_MS[this.attempt++];
    if (delay === undefined) {
      this.log.warn({ reason }, "feed message stream could not be resumed: closing websocket");
      closeSocket(this.ws, CLOSE.tryAgainLater, "feed stream ended; reconnect");
      return;
    }
    this.deps.metrics.streamResumes.inc();
    this.resumeTimer = setTimeout(() => this.openStream(true), delay);
  }

  // A resume reads back RESUME_MARGIN_MS, never before what the client asked for.
  private resumePoint(): string {
    const from = (this.resumeFrom ? Date.parse(this.resumeFrom) : this.openedAt) - RESUME_MARGIN_MS;
    return new Date(this.clientSince ? Math.max(from, Date.parse(this.clientSince)) : from).toISOString();
  }

  private openStream(resuming: boolean): void {
    const since = resuming ? this.resumePoint() : this.clientSince;
    let current: FeedStream;
    try {
      current = this.deps.feed.streamMessages(this.userId, this.requestId, since);
    } catch (err) {
      this.resumeOrClose(err instanceof BrokenCircuitError ? "feed unavailable" : "stream failed");
      return;
    }
    this.stream = current;
    let over = false;
    current.on("metadata", (headers) => this.onSubscribed(headers.get(STREAM_SINCE_HEADER)[0]));
    current.on("data", (message: Message__Output) => this.deliver(message));
    current.on("error", (err) => {
      if (over) return;
      over = true;
      this.onStreamError(err);
    });
    current.on("end", () => {
      if (over) return;
      over = true;
      // The feed ends streams when it shuts down: carry on elsewhere.
      this.resumeOrClose("feed stream ended");
    });
  }

  /** The feed's headers: the stream is live, and the subscription's start in database time. */
  private onSubscribed(subscribedAt: unknown): void {
    if (!this.resumeFrom && typeof subscribedAt === "string") this.resumeFrom = subscribedAt;
    this.attempt = 0;
    // From here on nothing sent to this user is missed: a client waits for
    // this frame before it relies on the socket (the 101 comes earlier),
    // also when the first stream broke before it was live.
    if (!this.subscribed) {
      this.subscribed = true;
      const since = typeof subscribedAt === "string" ? subscribedAt : undefined;
      this.sendFrame({ type: "subscribed", since });
    }
  }

  /** Cancelled is our own doing; a permanent error closes with its code; the rest resume. */
  private onStreamError(err: unknown): void {
    const code = grpcCode(err);
    if (code === GrpcStatus.CANCELLED) return;
    const permanent = code === undefined ? undefined : PERMANENT[code];
    if (permanent) {
      closeSocket(this.ws, permanent.code, permanent.reason);
      return;
    }
    this.log.info({ code }, "feed message stream broke: resuming");
    this.resumeOrClose(`gRPC ${code}`);
  }

  /** A client frame: checked, then sent to the feed unless too many sends are already waiting. */
  private onFrame(data: RawData, isBinary: boolean): void {
    if (isBinary) {
      closeSocket(this.ws, CLOSE.unsupportedData, "binary frames are not supported");
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(data.toString());
    } catch {
      this.sendFrame({ type: "error", code: "INVALID_JSON", message: "frame is not valid JSON" });
      return;
    }
    const frame = socketFrameSchema.safeParse(json);
    if (!frame.success) {
      this.sendFrame({ type: "error", code: "INVALID_ARGUMENT", message: describeIssues(frame.error) });
      return;
    }
    const { to, body, ref } = frame.data;
    if (!this.deps.flags.current.messages) {
      const off = featureDisabled("messages", "messages");
      this.sendFrame({ type: "error", ref, code: off.code, message: off.message });
      return;
    }
    if (this.inFlight >= MAX_IN_FLIGHT_SENDS) {
      this.sendFrame({
        type: "error",
        ref,
        code: "RESOURCE_EXHAUSTED",
        message: "too many sends in flight",
      });
      return;
    }
    this.inFlight += 1;
    this.send(to, body, ref);
  }

  /** One SendMessage call, answered on the socket with "sent" or "error" under the frame's ref. */
  private send(to: string, body: string, ref: string | undefined): void {
    const { deps, requestId } = this;
    // One trace per frame: this span parents the SendMessage call to the
    // feed, passed by hand (the gateway runs no context manager, server.ts).
    const span = tracer.startSpan(
      "messages send",
      {
        kind: SpanKind.PRODUCER,
        attributes: { "request.id": requestId, "messaging.operation.type": "send" },
      },
      ROOT_CONTEXT,
    );
    deps.feed
      .sendMessage(this.userId, to, body, requestId, trace.setSpan(ROOT_CONTEXT, span))
      .then(
        (message) => {
          span.setAttribute("messaging.message.id", message.id);
          this.sendFrame({ type: "sent", ref, message });
        },
        (err: unknown) => {
          const mapped = mapError(err, deps.feed.retryAfterSeconds);
          span.setStatus({ code: SpanStatusCode.ERROR, message: mapped.code });
          this.sendFrame({ type: "error", ref, code: mapped.code, message: mapped.message });
        },
      )
      .finally(() => {
        this.inFlight -= 1;
        span.end();
      });
  }
}
