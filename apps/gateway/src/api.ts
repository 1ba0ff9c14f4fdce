// The public API as data: every route's method and path, the zod schemas
// that validate what a client sends (validation.ts, the same ones the routes
// parse with) and the shapes of what it gets back. openapi.ts renders it as
// an OpenAPI 3.1 document (served on the ops port, committed as
// docs/openapi.json); apps/gateway/test/openapi.test.ts holds the routes the
// gateway registers and the answers it gives to it.
import { z } from "zod";
import {
  feedQuerySchema,
  idempotencyKeySchema,
  idSchema,
  likeBodySchema,
  socketQuerySchema,
  videoParamsSchema,
} from "./validation";

/** The public API's version: what docs/openapi.json says; bump it with a change a client can see. */
export const API_VERSION = "1.0.0";

export const videoSchema = z.strictObject({
  id: idSchema,
  authorId: idSchema,
  title: z.string(),
  url: z.string(),
  likeCount: z.number().int().min(0),
  /** RFC 3339. */
  createdAt: z.string(),
});

export const feedPageSchema = z.strictObject({
  videos: z.array(videoSchema),
  /** Empty on the last page. */
  nextCursor: z.string(),
  /** True when the feed was unavailable and this is the last good page (`x-stale: true`). */
  stale: z.boolean(),
});

export const likeResultSchema = z.strictObject({
  videoId: idSchema,
  likeCount: z.number().int().min(0),
  /** False when this user had already liked the video (the like is idempotent). */
  created: z.boolean(),
});

/** Every error: a stable code, a message naming what was wrong, and the request id. */
export const errorBodySchema = z.strictObject({
  code: z.string(),
  message: z.string(),
  requestId: z.string(),
});

/** An answer: its meaning, and its JSON body's shape (none for a 101). */
export interface ApiAnswer {
  description: string;
  body?: z.ZodType;
}

export interface ApiRoute {
  method: "get" | "post";
  /** fastify's form (`/v1/videos/:id`). */
  path: string;
  summary: string;
  params?: z.ZodObject;
  query?: z.ZodObject;
  headers?: Record<string, z.ZodType>;
  body?: z.ZodType;
  answers: Record<number, ApiAnswer>;
}

const error = (description: string): ApiAnswer => ({ description, body: errorBodySchema });
/** What every call to the feed can also answer. */
const FEED_FAILURES: Record<number, ApiAnswer> = {
  503: error("the feed is unavailable or its breaker is open (Retry-After says when to retry)"),
  504: error("the feed did not answer within the deadline"),
};

export const API: readonly ApiRoute[] = [
  {
    method: "get",
    path: "/v1/feed",
    summary: "A page of the feed, newest first",
    query: feedQuerySchema,
    answers: {
      200: { description: "a page (stale: the last good one while the feed is down)", body: feedPageSchema },
      400: error("a malformed userId, limit or cursor"),
      ...FEED_FAILURES,
    },
  },
  {
    method: "get",
    path: "/v1/videos/:id",
    summary: "One video",
    params: videoParamsSchema,
    answers: {
      200: { description: "the video", body: videoSchema },
      400: error("the id is not a UUID"),
      404: error("no such video"),
      ...FEED_FAILURES,
    },
  },
  {
    method: "post",
    path: "/v1/videos/:id/likes",
    summary: "Like a video (once per user; a repeat answers created: false)",
    params: videoParamsSchema,
    headers: { "idempotency-key": idempotencyKeySchema },
    body: likeBodySchema,
    answers: {
      200: { description: "the like count after this like", body: likeResultSchema },
      400: error("a malformed id, body or Idempotency-Key"),
      404: error("no such video or user"),
      413: error("the body is over the size limit"),
      415: error("the body is not JSON"),
      ...FEED_FAILURES,
      503: error(
        "the feed is unavailable or its breaker is open, or likes writes are switched off (code FEATURE_DISABLED); Retry-After says when to retry",
      ),
    },
  },
  {
    method: "get",
    path: "/v1/messages",
    summary: "Messages over a WebSocket (docs/gateway.md): send frames, receive messages as they arrive",
    query: socketQuerySchema,
    answers: {
      101: { description: "switched to the WebSocket protocol" },
      400: error("a malformed userId or since"),
      426: error("a plain GET: connect with a WebSocket"),
      503: error(
        "the feed is unavailable, the gateway is shutting down, or messages are switched off (code FEATURE_DISABLED)",
      ),
    },
  },
];
