// Shapes of what clients may send, parsed once at the edge so nothing
// malformed reaches the feed service.

import { SAFE_TOKEN } from "@golive/shared/contract";
import { resumeSinceSchema } from "@golive/shared/stream-resume";
import { z } from "zod";

/** Ids in the feed are UUID strings; anything else is rejected before a gRPC call. */
export const idSchema = z.uuid({ message: "must be a UUID" });

export const feedQuerySchema = z.strictObject({
  userId: idSchema,
  limit: z
    .string()
    .regex(/^\d{1,3}$/, "must be an integer from 1 to 100")
    .transform(Number)
    .pipe(z.number().int().min(1, "must be at least 1").max(100, "must be at most 100"))
    .optional(),
  // Opaque to the gateway; bounded so a huge value cannot be forwarded.
  cursor: z
    .string()
    .max(512, "must be at most 512 characters")
    .regex(/^[A-Za-z0-9_\-=.:+/]*$/, "has characters a cursor never has")
    .optional(),
});

export const videoParamsSchema = z.strictObject({ id: idSchema });

export const likeBodySchema = z.strictObject({ userId: idSchema });

/** Optional `Idempotency-Key` request header: a client's retries of one like share it. */
export const idempotencyKeySchema = z
  .string()
  .regex(SAFE_TOKEN, "must be 1-128 letters, digits or . _ : -")
  .optional();

export const socketQuerySchema = z.strictObject({
  userId: idSchema,
  /**
   * Resume after a reconnect: messages created at or after this time are sent
   * first (the created_at of the last message seen, less a few seconds; the
   * client drops ids it already has). At most 24 hours back.
   */
  since: resumeSinceSchema.optional(),
});

export const MESSAGE_BODY_MAX = 2000;

export const socketFrameSchema = z.strictObject({
  to: idSchema,
  body: z
    .string()
    .min(1, "must not be empty")
    .max(MESSAGE_BODY_MAX, `must be at most ${MESSAGE_BODY_MAX} characters`)
    // The feed stores it in Postgres text, which cannot hold NUL.
    .refine((s) => !s.includes("\u0000"), "must not contain NUL characters"),
  /** Echoed back in the acknowledgement so a client can match replies to sends. */
  ref: z.string().max(64).optional(),
});

/** One line naming each bad field, for a 400 body or an error frame. */
export function describeIssues(error: z.ZodError, name = "(input)"): string {
  return error.issues
    .map((issue) => `${issue.path.join(".") || name}: ${issue.message}`)
    .join("; ")
    .slice(0, 300);
}
