// Database schema of the feed service. drizzle-kit generates ./migrations from
// this file; the service itself queries with plain parameterised SQL through pg.
import { sql } from "drizzle-orm";
import {
  bigint,
  bigserial,
  date,
  index,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uuid,
} from "drizzle-orm/pg-core";

// Millisecond precision: JavaScript dates carry milliseconds, so a keyset
// cursor built from a returned timestamp matches the stored value exactly.
const createdAt = () => timestamp("created_at", { withTimezone: true, precision: 3 }).notNull().defaultNow();

export const users = pgTable(
  "users",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    handle: text("handle").notNull().unique(),
    email: text("email").notNull().unique(),
    createdAt: createdAt(),
    // Set when the user asks to be forgotten; the retention job purges later.
    deletedAt: timestamp("deleted_at", { withTimezone: true, precision: 3 }),
  },
  (t) => [index("users_deleted_at_idx").on(t.deletedAt).where(sql`${t.deletedAt} is not null`)],
);

export const videos = pgTable(
  "videos",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    authorId: uuid("author_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    title: text("title").notNull(),
    url: text("url").notNull(),
    likeCount: bigint("like_count", { mode: "number" }).notNull().default(0),
    createdAt: createdAt(),
  },
  (t) => [
    // Keyset pagination of the feed: ORDER BY created_at DESC, id DESC.
    index("videos_feed_idx").on(t.createdAt.desc(), t.id.desc()),
    index("videos_author_id_idx").on(t.authorId),
  ],
);

export const likes = pgTable(
  "likes",
  {
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    videoId: uuid("video_id")
      .notNull()
      .references(() => videos.id, { onDelete: "cascade" }),
    createdAt: createdAt(),
    /** The creating request's key: its retries answer created=true too. */
    idempotencyKey: text("idempotency_key"),
  },
  (t) => [primaryKey({ columns: [t.userId, t.videoId] }), index("likes_video_id_idx").on(t.videoId)],
);

// Queue of likes not yet folded into videos.like_count; the worker drains it
// with FOR UPDATE SKIP LOCKED, and its row count is the queue depth.
export const likeEvents = pgTable(
  "like_events",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    videoId: uuid("video_id")
      .notNull()
      .references(() => videos.id, { onDelete: "cascade" }),
    createdAt: createdAt(),
  },
  (t) => [index("like_events_video_id_idx").on(t.videoId)],
);

export const messages = pgTable(
  "messages",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    senderId: uuid("sender_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    recipientId: uuid("recipient_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    body: text("body").notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index("messages_recipient_idx").on(t.recipientId, t.createdAt),
    index("messages_sender_idx").on(t.senderId),
  ],
);

export const userActivity = pgTable(
  "user_activity",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    kind: text("kind").notNull(),
    createdAt: createdAt(),
    // The day after which the retention job deletes the row.
    retentionDate: date("retention_date", { mode: "string" }).notNull(),
  },
  (t) => [
    index("user_activity_retention_idx").on(t.retentionDate),
    index("user_activity_user_idx").on(t.userId),
  ],
);
