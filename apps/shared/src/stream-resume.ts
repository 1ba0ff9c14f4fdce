// The resume point of a message stream (StreamMessages.since, and the
// gateway's ?since=): one rule for both services, as the proto states it.
import { z } from "zod";

/** How far back a resumed stream may reach: the replay is bounded. */
export const MAX_RESUME_MS = 24 * 60 * 60 * 1000;

/**
 * How far ahead of this process's clock a resume point may be: a client sends
 * back a message's created_at, stamped by another machine's clock.
 */
export const MAX_CLOCK_SKEW_MS = 5_000;

/**
 * A resume point after now would make a resumed stream skip what arrives
 * before it, so one further ahead than clock skew explains is refused, and
 * one within the skew is clamped to now (replaying a little more is safe:
 * clients drop ids they already have).
 */
export const resumeSinceSchema = z.iso
  .datetime({ offset: true, message: "must be an RFC 3339 time, e.g. 2026-01-01T00:00:00.000Z" })
  .refine((s) => Date.now() - Date.parse(s) <= MAX_RESUME_MS, "must be at most 24 hours ago")
  .refine((s) => Date.parse(s) - Date.now() <= MAX_CLOCK_SKEW_MS, "must not be in the future")
  .transform((s) => new Date(Math.min(Date.parse(s), Date.now())).toISOString());
