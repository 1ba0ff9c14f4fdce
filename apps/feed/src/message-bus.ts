// Fan-out of direct messages across replicas: SendMessage NOTIFYs on commit,
// every replica LISTENs on one dedicated connection and pushes each message to
// its own open StreamMessages calls for the recipient. The listener reconnects
// by itself after the database goes away.
import { Client } from "pg";
import type { Logger } from "../../shared/src/logger";
import type { Message } from "../../shared/src/proto";
import { MESSAGES_CHANNEL } from "./feed-store";

export interface MessageSink {
  write(message: Message): void;
  end(): void;
}

export class MessageBus {
  private readonly streams = new Map<string, Set<MessageSink>>();
  private client: Client | undefined;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private listening = false;

  constructor(
    private readonly opts: {
      url: string;
      connectTimeoutMs: number;
      logger: Logger;
      /** Loads a message whose NOTIFY payload carried only its id. */
      loadMessage(id: string): Promise<Message | undefined>;
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
    }
  }

  private async deliver(payload: string): Promise<void> {
    try {
      const parsed = JSON.parse(payload) as Partial<Message> & { id: string; recipientId: string };
      const sinks = this.streams.get(parsed.recipientId);
      if (!sinks || sinks.size === 0) return;
      const message =
        parsed.body === undefined ? await this.opts.loadMessage(parsed.id) : (parsed as Message);
      if (!message) return;
      for (const sink of sinks) sink.write(message);
    } catch (err) {
      this.opts.logger.warn({ err: { message: (err as Error).message } }, "message fan-out failed");
    }
  }
}
