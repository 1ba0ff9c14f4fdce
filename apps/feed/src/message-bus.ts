// Fan-out of direct messages across replicas: SendMessage NOTIFYs on commit,
// every replica LISTENs on one dedicated connection and pushes each message to
// its own open StreamMessages calls for the recipient. The listener reconnects
// by itself after the database goes away; NOTIFYs sent while it was away are
// lost by Postgres design, so after a reconnect it reads the messages created
// since it lost the connection (minus a margin for clock skew) and pushes the
// ones it has not pushed yet: a stream misses nothing across the gap.

import type { Message } from "@golive/proto/loader";
import type { Logger } from "@golive/shared/logger";
import { Client } from "pg";
import { MESSAGES_CHANNEL, parseMessagePayload } from "./message-events";

export interface MessageSink {
  write(message: Message): void;
  end(): void;
}

/** How far before the loss the catch-up reads: covers skew between this host's clock and the database's. */
const CATCH_UP_MARGIN_MS = 30_000;
/** How long a pushed message's id is remembered, so the catch-up never pushes it twice. */
const DELIVERED_TTL_MS = 5 * 60_000;

export class MessageBus {
  private readonly streams = new Map<string, Set<MessageSink>>();
  /** Ids of messages pushed recently, with the time they may be forgotten. */
  private readonly delivered = new Map<string, number>();
  /** Set when LISTEN was lost: the catch-up after the reconnect reads from here. */
  private lostAt: number | undefined;
  private client: Client | undefined;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private listening = false;
  /** When LISTEN was last lost (or the bus was made), for health(). */
  private downSince = Date.now();

  constructor(
    private readonly opts: {
      url: string;
      connectTimeoutMs: number;
      logger: Logger;
      /** Loads a message whose NOTIFY payload carried only its id. */
      loadMessage(id: string): Promise<Message | undefined>;
      /** Messages to these recipients created since `since` (the catch-up after a reconnect). */
      messagesSince(recipientIds: string[], since: Date): Promise<Message[]>;
      onStreamCount(count: number): void;
    },
  ) {}

  /** Connects once; resolves when LISTEN is active or after the first failure (retries continue). */
  async start(): Promise<void> {
    await this.connect();
  }

  isListening(): boolean {
    return this.listening;
  }

  /**
   * For readiness: "warn" while LISTEN has been down for less than
   * `graceMs` (a reconnect takes about a second), then "fail": live messages
   * to this replica's streams would stop arriving.
   */
  health(graceMs: number): "pass" | "warn" | "fail" {
    if (this.listening) return "pass";
    return Date.now() - this.downSince < graceMs ? "warn" : "fail";
  }

  subscribe(recipientId: string, sink: MessageSink): () => void {
    let set = this.streams.get(recipientId);
    if (!set) {
      set = new Set();
      this.streams.set(recipientId, set);
    }
    set.add(sink);
    this.reportCount();
    return () => {
      const current = this.streams.get(recipientId);
      if (current?.delete(sink) && current.size === 0) this.streams.delete(recipientId);
      this.reportCount();
    };
  }

  /** Ends every open stream (shutdown). */
  endAll(): void {
    for (const set of this.streams.values()) for (const sink of [...set]) sink.end();
    this.streams.clear();
    this.reportCount();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    this.listening = false;
    await client?.end().catch(() => {});
  }

  private reportCount(): void {
    let n = 0;
    for (const set of this.streams.values()) n += set.size;
    this.opts.onStreamCount(n);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new Client({
      connectionString: this.opts.url,
      connectionTimeoutMillis: this.opts.connectTimeoutMs,
      application_name: "feed-listener",
    });
    this.client = client;
    let failed = false;
    const fail = (err: Error) => {
      if (failed) return;
      failed = true;
      if (this.listening) {
        this.lostAt = Date.now();
        this.downSince = this.lostAt;
      }
      this.listening = false;
      if (this.client === client) this.client = undefined;
      client.end().catch(() => {});
      if (this.stopped) return;
      this.opts.logger.warn({ err: { message: err.message } }, "message listener lost; reconnecting");
      this.retryTimer = setTimeout(() => void this.connect(), 1_000);
    };
    client.on("error", fail);
    client.on("end", () => fail(new Error("connection ended")));
    client.on("notification", (n) => {
      if (n.channel === MESSAGES_CHANNEL && n.payload) void this.deliver(n.payload);
    });
    try {
      await client.connect();
      await client.query(`listen ${MESSAGES_CHANNEL}`);
      this.listening = true;
      this.opts.logger.info("message listener active");
    } catch (err) {
      fail(err as Error);
      return;
    }
    if (this.lostAt !== undefined) await this.catchUp(this.lostAt);
  }

  /** Pushes what was committed while LISTEN was down; NOTIFYs arriving meanwhile are deduplicated. */
  private async catchUp(lostAt: number): Promise<void> {
    const recipients = [...this.streams.keys()];
    try {
      if (recipients.length > 0) {
        const missed = await this.opts.messagesSince(recipients, new Date(lostAt - CATCH_UP_MARGIN_MS));
        let pushed = 0;
        for (const message of missed) if (this.push(message)) pushed++;
        this.opts.logger.info({ pushed, read: missed.length }, "message listener caught up");
      }
      if (this.lostAt === lostAt) this.lostAt = undefined;
    } catch (err) {
      // The next reconnect (or this one's retry) tries again from the same point.
      this.opts.logger.warn({ err: { message: (err as Error).message } }, "message catch-up failed");
    }
  }

  /** Writes a message to the recipient's streams unless it was pushed already; true if written. */
  private push(message: Message): boolean {
    const now = Date.now();
    for (const [id, until] of this.delivered) {
      if (until > now) break; // insertion order: the rest are newer
      this.delivered.delete(id);
    }
    const { id, recipientId } = message;
    if (!id || !recipientId || this.delivered.has(id)) return false;
    const sinks = this.streams.get(recipientId);
    if (!sinks || sinks.size === 0) return false;
    this.delivered.set(id, now + DELIVERED_TTL_MS);
    for (const sink of sinks) sink.write(message);
    return true;
  }

  private async deliver(payload: string): Promise<void> {
    try {
      const parsed = parseMessagePayload(payload);
      const sinks = this.streams.get(parsed.recipientId);
      if (!sinks || sinks.size === 0) return;
      const message = parsed.message ?? (await this.opts.loadMessage(parsed.id));
      if (message) this.push(message);
    } catch (err) {
      this.opts.logger.warn({ err: { message: (err as Error).message } }, "message fan-out failed");
    }
  }
}
