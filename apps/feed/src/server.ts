// Wires the feed service together: pg pool, like worker, message bus, gRPC
// server with health, and the ops server. main.ts adds config and signals;
// tests and the benchmark start it in-process through startFeedService.

import { type FeatureFlags, startFeatureFlags } from "@golive/flags/feature-flags";
import { type FeedServiceHandlers, loadFeedProto, type Message } from "@golive/proto/loader";
import { type Logger, maskUrl } from "@golive/shared/logger";
import { type OpsServer, startOpsServer } from "@golive/shared/ops-server";
import type { ShutdownStep } from "@golive/shared/shutdown";
import * as grpc from "@grpc/grpc-js";
import { context } from "@opentelemetry/api";
import { HealthImplementation } from "grpc-health-check";
import type { Pool } from "pg";
import type { FeedConfig } from "./config";
import { FEED_SERVICE_NAME } from "./contract";
import { createPool, type DbProbe, startDbProbe } from "./db/pool";
import { DomainError } from "./errors";
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

/** Set once shutdown begins: health and readiness report it, calls keep being served. */
interface DrainState {
  shuttingDown: boolean;
}

type Rpc = ReturnType<typeof createRpcInstrumentation>;
type StreamMessagesCall = Parameters<FeedServiceHandlers["StreamMessages"]>[0];

export async function startFeedService(config: FeedConfig, logger: Logger): Promise<FeedService> {
  const pool = createPool({
    url: config.DATABASE_URL,
    max: config.DB_POOL_MAX,
    connectTimeoutMs: config.DB_CONNECT_TIMEOUT_MS,
    statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
    logger,
  });
  const metrics = createFeedMetrics(pool);
  const flags = await startFeatureFlags({ service: "feed", env: config, logger, registry: metrics.registry });
  const store = new FeedStore(pool, (statement, seconds) => metrics.dbQuery.observe({ statement }, seconds));
  const pageCache =
    config.FEED_PAGE_CACHE_TTL_MS > 0 ? new PageCache(config.FEED_PAGE_CACHE_TTL_MS) : undefined;
  const drain: DrainState = { shuttingDown: false };

  const { health, probe, updateHealth } = await startHealth(pool, config, logger, metrics, drain);
  const bus = await startMessageBus(config, logger, store, metrics);
  const likeWorker = startLikeWorker({
    pool,
    intervalMs: config.LIKE_WORKER_INTERVAL_MS,
    batchSize: config.LIKE_WORKER_BATCH,
    logger,
    onQueueDepth: (depth) => metrics.likeQueueDepth.set(depth),
  });
  const rpc = createRpcInstrumentation({
    metrics,
    logger,
    statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
  });

  const server = new grpc.Server({ "grpc.max_connection_age_ms": config.GRPC_MAX_CONNECTION_AGE_MS });
  server.addService(
    loadFeedProto().feed.v1.FeedService.service,
    createHandlers({ store, pageCache, metrics, bus, rpc, flags }),
  );
  health.addToServer(server);
  const grpcPort = await bindServer(server, `${config.GRPC_HOST}:${config.GRPC_PORT}`);

  const ops = await startOpsServer({
    host: config.OPS_HOST,
    port: config.OPS_PORT,
    registry: metrics.registry,
    readiness: {
      checks: () => ({
        database: probe.up(),
        listener: bus.health(LISTENER_READY_GRACE_MS),
        worker: likeWorker.health(),
        shutdown: !drain.shuttingDown,
      }),
    },
  });
  logger.info(
    { grpcPort, opsPort: ops.port, database: maskUrl(config.DATABASE_URL), dbUp: probe.up() },
    "feed service started",
  );

  const shutdownSteps = buildShutdownSteps(config, drain, updateHealth, {
    server,
    bus,
    likeWorker,
    probe,
    pool,
    ops,
    flags,
  });
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

/**
 * gRPC health (overall and for the feed service) follows the database probe
 * and stays NOT_SERVING once shutdown starts; resolves after the first probe.
 */
async function startHealth(
  pool: Pool,
  config: FeedConfig,
  logger: Logger,
  metrics: FeedMetrics,
  drain: DrainState,
): Promise<{ health: HealthImplementation; probe: DbProbe; updateHealth: () => void }> {
  const health = new HealthImplementation({ "": "NOT_SERVING", [FEED_SERVICE_NAME]: "NOT_SERVING" });
  const probe = startDbProbe(pool, config.DB_PROBE_INTERVAL_MS, logger);
  const updateHealth = () => {
    const up = probe.up();
    metrics.dbUp.set(up ? 1 : 0);
    const status = up && !drain.shuttingDown ? "SERVING" : "NOT_SERVING";
    health.setStatus("", status);
    health.setStatus(FEED_SERVICE_NAME, status);
  };
  probe.onChange(updateHealth);
  await probe.ready;
  updateHealth();
  return { health, probe, updateHealth };
}

/** The LISTEN connection that carries new messages to the streams open on this replica. */
async function startMessageBus(
  config: FeedConfig,
  logger: Logger,
  store: FeedStore,
  metrics: FeedMetrics,
): Promise<MessageBus> {
  const bus = new MessageBus({
    url: config.DATABASE_URL,
    connectTimeoutMs: config.DB_CONNECT_TIMEOUT_MS,
    logger,
    loadMessage: (id) => store.getMessage(id),
    messagesSince: (recipients, since) => store.messagesSince(recipients, since),
    onStreamCount: (n) => metrics.streamsOpen.set(n),
  });
  await bus.start();
  return bus;
}

function createHandlers(deps: {
  store: FeedStore;
  pageCache: PageCache | undefined;
  metrics: FeedMetrics;
  bus: MessageBus;
  rpc: Rpc;
  flags: FeatureFlags;
}): FeedServiceHandlers {
  const { store, pageCache, metrics, rpc, flags } = deps;
  const { unary } = rpc;
  return {
    GetFeed: unary("GetFeed", async (request) => {
      const input = parseGetFeed(request);
      // Only a call that meets a fault waits on anything: the usual GetFeed takes no extra tick.
      if (faultsOn(flags)) await injectGetFeedFaults(flags);
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
    StreamMessages: (call) => new MessageStream(call, deps).start(),
  };
}

/**
 * One StreamMessages call. It finishes once (counted in the metrics, and
 * unsubscribed from the bus), whichever comes first: the client cancels, the
 * bus ends the stream, or the setup fails.
 */
class MessageStream {
  private started = 0n;
  private finished = false;
  private unsubscribe = () => {};

  constructor(
    private readonly call: StreamMessagesCall,
    private readonly deps: { store: FeedStore; bus: MessageBus; rpc: Rpc },
  ) {}

  start(): void {
    const { call, deps } = this;
    // The span covers the subscription's setup (its SQL and replay), not
    // the stream's life: a stream lasts as long as a socket.
    const { span, ctx } = deps.rpc.serverSpan("StreamMessages", call.metadata);
    this.started = process.hrtime.bigint();
    call.on("cancelled", () => this.finish(grpc.status.CANCELLED));
    context
      .with(ctx, () => this.setUp())
      .then(
        () => deps.rpc.endServerSpan(span, grpc.status.OK),
        (err: unknown) => {
          const grpcError = deps.rpc.fail("StreamMessages", err, deps.rpc.requestIdOf(call.metadata));
          deps.rpc.endServerSpan(span, grpcError.code ?? grpc.status.UNKNOWN);
          this.finish(grpcError.code ?? grpc.status.UNKNOWN);
          call.emit("error", grpcError);
        },
      );
  }

  private finish(code: grpc.status): void {
    if (this.finished) return;
    this.finished = true;
    this.unsubscribe();
    this.deps.rpc.observe("StreamMessages", this.started, code);
  }

  private async setUp(): Promise<void> {
    const { call, deps } = this;
    const { userId, since } = parseStreamMessages(call.request);
    await deps.store.requireUser("user_id", userId);
    if (this.finished) return;
    // While a resume replays what was missed, live messages wait here, and
    // replayed ids are skipped: the replay and the live feed overlap.
    // The replayed ids stay known for the stream's life (at most 1,000): a
    // replayed message's NOTIFY may still arrive after the replay.
    let held: Message[] | undefined = since ? [] : undefined;
    const replayed = new Set<string>();
    const write = (message: Message) => {
      if (!this.finished && !replayed.has(message.id ?? "")) call.write(message);
    };
    this.unsubscribe = deps.bus.subscribe(userId, {
      write: (message: Message) => (held ? held.push(message) : write(message)),
      end: () => {
        this.finish(grpc.status.OK);
        call.end();
      },
    });
    // Headers tell the client that the subscription is live, and from when
    // (database time, comparable with created_at) it may resume.
    const headers = new grpc.Metadata();
    headers.set(STREAM_SINCE_KEY, (await deps.store.databaseNow()).toISOString());
    call.sendMetadata(headers);
    if (since) {
      for (const message of await deps.store.messagesSince([userId], since)) {
        write(message);
        replayed.add(message.id ?? "");
      }
      for (const message of held ?? []) write(message);
      held = undefined;
    }
  }
}

function bindServer(server: grpc.Server, address: string): Promise<number> {
  return new Promise<number>((resolve, reject) =>
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve(port),
    ),
  );
}

function buildShutdownSteps(
  config: FeedConfig,
  drain: DrainState,
  updateHealth: () => void,
  parts: {
    server: grpc.Server;
    bus: MessageBus;
    likeWorker: LikeWorker;
    probe: DbProbe;
    pool: Pool;
    ops: OpsServer;
    flags: FeatureFlags;
  },
): ShutdownStep[] {
  const { server, bus, likeWorker, probe, pool, ops, flags } = parts;
  let drained: Promise<void> = Promise.resolve();
  return [
    {
      name: "stop readiness and health, then keep serving for the drain delay",
      // Calls and new streams keep being served meanwhile: clients whose
      // resolver has not caught up still pick this replica, and a refused
      // subscription would leave its socket unsubscribed. The streams end
      // cleanly below; the gateway resumes them elsewhere with a replay.
      run: async () => {
        drain.shuttingDown = true;
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
    { name: "close ops server", run: () => ops.close() },
    { name: "stop reading feature flags", run: () => flags.close() },
  ];
}

/** Whether a GetFeed fault flag is on (both are 0, off, by default). */
const faultsOn = ({ current }: FeatureFlags) =>
  current["getfeed-added-latency-ms"] > 0 || current["getfeed-error-share"] > 0;

/**
 * The drills' faults on GetFeed (feature flags, off by default; the flag file
 * is refused where FAULT_INJECTION is refused): a wait before the answer,
 * and a share of calls failed with UNAVAILABLE, as a replica in trouble would.
 */
async function injectGetFeedFaults(flags: FeatureFlags): Promise<void> {
  const { "getfeed-added-latency-ms": latencyMs, "getfeed-error-share": errorShare } = flags.current;
  if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
  if (errorShare > 0 && Math.random() < errorShare) {
    throw new DomainError("unavailable", "injected failure (feature flag getfeed-error-share)");
  }
}
