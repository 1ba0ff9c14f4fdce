// The cheapest gateway that does the gateway's job for GET /v1/feed: a
// fastify route, one grpc-js call to the feed, the page as JSON. No breaker,
// retries, deadline budget, metrics, logs, spans, request ids or validation:
// the anchor `npm run bench` holds the real gateway to (docs/benchmarks.md).
// PASSTHROUGH_FEATURES adds the gateway's own pieces one by one, each from
// the gateway's modules (`npm run bench -- --ablation`): validate (the query
// schema), client (breaker, retry budget, deadline), metrics (request
// counter and latency histogram), log (one line per request), tracing (a
// server span at the prod ratio, passed by hand to the call, the exemplar
// and the log line, as the gateway does).
// Env: FEED_ADDRESS (host:port), PORT, PASSTHROUGH_FEATURES (comma-separated).
import { loadGatewayConfig } from "@golive/gateway/config";
import { loadFeedProto } from "@golive/proto/loader";
import { createLogger, traceFieldsOf } from "@golive/shared/logger";
import { observeTraced } from "@golive/shared/metrics";
import { endSpan, headerGetter, startServerSpan } from "@golive/tracing/spans";
import { startTracing } from "@golive/tracing/tracing";
import * as grpc from "@grpc/grpc-js";
import type { Span } from "@opentelemetry/api";
import Fastify, { type FastifyReply } from "fastify";
// The gateway's own modules (not in its package's exports: a benchmark reaches in).
import { createGatewayMetrics } from "../../apps/gateway/src/metrics";
import { createFeedClient } from "../../apps/gateway/src/server";
import { feedQuerySchema } from "../../apps/gateway/src/validation";

const features = new Set((process.env.PASSTHROUGH_FEATURES ?? "").split(",").filter(Boolean));
if (features.has("tracing")) startTracing("passthrough", () => [], { contextManager: false });
const address = process.env.FEED_ADDRESS ?? "";
const proto = loadFeedProto();
const client = new proto.feed.v1.FeedService(address, grpc.credentials.createInsecure());
const app = Fastify({ logger: false });

const bareRoute = () =>
  app.get("/v1/feed", (request, reply) => {
    const { userId = "", limit = "20", cursor = "" } = request.query as Record<string, string | undefined>;
    client.GetFeed({ userId, pageSize: Number(limit), cursor }, (err, page) => {
      if (err || !page) reply.code(502).send({ code: "UNAVAILABLE" });
      else reply.send({ videos: page.videos, nextCursor: page.nextCursor, stale: false });
    });
  });

/** The same route with some of the gateway's pieces, in the order the gateway runs them. */
function featuredRoute(): void {
  const config = loadGatewayConfig({ ...process.env, FEED_ADDRESS: address, FEED_DEADLINE_MS: "2000" });
  const logger = createLogger("passthrough", "info");
  const metrics = createGatewayMetrics();
  const resilient = features.has("client") ? createFeedClient(config, metrics, logger) : undefined;
  const done = (reply: FastifyReply, started: number, status: number, span?: Span) => {
    const route = "/v1/feed";
    if (features.has("metrics")) {
      metrics.httpRequests.inc({ route, method: "GET", status_code: String(status) });
      const seconds = (performance.now() - started) / 1000;
      observeTraced(metrics.httpDuration, { route, method: "GET" }, seconds, span);
    }
    if (features.has("log")) {
      logger.info({ route, method: "GET", statusCode: status, ms: 0, ...traceFieldsOf(span) }, "request");
    }
    return reply;
  };
  app.get("/v1/feed", async (request, reply) => {
    const started = performance.now();
    const traced = features.has("tracing")
      ? startServerSpan("GET /v1/feed", request.headers, headerGetter, () => ({}))
      : undefined;
    try {
      let query = request.query as { userId: string; limit?: number; cursor?: string };
      if (features.has("validate")) {
        const parsed = feedQuerySchema.safeParse(request.query);
        if (!parsed.success) {
          return done(reply.code(400), started, 400, traced?.span).send({ code: "INVALID_ARGUMENT" });
        }
        query = parsed.data;
      }
      const req = { userId: query.userId, pageSize: Number(query.limit ?? 20), cursor: query.cursor ?? "" };
      const page = resilient
        ? await resilient.getFeed(req, "bench", traced?.ctx)
        : await new Promise<{ videos: unknown[]; nextCursor: string }>((resolve, reject) =>
            client.GetFeed(req, (err, p) => (err || !p ? reject(err) : resolve(p))),
          );
      done(reply, started, 200, traced?.span);
      return { videos: page.videos, nextCursor: page.nextCursor, stale: false };
    } finally {
      endSpan(traced?.span, { "http.response.status_code": reply.statusCode });
    }
  });
}

if (features.size > 0) featuredRoute();
else bareRoute();

app.listen({ host: "127.0.0.1", port: Number(process.env.PORT ?? 0) }).then((listening) => {
  process.stdout.write(`passthrough on ${listening}\n`);
});
process.on("SIGTERM", () => void app.close().then(() => process.exit(0)));
