// A tiny in-test FeedService on loopback (same proto as the real one) that a
// test can make fail, slow down, or disappear, and that records what it saw.

import type { Message } from "@golive/proto/loader";
import { loadFeedProto } from "@golive/proto/loader";
import * as grpc from "@grpc/grpc-js";

export const VIDEO_IDS = [
  "11111111-1111-4111-8111-111111111111",
  "22222222-2222-4222-8222-222222222222",
  "33333333-3333-4333-8333-333333333333",
];
/** StreamMessages answers NOT_FOUND for this user, as the real feed does for an unknown one. */
export const UNKNOWN_USER = "99999999-9999-4999-8999-999999999999";

type Method = "GetFeed" | "GetVideo" | "LikeVideo" | "SendMessage" | "StreamMessages";

export class FakeFeed {
  port = 0;
  calls: Record<Method, number> = {
    GetFeed: 0,
    GetVideo: 0,
    LikeVideo: 0,
    SendMessage: 0,
    StreamMessages: 0,
  };
  requestIds: string[] = [];
  /** The idempotency key of every LikeVideo attempt, in order. */
  likeKeys: string[] = [];
  /** Each unary call answers with this code when set (persistent failure). */
  failWith: grpc.status | undefined;
  /** The next N unary calls fail with the given code, then calls succeed again. */
  private failQueue: grpc.status[] = [];
  delayMs = 0;
  streamsCancelled = 0;
  /** The next N StreamMessages calls fail with UNAVAILABLE before they are live. */
  failStreamsNext = 0;
  private server: grpc.Server | undefined;
  private readonly streams = new Map<string, Set<grpc.ServerWritableStream<unknown, Message>>>();
  private nextMessageId = 0;

  failNext(count: number, code: grpc.status): void {
    for (let i = 0; i < count; i += 1) this.failQueue.push(code);
  }

  openStreams(userId: string): number {
    return this.streams.get(userId)?.size ?? 0;
  }

  /** Writes a message to every open stream of userId; returns how many streams took it. */
  push(userId: string, message: Message): number {
    const set = this.streams.get(userId);
    if (!set) return 0;
    for (const stream of set) stream.write(message);
    return set.size;
  }

  totalCalls(): number {
    return Object.values(this.calls).reduce((a, b) => a + b, 0);
  }

  async start(port = 0): Promise<number> {
    const proto = loadFeedProto();
    const server = new grpc.Server();
    const unary =
      <Req, Res>(method: Method, answer: (req: Req) => Res) =>
      (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) => {
        this.calls[method] += 1;
        const rid = call.metadata.get("x-request-id")[0];
        if (typeof rid === "string") this.requestIds.push(rid);
        if (method === "LikeVideo")
          this.likeKeys.push((call.request as { idempotencyKey: string }).idempotencyKey);
        const code = this.failQueue.shift() ?? this.failWith;
        const reply = () => {
          if (code !== undefined) callback({ code, details: `fake feed answers ${grpc.status[code]}` });
          else {
            let value: Res;
            try {
              value = answer(call.request);
            } catch {
              callback({ code: grpc.status.NOT_FOUND, details: "video_id: no such video" });
              return;
            }
            callback(null, value);
          }
        };
        if (this.delayMs > 0) setTimeout(reply, this.delayMs);
        else reply();
      };
    server.addService(proto.feed.v1.FeedService.service, {
      GetFeed: unary("GetFeed", (req: { userId: string; pageSize: number; cursor: string }) => ({
        videos: VIDEO_IDS.slice(0, req.pageSize || 20).map((id) => ({
          id,
          authorId: req.userId,
          title: `video ${id.slice(0, 4)} cursor=${req.cursor}`,
          url: `https://cdn.example/${id}.mp4`,
          likeCount: 1,
          createdAt: "2026-01-01T00:00:00Z",
        })),
        nextCursor: req.cursor ? "" : "page-2",
      })),
      GetVideo: unary("GetVideo", (req: { videoId: string }) => {
        if (!VIDEO_IDS.includes(req.videoId)) throw new Error("unknown");
        return {
          id: req.videoId,
          authorId: VIDEO_IDS[0],
          title: "t",
          url: "u",
          likeCount: 5,
          createdAt: "2026-01-01T00:00:00Z",
        };
      }),
      LikeVideo: unary("LikeVideo", (req: { videoId: string; idempotencyKey: string }) => ({
        videoId: req.videoId,
        likeCount: 6,
        created: true,
      })),
      SendMessage: unary("SendMessage", (req: { senderId: string; recipientId: string; body: string }) => {
        this.nextMessageId += 1;
        const message: Message = {
          id: `m-${this.nextMessageId}`,
          senderId: req.senderId,
          recipientId: req.recipientId,
          body: req.body,
          createdAt: new Date().toISOString(),
        };
        this.push(req.recipientId, message);
        return message;
      }),
      StreamMessages: (call: grpc.ServerWritableStream<{ userId: string }, Message>) => {
        this.calls.StreamMessages += 1;
        const userId = call.request.userId;
        if (userId === UNKNOWN_USER) {
          call.emit("error", { code: grpc.status.NOT_FOUND, details: "user_id: no such user" });
          return;
        }
        if (this.failStreamsNext > 0) {
          this.failStreamsNext -= 1;
          call.emit("error", { code: grpc.status.UNAVAILABLE, details: "fake feed: replica going away" });
          return;
        }
        let set = this.streams.get(userId);
        if (!set) {
          set = new Set();
          this.streams.set(userId, set);
        }
        set.add(call as grpc.ServerWritableStream<unknown, Message>);
        // Headers once subscribed, as the real feed sends them.
        call.sendMetadata(new grpc.Metadata());
        call.on("cancelled", () => {
          this.streamsCancelled += 1;
          set.delete(call as grpc.ServerWritableStream<unknown, Message>);
        });
      },
    });
    this.port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) =>
        err ? reject(err) : resolve(bound),
      ),
    );
    this.server = server;
    return this.port;
  }

  /** Disappears at once: open calls and streams are cut, the port stops listening. */
  stop(): void {
    this.server?.forceShutdown();
    this.server = undefined;
    this.streams.clear();
  }
}
