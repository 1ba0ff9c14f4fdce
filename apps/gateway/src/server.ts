// Assembles the gateway: fastify for HTTP and, through @fastify/websocket,
// the /v1/messages sockets; the resilient feed client, metrics and the ops port.
// main.ts wires it to the process; tests start it in-process on loopback.
import type http from "node:http";
import type { AddressInfo } from "node:net";
import { type FeatureFlags, startFeatureFlags } from "@golive/flags/feature-flags";
import { type Logger, traceFieldsOf } from "@golive/shared/logger";
import { observeTraced } from "@golive/shared/metrics";
import { type OpsServer, startOpsServer } from "@golive/shared/ops-server";
import type { ShutdownStep } from "@golive/shared/shutdown";
import { endSpan, headerGetter, type Started, startServerSpan } from "@golive/tracing/spans";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from "fastify";
import { LRUCache } from "lru-cache";
import { clientIpHasher } from "./client-ip";
import type { GatewayConfig } from "./config";
import { type ErrorBody, mapError } from "./errors";
import { createFeedServiceClient, ResilientFeedClient } from "./feed-client";
import { clientErrorHandler, discardRestOfBody, httpServerFactory } from "./http-server";
import { type MessagesSocketServer, registerMessagesSocket } from "./messages-socket";
import { createGatewayMetrics, type GatewayMetrics } from "./metrics";
import { openApiText } from "./openapi";
import { REQUEST_ID_HEADER, requestIdFrom } from "./request-id";
import { type FeedPage, registerFeedRoutes } from "./routes/feed";
import { registerVideoRoutes } from "./routes/videos";

declare module "fastify" {
  interface FastifyRequest {
    /** This request's server span and its context (addRequestHooks); null for WebSocket upgrades. */
    traced: Started | null;
    /** The user a route acted for, once validated: the request log carries it. */
    userId: string | null;
  }
}

export interface Gateway {
  app: FastifyInstance;
  feed: ResilientFeedClient;
  metrics: GatewayMetrics;
  /** The kill switches in force (likes-writes, messages). */
  flags: FeatureFlags;
  sockets: MessagesSocketServer;
  httpPort: number;
  opsPort: number;
  /** Every route registered, as fastify has it (HEAD routes fastify adds included). */
  routes(): { method: string; url: string }[];
  ready(): boolean;
  /** The ordered shutdown steps main.ts hands to installShutdown. */
  shutdownSteps(): ShutdownStep[];
  /** Runs the shutdown steps (tests use this instead of a signal). */
  close(): Promise<void>;
}

/** Shared by the request hooks, readiness and the shutdown steps: set once shutdown begins. */
interface DrainState {
  shuttingDown: boolean;
}

export async function startGateway(config: GatewayConfig, logger: Logger): Promise<Gateway> {
  const metrics = createGatewayMetrics();
  const flags = await startFeatureFlags({
    service: "gateway",
    env: config,
    logger,
    registry: metrics.registry,
  });
  const feed = createFeedClient(config, metrics, logger);
  const cache = createStaleCache(config);
  const drain: DrainState = { shuttingDown: false };

  const app = createApp(config, metrics, logger);
  addRequestHooks(app, metrics, drain, clientIpHasher(config.LOG_IP_HASH_KEY));
  app.setErrorHandler(errorHandler(feed));
  const routes = addMethodNotAllowed(app);

  // First: the plugin it registers must see every route that follows.
  const sockets = await registerMessagesSocket(app, {
    feed,
    flags,
    metrics,
    logger,
    maxPayloadBytes: config.WS_MAX_PAYLOAD_BYTES,
    maxBufferedBytes: config.WS_MAX_BUFFERED_BYTES,
    pingIntervalMs: config.WS_PING_INTERVAL_MS,
  });
  registerFeedRoutes(app, { feed, cache, metrics });
  registerVideoRoutes(app, { feed, flags });

  await app.listen({ host: config.HTTP_HOST, port: config.HTTP_PORT });
  const httpPort = (app.server.address() as AddressInfo).port;

  // The feed counts as available while stale pages can be served for it.
  const readinessChecks = () => ({
    shutdown: !drain.shuttingDown,
    feed: feed.reachable() || (feed.breakerOpen && (cache?.size ?? 0) > 0),
  });
  const ops: OpsServer = await startOpsServer({
    host: config.OPS_HOST,
    port: config.OPS_PORT,
    registry: metrics.registry,
    readiness: { checks: readinessChecks },
    documents: { "/openapi.json": openApiText() },
  });
  logger.info({ httpPort, opsPort: ops.port }, "gateway listening");

  const steps = buildShutdownSteps(config, drain, { app, sockets, feed, ops, flags });
  let closing: Promise<void> | undefined;
  return {
    app,
    feed,
    metrics,
    flags,
    sockets,
    httpPort,
    opsPort: ops.port,
    routes,
    ready: () => Object.values(readinessChecks()).every(Boolean),
    shutdownSteps: () => steps,
    close() {
      closing ??= (async () => {
        for (const step of steps) await step.run();
      })();
      return closing;
    },
  };
}

export function createFeedClient(
  config: GatewayConfig,
  metrics: GatewayMetrics,
  logger: Logger,
): ResilientFeedClient {
  return new ResilientFeedClient(
    createFeedServiceClient(config.FEED_ADDRESS),
    {
      deadlineMs: config.FEED_DEADLINE_MS,
      retryMaxAttempts: config.FEED_RETRY_MAX_ATTEMPTS,
      retryBudgetRatio: config.FEED_RETRY_BUDGET_RATIO,
      retryBudgetMinPerSecond: config.FEED_RETRY_BUDGET_MIN_PER_SECOND,
      breakerConsecutiveFailures: config.BREAKER_CONSECUTIVE_FAILURES,
      breakerHalfOpenAfterMs: config.BREAKER_HALF_OPEN_AFTER_MS,
    },
    metrics,
    logger,
  );
}

/**
 * The last good page per exact request, served while the feed breaker is
 * open: bounded by count (least recently used goes first) and by age.
 */
function createStaleCache(config: GatewayConfig): LRUCache<string, FeedPage> | undefined {
  return config.STALE_CACHE_ENTRIES > 0
    ? new LRUCache<string, FeedPage>({ max: config.STALE_CACHE_ENTRIES, ttl: config.STALE_MAX_AGE_MS })
    : undefined;
}

function createApp(config: GatewayConfig, metrics: GatewayMetrics, logger: Logger): FastifyInstance {
  return Fastify<http.Server>({
    loggerInstance: logger as FastifyBaseLogger,
    // One log line per request is written by the onResponse hook (addRequestHooks), with the route template.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: "requestId" }),
    bodyLimit: config.HTTP_BODY_LIMIT_BYTES,
    genReqId: (req) => requestIdFrom(req.headers[REQUEST_ID_HEADER]),
    // While closing, a request that still arrives on a kept-alive connection
    // is served (the feed channel is still open) rather than refused.
    return503OnClosing: false,
    forceCloseConnections: "idle",
    serverFactory: httpServerFactory({
      requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    }),
    clientErrorHandler: clientErrorHandler(metrics),
    routerOptions: { maxParamLength: 200 },
    // request.ip: the caller as the edge saw it, not the edge (TRUST_PROXY_HOPS).
    trustProxy:
      config.TRUST_PROXY_HOPS > 0 ? (_address: string, hop: number) => hop < config.TRUST_PROXY_HOPS : false,
    frameworkErrors: answerFrameworkError,
  });
}

/**
 * Errors the router raises before any route runs (malformed URL, over-long
 * path parameter) get the same JSON error body as everything else.
 */
function answerFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const statusCode = typeof error.statusCode === "number" && error.statusCode >= 400 ? error.statusCode : 400;
  reply
    .code(statusCode)
    .header(REQUEST_ID_HEADER, request.id)
    .send({ code: "INVALID_ARGUMENT", message: error.message.slice(0, 120), requestId: request.id });
}

/**
 * One server span per request, continuing the edge's trace context. The
 * span and its context ride on the request (`request.traced`) and are
 * passed by hand to the feed call, the exemplar and the log lines: running
 * the request in a context manager's scope (`context.with`) carries the
 * context through every asynchronous step of the HTTP and HTTP/2 I/O, about
 * 30 µs per request here (docs/benchmarks.md), for one parent lookup.
 * WebSocket sessions are traced per frame instead (messages-socket.ts).
 * The response hook counts, times and logs each request.
 */
function addRequestHooks(
  app: FastifyInstance,
  metrics: GatewayMetrics,
  drain: DrainState,
  hashIp: (ip: string) => string,
): void {
  app.decorateRequest("traced", null);
  app.decorateRequest("userId", null);
  app.addHook("onRequest", (request, reply, done) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    // Draining: this answer ends the kept-alive connection, so the client's
    // next request opens a new one (to a replica that is staying) instead of
    // racing the close of this one.
    if (drain.shuttingDown && !request.headers.upgrade) reply.header("connection", "close");
    if (request.headers.upgrade) return done();
    const route = request.routeOptions.url ?? "unmatched";
    request.traced = startServerSpan(`${request.method} ${route}`, request.headers, headerGetter, () => ({
      "http.request.method": request.method,
      "http.route": route,
      "url.path": request.url.split("?")[0],
      "request.id": request.id,
    }));
    done();
  });
  const endRequestSpan = (request: FastifyRequest, status: number) =>
    endSpan(
      request.traced?.span,
      { "http.response.status_code": status },
      status >= 500 ? String(status) : undefined,
    );
  app.addHook("onRequestAbort", async (request) => endRequestSpan(request, 499));
  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url ?? "unmatched";
    const method = request.method;
    metrics.httpRequests.inc({ route, method, status_code: String(reply.statusCode) });
    const span = request.traced?.span;
    observeTraced(metrics.httpDuration, { route, method }, reply.elapsedTime / 1000, span);
    const level = reply.statusCode >= 500 ? "warn" : "info";
    // The access line (docs/operations.md, "Logs"): the request id comes
    // from the request's logger, the client only as a keyed hash.
    request.log[level](
      {
        route,
        method,
        statusCode: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
        userId: request.userId ?? undefined,
        clientIpHash: hashIp(request.ip),
        ...traceFieldsOf(span),
      },
      "request",
    );
    // Last: the exemplar and the log line above read the span while it records.
    endRequestSpan(request, reply.statusCode);
  });
}

/** Fastify's own 4xx errors keep their status; everything else is mapped like a feed error. */
function errorHandler(feed: ResilientFeedClient) {
  return (err: FastifyError, request: FastifyRequest, reply: FastifyReply): ErrorBody => {
    if (typeof err.statusCode === "number" && err.statusCode >= 400 && err.statusCode < 500) {
      return answerFastifyError(err, request, reply, err.statusCode);
    }
    const mapped = mapError(err, feed.retryAfterSeconds);
    reply.code(mapped.httpStatus).headers(mapped.headers);
    const body = { code: mapped.code, message: mapped.message, requestId: request.id };
    if (reply.statusCode >= 500 && reply.statusCode !== 503 && reply.statusCode !== 504) {
      request.log.error({ err, ...traceFieldsOf(request.traced?.span) }, "request failed");
    }
    return body;
  };
}

/** Fastify's own errors (bad JSON, body too large, wrong content type) carry a 4xx statusCode. */
function answerFastifyError(
  err: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
  statusCode: number,
): ErrorBody {
  const code =
    err.code === "FST_ERR_CTP_BODY_TOO_LARGE"
      ? "PAYLOAD_TOO_LARGE"
      : err.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE"
        ? "UNSUPPORTED_MEDIA_TYPE"
        : "INVALID_ARGUMENT";
  if (err.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
    reply.removeHeader("connection");
    discardRestOfBody(request.raw);
  }
  reply.code(statusCode);
  return { code, message: err.message.slice(0, 300), requestId: request.id };
}

/**
 * The methods of every route as registered, so a wrong method on a known
 * path gets 405 with Allow instead of 404; returns the list (the OpenAPI
 * test holds it to api.ts).
 */
function addMethodNotAllowed(app: FastifyInstance): () => { method: string; url: string }[] {
  const routeMethods = new Map<string, { pattern: RegExp; methods: string[] }>();
  app.addHook("onRoute", (route) => {
    const known = routeMethods.get(route.url) ?? {
      pattern: new RegExp(`^${route.url.replace(/:[^/]+/g, "[^/]+")}/?$`),
      methods: [],
    };
    known.methods.push(...[route.method].flat());
    routeMethods.set(route.url, known);
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split("?")[0] ?? "";
    const known = [...routeMethods.values()].find((r) => r.pattern.test(path));
    if (known) {
      const allow = known.methods.join(", ");
      reply.code(405).header("allow", allow);
      return { code: "METHOD_NOT_ALLOWED", message: `use ${allow}`, requestId: request.id };
    }
    reply.code(404);
    return { code: "ROUTE_NOT_FOUND", message: "no such route", requestId: request.id };
  });
  return () => [...routeMethods].flatMap(([url, r]) => r.methods.map((method) => ({ method, url })));
}

/** In order: readiness off and wait for the balancer, drain, then the feed channel and ops port. */
function buildShutdownSteps(
  config: GatewayConfig,
  drain: DrainState,
  parts: {
    app: FastifyInstance;
    sockets: MessagesSocketServer;
    feed: ResilientFeedClient;
    ops: OpsServer;
    flags: FeatureFlags;
  },
): ShutdownStep[] {
  const { app, sockets, feed, ops, flags } = parts;
  const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  return [
    {
      name: "readiness off",
      run: async () => {
        drain.shuttingDown = true;
        await wait(config.SHUTDOWN_DRAIN_DELAY_MS);
      },
    },
    {
      name: "stop accepting, drain HTTP, close websockets with 1001",
      // Both at once: sockets do not hold up the HTTP drain and vice versa.
      run: async () => {
        const socketTimeout = Math.max(500, Math.floor(config.SHUTDOWN_GRACE_MS / 4));
        await Promise.all([app.close(), sockets.closeAll(socketTimeout)]);
      },
    },
    { name: "close feed channel", run: () => feed.close() },
    { name: "close ops server", run: () => ops.close() },
    { name: "stop reading feature flags", run: () => flags.close() },
  ];
}
