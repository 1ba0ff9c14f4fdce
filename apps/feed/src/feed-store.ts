// Data access for the feed RPCs: parameterised SQL over the pg pool. Inputs
// arrive already validated; unknown rows become NOT_FOUND naming the field.

import type { Message, Video } from "@golive/proto/loader";
import { inTransaction } from "@golive/shared/transaction";
import type { Pool, PoolClient, QueryResult, QueryResultRow } from "pg";
import { encodeCursor, type FeedCursor } from "./cursor";
import { notFound } from "./errors";
import { MESSAGES_CHANNEL, messagePayload } from "./message-events";

interface VideoRow {
  id: string;
  author_id: string;
  title: string;
  url: string;
  like_count: string;
  created_at: Date;
}

interface MessageRow {
  id: string;
  sender_id: string;
  recipient_id: string;
  body: string;
  created_at: Date;
}

const toVideo = (r: VideoRow): Video => ({
  id: r.id,
  authorId: r.author_id,
  title: r.title,
  url: r.url,
  likeCount: Number(r.like_count),
  createdAt: r.created_at.toISOString(),
});

export const toMessage = (r: MessageRow): Message => ({
  id: r.id,
  senderId: r.sender_id,
  recipientId: r.recipient_id,
  body: r.body,
  createdAt: r.created_at.toISOString(),
});

const VIDEO_COLUMNS = "id, author_id, title, url, like_count, created_at";

/** What is left of the caller's deadline: the statements of a write get no more. */
export interface CallBudget {
  statementTimeoutMs?: number;
}

export class FeedStore {
  constructor(
    private readonly pool: Pool,
    /** Called with each statement's name and duration (feed_db_query_duration_seconds). */
    private readonly observe: (statement: string, seconds: number) => void = () => {},
  ) {}

  /**
   * One named statement: prepared once per connection, named on its SQL span,
   * and timed under that name.
   */
  private async run<R extends QueryResultRow>(
    client: Pool | PoolClient,
    name: string,
    text: string,
    values: unknown[] = [],
  ): Promise<QueryResult<R>> {
    const started = performance.now();
    try {
      return await client.query<R>({ name, text, values });
    } finally {
      this.observe(name, (performance.now() - started) / 1000);
    }
  }

  /** Newest first; like counts here are the drained counts (the worker folds queued likes in). */
  async getFeed(opts: {
    pageSize: number;
    cursor?: FeedCursor;
  }): Promise<{ videos: Video[]; nextCursor: string }> {
    const limit = opts.pageSize + 1;
    const { rows } = opts.cursor
      ? await this.run<VideoRow>(
          this.pool,
          "feed_page_after",
          `select ${VIDEO_COLUMNS} from videos where (created_at, id) < ($1, $2)
           order by created_at desc, id desc limit $3`,
          [opts.cursor.createdAt, opts.cursor.id, limit],
        )
      : await this.run<VideoRow>(
          this.pool,
          "feed_page_first",
          `select ${VIDEO_COLUMNS} from videos order by created_at desc, id desc limit $1`,
          [limit],
        );
    const page = rows.slice(0, opts.pageSize);
    const last = page[page.length - 1];
    const nextCursor =
      rows.length > opts.pageSize && last ? encodeCursor({ createdAt: last.created_at, id: last.id }) : "";
    return { videos: page.map(toVideo), nextCursor };
  }

  /** Exact count: drained count plus likes still queued, read in one snapshot. */
  async getVideo(videoId: string): Promise<Video> {
    const { rows } = await this.run<VideoRow>(
      this.pool,
      "video_get",
      `select id, author_id, title, url, created_at,
              like_count + (select count(*) from like_events e where e.video_id = v.id) as like_count
       from videos v where id = $1`,
      [videoId],
    );
    const row = rows[0];
    if (!row) throw notFound("video_id", "video");
    return toVideo(row);
  }

  async likeVideo(
    userId: string,
    videoId: string,
    idempotencyKey?: string,
    opts: CallBudget = {},
  ): Promise<{ likeCount: number; created: boolean }> {
    return inTransaction(
      this.pool,
      async (client) => {
        await this.requireUsersAndVideo(client, [["user_id", userId]], videoId);
        const inserted = await this.run(
          client,
          "like_insert",
          "insert into likes (user_id, video_id, idempotency_key) values ($1, $2, $3) on conflict do nothing",
          [userId, videoId, idempotencyKey ?? null],
        );
        let created = inserted.rowCount === 1;
        if (created)
          await this.run(client, "like_event_insert", "insert into like_events (video_id) values ($1)", [
            videoId,
          ]);
        else if (idempotencyKey) {
          // A retry of the attempt that created the like answers as that attempt would have.
          const same = await this.run(
            client,
            "like_replay_check",
            "select 1 from likes where user_id = $1 and video_id = $2 and idempotency_key = $3",
            [userId, videoId, idempotencyKey],
          );
          created = same.rowCount === 1;
        }
        // One statement, one snapshot: the worker moves events into like_count
        // atomically, so this sum never counts a like twice or misses one.
        const { rows } = await this.run<{ n: string }>(
          client,
          "like_count",
          `select like_count + (select count(*) from like_events e where e.video_id = v.id) as n
         from videos v where id = $1`,
          [videoId],
        );
        return { likeCount: Number(rows[0]?.n ?? 0), created };
      },
      opts,
    );
  }

  async sendMessage(
    senderId: string,
    recipientId: string,
    body: string,
    opts: CallBudget = {},
  ): Promise<Message> {
    return inTransaction(
      this.pool,
      async (client) => {
        await this.requireUsersAndVideo(client, [
          ["sender_id", senderId],
          ["recipient_id", recipientId],
        ]);
        const { rows } = await this.run<MessageRow>(
          client,
          "message_insert",
          `insert into messages (sender_id, recipient_id, body) values ($1, $2, $3)
         returning id, sender_id, recipient_id, body, created_at`,
          [senderId, recipientId, body],
        );
        const message = toMessage(rows[0] as MessageRow);
        // Delivered to every LISTENing replica when this transaction commits.
        await this.run(client, "message_notify", "select pg_notify($1, $2)", [
          MESSAGES_CHANNEL,
          messagePayload(message),
        ]);
        return message;
      },
      opts,
    );
  }

  async getMessage(id: string): Promise<Message | undefined> {
    const { rows } = await this.run<MessageRow>(
      this.pool,
      "message_get",
      "select id, sender_id, recipient_id, body, created_at from messages where id = $1",
      [id],
    );
    return rows[0] ? toMessage(rows[0]) : undefined;
  }

  /** Messages to these recipients created at or after `since`, oldest first (the listener's catch-up). */
  async messagesSince(recipientIds: string[], since: Date, limit = 1_000): Promise<Message[]> {
    const { rows } = await this.run<MessageRow>(
      this.pool,
      "messages_since",
      `select id, sender_id, recipient_id, body, created_at from messages
        where recipient_id = any($1::uuid[]) and created_at >= $2
        order by created_at, id limit $3`,
      [recipientIds, since, limit],
    );
    return rows.map(toMessage);
  }

  /** The database's clock, the one created_at is stamped with. */
  async databaseNow(): Promise<Date> {
    const { rows } = await this.run<{ now: Date }>(
      this.pool,
      "database_now",
      "select clock_timestamp() as now",
    );
    return (rows[0] as { now: Date }).now;
  }

  async requireUser(field: string, userId: string): Promise<void> {
    await this.requireUsersAndVideo(this.pool, [[field, userId]]);
  }

  /** One round trip to check that the named users (not deleted) and the video exist. */
  private async requireUsersAndVideo(
    client: Pool | PoolClient,
    users: [field: string, id: string][],
    videoId?: string,
  ): Promise<void> {
    const { rows } = await this.run<{ found: string[]; video: boolean }>(
      client,
      "users_and_video_exist",
      `select coalesce(array_agg(id::text), '{}') as found,
              ($2::uuid is null or exists (select 1 from videos where id = $2)) as video
       from users where id = any($1::uuid[]) and deleted_at is null`,
      [users.map(([, id]) => id), videoId ?? null],
    );
    const found = new Set(rows[0]?.found ?? []);
    for (const [field, id] of users) if (!found.has(id)) throw notFound(field, "user");
    if (videoId && !rows[0]?.video) throw notFound("video_id", "video");
  }
}
