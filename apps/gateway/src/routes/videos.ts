// GET /v1/videos/:id and POST /v1/videos/:id/likes. No stale fallback here:
// a like must reach the feed, so while the breaker is open it fails fast (503);
// while the likes-writes kill switch is off, likes get 503 FEATURE_DISABLED.
import { randomUUID } from "node:crypto";
import type { FeatureFlags } from "@golive/flags/feature-flags";
import type { FastifyInstance } from "fastify";
import { featureDisabled, GatewayError } from "../errors";
import type { ResilientFeedClient } from "../feed-client";
import { describeIssues, idempotencyKeySchema, likeBodySchema, videoParamsSchema } from "../validation";

export function registerVideoRoutes(
  app: FastifyInstance,
  deps: { feed: ResilientFeedClient; flags: FeatureFlags },
): void {
  app.get("/v1/videos/:id", async (request) => {
    const params = videoParamsSchema.safeParse(request.params);
    if (!params.success) throw new GatewayError(400, "INVALID_ARGUMENT", describeIssues(params.error));
    return deps.feed.getVideo(params.data.id, request.id, request.traced?.ctx);
  });

  app.post("/v1/videos/:id/likes", async (request) => {
    if (!deps.flags.current["likes-writes"]) throw featureDisabled("likes writes", "likes-writes");
    const params = videoParamsSchema.safeParse(request.params);
    if (!params.success) throw new GatewayError(400, "INVALID_ARGUMENT", describeIssues(params.error));
    const body = likeBodySchema.safeParse(request.body);
    if (!body.success) throw new GatewayError(400, "INVALID_ARGUMENT", describeIssues(body.error));
    const key = idempotencyKeySchema.safeParse(request.headers["idempotency-key"]);
    if (!key.success)
      throw new GatewayError(400, "INVALID_ARGUMENT", describeIssues(key.error, "Idempotency-Key"));
    // One key per request unless the client gives one: the feed then answers
    // this request's retries as their first attempt would have.
    request.userId = body.data.userId;
    const idempotencyKey = key.data ?? randomUUID();
    return deps.feed.likeVideo(
      body.data.userId,
      params.data.id,
      request.id,
      idempotencyKey,
      request.traced?.ctx,
    );
  });
}
