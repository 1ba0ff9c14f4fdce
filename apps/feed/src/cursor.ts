// The feed's page cursor: the keyset position of the last video on a page,
// handed to clients as an opaque base64url string.
import { z } from "zod";
import { invalidArgument } from "./errors";

export interface FeedCursor {
  createdAt: Date;
  id: string;
}

export function encodeCursor(cursor: FeedCursor): string {
  return Buffer.from(`${cursor.createdAt.toISOString()}|${cursor.id}`, "utf8").toString("base64url");
}

const cursorParts = z.tuple([z.iso.datetime(), z.uuid()]);

/** The cursor a client sent back, or INVALID_ARGUMENT naming `cursor`. */
export function decodeCursor(raw: string): FeedCursor {
  if (!/^[A-Za-z0-9_-]+$/.test(raw)) throw invalidArgument("cursor", "malformed cursor");
  const parsed = cursorParts.safeParse(Buffer.from(raw, "base64url").toString("utf8").split("|"));
  if (!parsed.success) throw invalidArgument("cursor", "malformed cursor");
  return { createdAt: new Date(parsed.data[0]), id: parsed.data[1] };
}
