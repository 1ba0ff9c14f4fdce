// The gateway's only door to the feed service: one grpc-js channel that
// round-robins over every address its resolver returns, and the resilience
// policies (deadline, budgeted retries, circuit breaker) around each call.

import type { GetFeedResponse__Output } from "@golive/proto/generated/feed/v1/GetFeedResponse";
import type { LikeVideoResponse__Output } from "@golive/proto/generated/feed/v1/LikeVideoResponse";
import type { Message__Output } from "@golive/proto/generated/feed/v1/Message";
import type { Video__Output } from "@golive/proto/generated/feed/v1/Video";
import type { FeedServiceClient, GetFeedResponse, Message, Video } from "@golive/proto/loader";
import { loadFeedProto } from "@golive/proto/loader";
import { FEED_SERVICE } from "@golive/proto/service";
import { REQUEST_ID_HEADER } from "@golive/shared/contract";
import type { Logger } from "@golive/shared/logger";
import { endSpan, startClientCall } from "@golive/tracing/spans";
import * as grpc from "@grpc/grpc-js";
import { type Context, context, propagation } from "@opentelemetry/api";
import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleWhen,
  type IPolicy,
  retry,
  wrap,
} from "cockatiel";
import type { GatewayMetrics } from "./metrics";
import { RetryBudget } from "./retry-budget";

export type { GetFeedResponse, Message, Video };

/**
 * round_robin makes the channel connect to every resolved address, not just
 * the first. Outlier detection around it takes a replica out of the rotation
 * when at least half of its calls in a second fail (10 calls or more), for
 * 5 s, doubling on repeat up to 30 s; never more than half the replicas. A
 * stalled replica thus stops taking traffic instead of failing a share of
 * every second's calls (the breaker is shared by all replicas).
 */
export const FEED_SERVICE_CONFIG = JSON.stringify({
  loadBalancingConfig: [
    {
      outlier_detection: {
        interval: { seconds: 1, nanos: 0 },
        base_ejection_time: { seconds: 5, nanos: 0 },
        max_ejection_time: { seconds: 30, nanos: 0 },
        max_ejection_percent: 50,
        failure_percentage_ejection: {
          threshold: 50,
          enforcement_percentage: 100,
          minimum_hosts: 2,
          request_volume: 10,
        },
        child_policy: [{ round_robin: {} }],
      },
    },
  ],
});

export function createFeedServiceClient(address: string): FeedServiceClient {
  const proto = loadFeedProto();
  return new proto.feed.v1.FeedService(address, grpc.credentials.createInsecure(), {
    "grpc.service_config": FEED_SERVICE_CONFIG,
    // Defaults back off up to 120 s; a restarted feed pod must be picked up in seconds.
    "grpc.initial_reconnect_backoff_ms": 200,
    "grpc.max_reconnect_backoff_ms": 2000,
    // Notice a silently dead peer (no RST) instead of waiting on the OS.
    "grpc.keepalive_time_ms": 20_000,
    "grpc.keepalive_timeout_ms": 5000,
    // Rate limit on DNS lookups, which grpc-js makes only when a connection
    // drops: the feed closes each after GRPC_MAX_CONNECTION_AGE_MS so replicas
    // added since join the rotation (test/scale-out.test.ts).
    "grpc.dns_min_time_between_resolutions_ms": 5000,
  }) as unknown as FeedServiceClient;
}

const TRANSIENT = new Set([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]);

export function grpcCode(err: unknown): grpc.status | undefined {
  if (typeof err === "object" && err !== null && "code" in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === "number") return code;
  }
  return undefined;
}

export function isTransientFeedError(err: unknown): boolean {
  const code = grpcCode(err);
  return code !== undefined && TRANSIENT.has(code);
}

export interface FeedPolicyOptions {
  deadlineMs: number;
  retryMaxAttempts: number;
  retryBudgetRatio: number;
  retryBudgetMinPerSecond: number;
  breakerConsecutiveFailures: number;
  breakerHalfOpenAfterMs: number;
}

type UnaryMethod = "GetFeed" | "GetVideo" | "LikeVideo" | "SendMessage";

/** Each failed attempt's call deadline, for the shared retry policies to read. */
const deadlineOf = new WeakMap<object, number>();

/** CircuitState numbers to the gauge's documented values (0 closed, 1 half-open, 2 open). */
const BREAKER_GAUGE: Record<CircuitState, number> = {
  [CircuitState.Closed]: 0,
  [CircuitState.HalfOpen]: 1,
  [CircuitState.Open]: 2,
  [CircuitState.Isolated]: 2,
};

export class ResilientFeedClient {
  readonly breaker;
  private readonly budget: RetryBudget;
  /** Breaker around retries, built once (per call they were a tenth of the gateway's own CPU). */
  private readonly policies: Record<"idempotent" | "once", IPolicy>;
  private lastAnswerAt = 0;

  constructor(
    private readonly client: FeedServiceClient,
    private readonly options: FeedPolicyOptions,
    private readonly metrics: GatewayMetrics,
    logger: Logger,
  ) {
    // Only transport-level failures count against the feed: a NOT_FOUND is a healthy answer.
    this.breaker = circuitBreaker(handleWhen(isTransientFeedError), {
      halfOpenAfter: options.breakerHalfOpenAfterMs,
      breaker: new ConsecutiveBreaker(options.breakerConsecutiveFailures),
    });
    this.budget = new RetryBudget(options.retryBudgetRatio, options.retryBudgetMinPerSecond);
    this.policies = {
      idempotent: wrap(this.breaker, this.retryPolicy(true)),
      once: wrap(this.breaker, this.retryPolicy(false)),
    };
    metrics.breakerState.set({ breaker: "feed" }, 0);
    this.breaker.onStateChange((state) => {
      metrics.breakerState.set({ breaker: "feed" }, BREAKER_GAUGE[state]);
      logger.warn({ breaker: "feed", state: CircuitState[state] }, "feed circuit breaker state changed");
    });
  }

  get breakerOpen(): boolean {
    const state = this.breaker.state;
    return state === CircuitState.Open || state === CircuitState.Isolated;
  }

  /** Seconds a client should wait before trying again while the breaker is open. */
  get retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(this.options.breakerHalfOpenAfterMs / 1000));
  }

  /** True when the channel has a live connection or the feed answered recently. */
  reachable(): boolean {
    const state = this.client.getChannel().getConnectivityState(true);
    if (state === grpc.connectivityState.READY) return true;
    return state === grpc.connectivityState.IDLE && Date.now() - this.lastAnswerAt < 60_000;
  }

  // `trace`: the request's trace context, passed by hand (the gateway runs
  // no request in a context manager's scope, server.ts says why); by
  // default the active context.
  getFeed(req: { userId: string; pageSize: number; cursor: string }, requestId: string, trace?: Context) {
    return this.unary<GetFeedResponse__Output>("GetFeed", req, requestId, true, trace);
  }

  getVideo(videoId: string, requestId: string, trace?: Context) {
    return this.unary<Video__Output>("GetVideo", { videoId }, requestId, true, trace);
  }

  /**
   * Idempotent per user and video on the feed side, so a retry after a lost
   * answer is safe; the idempotency key keeps `created` true when the lost
   * attempt was the one that liked.
   */
  likeVideo(userId: string, videoId: string, requestId: string, idempotencyKey: string, trace?: Context) {
    const req = { userId, videoId, idempotencyKey };
    return this.unary<LikeVideoResponse__Output>("LikeVideo", req, requestId, true, trace);
  }

  /**
   * Not idempotent: after DEADLINE_EXCEEDED the message may have been stored, so
   * only UNAVAILABLE (the request never reached a server) is retried.
   */
  sendMessage(senderId: string, recipientId: string, body: string, requestId: string, trace?: Context) {
    const req = { senderId, recipientId, body };
    return this.unary<Message__Output>("SendMessage", req, requestId, false, trace);
  }

  /**
   * Long-lived stream: no deadline (it lasts as long as the socket); the
   * breaker is consulted before opening it so a failing feed is not hammered.
   */
  streamMessages(
    userId: string,
    requestId: string,
    since?: string,
  ): grpc.ClientReadableStream<Message__Output> {
    if (this.breakerOpen) throw new BrokenCircuitError();
    const metadata = new grpc.Metadata();
    metadata.set(REQUEST_ID_HEADER, requestId);
    // Trace context only (no span): a stream lasts as long as its socket.
    propagation.inject(context.active(), metadata, { set: (m, k, v) => m.set(k, v) });
    return this.client.StreamMessages({ userId, since: since ?? "" }, metadata);
  }

  close(): void {
    this.client.close();
  }

  /**
   * Retries UNAVAILABLE (and DEADLINE_EXCEEDED where a repeat is safe) while
   * the call's own deadline leaves time and the retry budget has a token.
   */
  private retryPolicy(retryDeadlineExceeded: boolean) {
    return retry(
      handleWhen((err) => {
        const code = grpcCode(err);
        const retryable =
          code === grpc.status.UNAVAILABLE ||
          (retryDeadlineExceeded && code === grpc.status.DEADLINE_EXCEEDED);
        return retryable && (deadlineOf.get(err) ?? 0) - Date.now() > 20 && this.budget.tryWithdraw();
      }),
      {
        maxAttempts: this.options.retryMaxAttempts,
        backoff: new ExponentialBackoff({ initialDelay: 20, maxDelay: 200 }),
      },
    );
  }

  private async unary<T>(
    method: UnaryMethod,
    request: object,
    requestId: string,
    retryDeadlineExceeded: boolean,
    trace: Context = context.active(),
  ): Promise<T> {
    const deadlineAt = Date.now() + this.options.deadlineMs;
    this.budget.deposit();
    const metadata = new grpc.Metadata();
    metadata.set(REQUEST_ID_HEADER, requestId);
    const span = startClientCall(
      `grpc.${FEED_SERVICE}/${method}`,
      metadata,
      () => ({
        "rpc.system": "grpc",
        "rpc.service": FEED_SERVICE,
        "rpc.method": method,
      }),
      trace,
    );
    let attempts = 0;
    const result = await this.policies[retryDeadlineExceeded ? "idempotent" : "once"]
      .execute(
        () =>
          new Promise<T>((resolve, reject) => {
            attempts += 1;
            if (attempts > 1) this.metrics.feedRetries.inc({ method });
            const call = (this.client as unknown as Record<string, unknown>)[method] as (
              req: object,
              md: grpc.Metadata,
              opts: grpc.CallOptions,
              cb: (err: grpc.ServiceError | null, value?: T) => void,
            ) => grpc.ClientUnaryCall;
            call.call(this.client, request, metadata, { deadline: new Date(deadlineAt) }, (err, value) => {
              // Any answer from a server, even NOT_FOUND, proves the feed is reachable.
              if (!err || !isTransientFeedError(err)) this.lastAnswerAt = Date.now();
              if (err) {
                deadlineOf.set(err, deadlineAt);
                reject(err);
              } else resolve(value as T);
            });
          }),
      )
      .then(
        (value) => {
          endSpan(span, { "rpc.grpc.status_code": grpc.status.OK, "rpc.attempts": attempts });
          return value;
        },
        (err: unknown) => {
          const code = grpcCode(err);
          endSpan(
            span,
            { "rpc.grpc.status_code": code ?? grpc.status.UNKNOWN, "rpc.attempts": attempts },
            err instanceof BrokenCircuitError ? "circuit open" : grpc.status[code ?? grpc.status.UNKNOWN],
          );
          throw err;
        },
      );
    return result;
  }
}
