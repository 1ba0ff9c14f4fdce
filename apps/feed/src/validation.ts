// Request validation at the edge: every RPC input is parsed here into a typed
// value, or rejected with INVALID_ARGUMENT naming the first bad field.

import { resumeSinceSchema } from "@golive/shared/stream-resume";
import { z } from "zod";
import { decodeCursor } from "./cursor";
import { DomainError } from "./errors";

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;
export const MAX_BODY_CHARS = 2000;

// Postgres text cannot hold NUL: every free-text field that reaches a query is
// built here, so a NUL is INVALID_ARGUMENT naming the field, never an INTERNAL
// from the INSERT (ids and times are refused by their own formats).
const text = () => z.string().refine((s) => !s.includes("\u0000"), "must not contain NUL characters");

const id = z
  .string()
  .min(1, "is required")
  .pipe(z.uuid({ error: "must be a UUID" }));

/** Every RPC's request shape, by method (exported so a test can walk every field). */
export const requestSchemas = {
  getFeed: z.object({
    user_id: id,
    page_size: z
      .number()
      .int()
      .min(0, `must be between 0 and ${MAX_PAGE_SIZE}`)
      .max(MAX_PAGE_SIZE, `must be between 0 and ${MAX_PAGE_SIZE}`),
    cursor: text(),
  }),
  getVideo: z.object({ video_id: id }),
  likeVideo: z.object({
    user_id: id,
    video_id: id,
    idempotency_key: text().max(128, "must be at most 128 characters"),
  }),
  sendMessage: z.object({
    sender_id: id,
    recipient_id: id,
    body: text()
      .min(1, "is required")
      .refine((s) => [...s].length <= MAX_BODY_CHARS, `must be at most ${MAX_BODY_CHARS} characters`),
  }),
  streamMessages: z.object({
    user_id: id,
    since: z.union([z.literal(""), resumeSinceSchema]),
  }),
};

function parse<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.join(".") || "request";
  throw new DomainError("invalid_argument", `${field}: ${issue?.message ?? "invalid"}`, field);
}

export function parseGetFeed(req: { userId: string; pageSize: number; cursor: string }) {
  const r = parse(requestSchemas.getFeed, {
    user_id: req.userId,
    page_size: req.pageSize,
    cursor: req.cursor,
  });
  return {
    userId: r.user_id,
    pageSize: r.page_size === 0 ? DEFAULT_PAGE_SIZE : r.page_size,
    cursor: r.cursor === "" ? undefined : decodeCursor(r.cursor),
  };
}

export function parseGetVideo(req: { videoId: string }) {
  return { videoId: parse(requestSchemas.getVideo, { video_id: req.videoId }).video_id };
}

export function parseLikeVideo(req: { userId: string; videoId: string; idempotencyKey?: string }) {
  const r = parse(requestSchemas.likeVideo, {
    user_id: req.userId,
    video_id: req.videoId,
    idempotency_key: req.idempotencyKey ?? "",
  });
  return { userId: r.user_id, videoId: r.video_id, idempotencyKey: r.idempotency_key || undefined };
}

export function parseSendMessage(req: { senderId: string; recipientId: string; body: string }) {
  const r = parse(requestSchemas.sendMessage, {
    sender_id: req.senderId,
    recipient_id: req.recipientId,
    body: req.body,
  });
  return { senderId: r.sender_id, recipientId: r.recipient_id, body: r.body };
}

export function parseStreamMessages(req: { userId: string; since?: string }) {
  const r = parse(requestSchemas.streamMessages, { user_id: req.userId, since: req.since ?? "" });
  return { userId: r.user_id, since: r.since === "" ? undefined : new Date(r.since) };
}
