// GET /v1/feed: a page of the feed. While the feed breaker is open the last
// good page for the exact same request is served, marked stale.

import type { GetFeedResponse__Output } from "@golive/proto/generated/feed/v1/GetFeedResponse";
import { BrokenCircuitError } from "cockatiel";
import type { FastifyInstance } from "fastify";
import type { LRUCache } from "lru-cache";
import { GatewayError } from "../errors";
import type { ResilientFeedClient } from "../feed-client";
import type { GatewayMetrics } from "../metrics";
import { describeIssues, feedQuerySchema } from "../validation";

export const DEFAULT_PAGE_SIZE = 20;

export interface FeedPage {
  videos: GetFeedResponse__Output["videos"];
  nextCursor: string;
}

export function registerFeedRoutes(
  app: FastifyInstance,
  deps: { feed: ResilientFeedClient; cache?: LRUCache<string, FeedPage>; metrics: GatewayMetrics },
): void {
  app.get("/v1/feed", async (request, reply) => {
    const parsed = feedQuerySchema.safeParse(request.query);
    if (!parsed.success) throw new GatewayError(400, "INVALID_ARGUMENT", describeIssues(parsed.error));
    const { userId, limit = DEFAULT_PAGE_SIZE, cursor = "" } = parsed.data;
    request.userId = userId;
    const key = `${userId}|${limit}|${cursor}`;
    try {
      const page = await deps.feed.getFeed(
        { userId, pageSize: limit, cursor },
        request.id,
        request.traced?.ctx,
      );
      const fresh: FeedPage = { videos: page.videos, nextCursor: page.nextCursor };
      deps.cache?.set(key, fresh);
      return { ...fresh, stale: false };
    } catch (err) {
      if (err instanceof BrokenCircuitError) {
        const cached = deps.cache?.get(key);
        if (cached) {
          deps.metrics.staleResponses.inc();
          reply.header("x-stale", "true");
          return { ...cached, stale: true };
        }
      }
      throw err;
    }
  });
}
