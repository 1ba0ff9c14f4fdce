// The cheapest gateway that does the gateway's job for GET /v1/feed: a
// fastify route, one grpc-js call to the feed, the page as JSON. No breaker,
// retries, deadline budget, metrics, logs, spans, request ids or validation:
// the anchor `npm run bench` holds the real gateway to (docs/benchmarks.md).
// Env: FEED_ADDRESS (host:port), PORT.
import { loadFeedProto } from "@golive/proto/loader";
import * as grpc from "@grpc/grpc-js";
import Fastify from "fastify";

const proto = loadFeedProto();
const client = new proto.feed.v1.FeedService(
  process.env.FEED_ADDRESS ?? "",
  grpc.credentials.createInsecure(),
);
const app = Fastify({ logger: false });

app.get("/v1/feed", (request, reply) => {
  const { userId = "", limit = "20", cursor = "" } = request.query as Record<string, string | undefined>;
  client.GetFeed({ userId, pageSize: Number(limit), cursor }, (err, page) => {
    if (err || !page) reply.code(502).send({ code: "UNAVAILABLE" });
    else reply.send({ videos: page.videos, nextCursor: page.nextCursor, stale: false });
  });
});

app.listen({ host: "127.0.0.1", port: Number(process.env.PORT ?? 0) }).then((address) => {
  process.stdout.write(`passthrough on ${address}\n`);
});
process.on("SIGTERM", () => void app.close().then(() => process.exit(0)));
