// Wires the feed service together: pg pool, like worker, message bus, gRPC
// server with health, and the ops server. main.ts adds config and signals;
// tests and the benchmark start it in-process through startFeedService.

import { type FeedServiceHandlers, loadFeedProto, type Message } from "@golive/proto/loader";
import { type Logger, maskUrl } from "@golive/shared/logger";
import { type OpsServer, startOpsServer } from "@golive/shared/ops-server";
import type { ShutdownStep } from "@golive/shared/shutdown";
import * as grpc from "@grpc/grpc-js";
import { context } from "@opentelemetry/api";
import { HealthImplementation } from "grpc-health-check";
import type { FeedConfig } from "./config";
import { FEED_SERVICE_NAME } from "./contract";
import { createPool, startDbProbe } from "./db/pool";
import { FeedStore } from "./feed-store";
import { type LikeWorker, startLikeWorker } from "./like-worker";
import { MessageBus } from "./message-bus";
import { createFeedMetrics, type FeedMetrics } from "./metrics";
import { PageCache } from "./page-cache";
import { createRpcInstrumentation } from "./rpc";
import {
  parseGetFeed,
  parseGetVideo,
  parseLikeVideo,
  parseSendMessage,
  parseStreamMessages,
} from "./validation";

/** LISTEN down longer than this (its reconnect takes about 1 s) makes the replica not ready. */
const LISTENER_READY_GRACE_MS = 5_000;
/** Response header of StreamMessages: when the subscription started, in database time. */
const STREAM_SINCE_KEY = "x-stream-since";

export interface FeedService {
  grpcPort: number;
  opsPort: number;
  metrics: FeedMetrics;
  likeWorker: LikeWorker;
  /** Ordered shutdown: not ready, stop accepting, drain, end streams, close pool. */
  shutdownSteps: ShutdownStep[];
  stop(): Promise<void>;
}

export async function startFeedService(config: FeedConfig, logger: Logger): Promise<FeedService> {
  const pool = createPool({
    url: config.DATABASE_URL,
    max: config.DB_POOL_MAX,
    connectTimeoutMs: config.DB_CONNECT_TIMEOUT_MS,
    statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
    logger,
  });
  const metrics = createFeedMetrics(pool);
  const store = new FeedStore(pool, (statement, seconds) => metrics.dbQuery.observe({ statement }, seconds));
  const pageCache =
    config.FEED_PAGE_CACHE_TTL_MS > 0 ? new PageCache(config.FEED_PAGE_CACHE_TTL_MS) : undefined;
  let shuttingDown = false;

  const health = new HealthImplementation({ "": "NOT_SERVING", [FEED_SERVICE_NAME]: "NOT_SERVING" });
  const probe = startDbProbe(pool, config.DB_PROBE_INTERVAL_MS, logger);
  const updateHealth = () => {
    const up = probe.up();
    metrics.dbUp.set(up ? 1 : 0);
    const status = up && !shuttingDown ? "SERVING" : "NOT_SERVING";
    health.setStatus("", status);
    health.setStatus(FEED_SERVICE_NAME, status);
  };
  probe.onChange(updateHealth);
  await probe.ready;
  updateHealth();

  const bus = new MessageBus({
    url: config.DATABASE_URL,
    connectTimeoutMs: config.DB_CONNECT_TIMEOUT_MS,
    logger,
    loadMessage: (id) => store.getMessage(id),
    messagesSince: (recipients, since) => store.messagesSince(recipients, since),
    onStreamCount: (n) => metrics.streamsOpen.set(n),
  });
  await bus.start();

  const likeWorker = startLikeWorker({
    pool,
    intervalMs: config.LIKE_WORKER_INTERVAL_MS,
    batchSize: config.LIKE_WORKER_BATCH,
    logger,
    onQueueDepth: (depth) => metrics.likeQueueDepth.set(depth),
  });

  const { unary, observe, fail, requestIdOf, serverSpan, endServerSpan } = createRpcInstrumentation({
    metrics,
    logger,
    statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
  });

  const handlers: FeedServiceHandlers = {
    GetFeed: unary("GetFeed", async (request) => {
      const input = parseGetFeed(request);
      const load = () => store.getFeed({ pageSize: input.pageSize, cursor: input.cursor });
      if (!pageCache) return load();
      const { page, result } = await pageCache.get(`${input.pageSize}|${request.cursor}`, load);
      metrics.pageCache.inc({ result });
      return page;
    }),
    GetVideo: unary("GetVideo", async (request) => store.getVideo(parseGetVideo(request).videoId)),
    LikeVideo: unary("LikeVideo", async (request, _metadata, budget) => {
      const input = parseLikeVideo(request);
      const result = await store.likeVideo(input.userId, input.videoId, input.idempotencyKey, budget);
      return { videoId: input.videoId, ...result };
    }),
    SendMessage: unary("SendMessage", async (request, _metadata, budget) => {
      const input = parseSendMessage(request);
      return store.sendMessage(input.senderId, input.recipientId, input.body, budget);
    }),
    StreamMessages: (call) => {
      // The span covers the subscription's setup (its SQL and replay), not
      // the stream's life: a stream lasts as long as a socket.
      const { span, ctx } = serverSpan("StreamMessages", call.metadata);
      const started = process.hrtime.bigint();
      let finished = false;
      let unsubscribe = () => {};
      const finish = (code: grpc.status) => {
        if (finished) return;
        finished = true;
        unsubscribe();
        observe("StreamMessages", started, code);
      };
      call.on("cancelled", () => finish(grpc.status.CANCELLED));
      const setUp = async () => {
        const { userId, since } = parseStreamMessages(call.request);
        await store.requireUser("user_id", userId);
        if (finished) return;
        // While a resume replays what was missed, live messages wait here, and
        // replayed ids are skipped: the replay and the live feed overlap.
        // The replayed ids stay known for the stream's life (at most 1,000): a
        // replayed message's NOTIFY may still arrive after the replay.
        let held: Message[] | undefined = since ? [] : undefined;
        const replayed = new Set<string>();
        const write = (message: Message) => {
          if (!finished && !replayed.has(message.id ?? "")) call.write(message);
        };
        unsubscribe = bus.subscribe(userId, {
          write: (message: Message) => (held ? held.push(message) : write(message)),
          end: () => {
            finish(grpc.status.OK);
            call.end();
          },
        });
        // Headers tell the client that the subscription is live, and from when
        // (database time, comparable with created_at) it may resume.
        const headers = new grpc.Metadata();
        headers.set(STREAM_SINCE_KEY, (await store.databaseNow()).toISOString());
        call.sendMetadata(headers);
        if (since) {
          for (const message of await store.messagesSince([userId], since)) {
            write(message);
            replayed.add(message.id ?? "");
          }
          for (const message of held ?? []) write(message);
          held = undefined;
        }
      };
      context.with(ctx, setUp).then(
        () => endServerSpan(span, grpc.status.OK),
        (err: unknown) => {
          const grpcError = fail("StreamMessages", err, requestIdOf(call.metadata));
          endServerSpan(span, grpcError.code ?? grpc.status.UNKNOWN);
          finish(grpcError.code ?? grpc.status.UNKNOWN);
          call.emit("error", grpcError);
        },
      );
    },
  };

  const server = new grpc.Server();
  server.addService(loadFeedProto().feed.v1.FeedService.service, handlers);
  health.addToServer(server);
  const grpcPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      `${config.GRPC_HOST}:${config.GRPC_PORT}`,
      grpc.ServerCredentials.createInsecure(),
      (err, port) => (err ? reject(err) : resolve(port)),
    ),
  );

  let ops: OpsServer | undefined;
  ops = await startOpsServer({
    host: config.OPS_HOST,
    port: config.OPS_PORT,
    registry: metrics.registry,
    readiness: {
      checks: () => ({
        database: probe.up(),
        listener: bus.health(LISTENER_READY_GRACE_MS),
        worker: likeWorker.health(),
        shutdown: !shuttingDown,
      }),
    },
  });
  logger.info(
    { grpcPort, opsPort: ops.port, database: maskUrl(config.DATABASE_URL), dbUp: probe.up() },
    "feed service started",
  );

  let drained: Promise<void> = Promise.resolve();
  const shutdownSteps: ShutdownStep[] = [
    {
      name: "stop readiness and health, then keep serving for the drain delay",
      // Calls and new streams keep being served meanwhile: clients whose
      // resolver has not caught up still pick this replica, and a refused
      // subscription would leave its socket unsubscribed. The streams end
      // cleanly below; the gateway resumes them elsewhere with a replay.
      run: async () => {
        shuttingDown = true;
        updateHealth();
        await new Promise((resolve) => setTimeout(resolve, config.SHUTDOWN_DRAIN_DELAY_MS));
      },
    },
    {
      name: "stop accepting calls",
      // tryShutdown refuses new calls and waits for running ones, streams included.
      run: () => {
        drained = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      },
    },
    { name: "end message streams", run: () => bus.endAll() },
    { name: "drain in-flight calls", run: () => drained },
    { name: "stop like worker", run: () => likeWorker.stop() },
    { name: "stop message listener", run: () => bus.stop() },
    {
      name: "close database pool",
      run: async () => {
        probe.stop();
        await pool.end();
      },
    },
    { name: "close ops server", run: () => ops?.close() },
  ];

  return {
    grpcPort,
    opsPort: ops.port,
    metrics,
    likeWorker,
    shutdownSteps,
    async stop() {
      for (const step of shutdownSteps) await step.run();
    },
  };
}
