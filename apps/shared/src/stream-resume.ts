// The resume point of a message stream (StreamMessages.since, and the
// gateway's ?since=): one rule for both services, as the proto states it.
import { z } from "zod";

/** How far back a resumed stream may reach: the replay is bounded. */
export const MAX_RESUME_MS = 24 * 60 * 60 * 1000;

export const resumeSinceSchema = z.iso
  .datetime({ offset: true, message: "must be an RFC 3339 time, e.g. 2026-01-01T00:00:00.000Z" })
  .refine((s) => Date.now() - Date.parse(s) <= MAX_RESUME_MS, "must be at most 24 hours ago");
