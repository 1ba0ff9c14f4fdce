// The processes the benchmarks drive, on loopback: a throwaway seeded
// Postgres, a collector for the services' spans, the feed (its page cache on,
// and a second one with it off for cold pages), a bare grpc-js server
// answering GetFeed with a precomputed page, a bare passthrough, and the
// gateway twice (tracing at the prod ratio, and off). Every one of them is a
// process of its own, so its CPU can be read from /proc.
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startFeedProcess, startGatewayProcess } from "@golive/devkit/gateway-process";
import { freePort, startTestPostgres } from "@golive/devkit/postgres";
import { seedDatabase } from "@golive/devkit/seed-data";
import { REPO_ROOT } from "@golive/devkit/service-process";
import { startCollector } from "@golive/devkit/trace-backends";
import { runMigrations } from "@golive/feed/migrate";
import { loadFeedProto } from "@golive/proto/loader";
import * as grpc from "@grpc/grpc-js";
import { Pool } from "pg";

/** Page size of every benchmark request. */
export const PAGE_SIZE = 20;

/** The prod stack's trace sample ratio (Pulumi.prod.yaml, golive:tracing.sampleRatio). */
export const PROD_SAMPLE_RATIO = "0.01";

export interface BenchStack {
  userIds: string[];
  /** host:port of each gRPC server, http://host:port of each HTTP one. */
  address: {
    bare: string;
    feed: string;
    feedCold: string;
    passthrough: string;
    gateway: string;
    gatewayUntraced: string;
  };
  pid: Record<"bare" | "feed" | "feedCold" | "passthrough" | "gateway" | "gatewayUntraced", number>;
  /** A scratch folder removed by stop(). */
  dir: string;
  /** A passthrough with some of the gateway's pieces (passthrough.ts), stopped with the stack. */
  startPassthrough(features: string[]): Promise<{ address: string; pid: number }>;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** Node flags for every Node process under test (--cpu-prof, or a preload that slows the gateways down on purpose). */
  nodeOptions?: string;
  /** More env for both gateways. */
  gatewayEnv?: Record<string, string>;
}

function spawnScript(script: string, env: Record<string, string>, ready: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", script], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start in 20 s`)), 20_000);
    child.stdout?.on("data", (b) => {
      if (String(b).includes(ready)) {
        clearTimeout(timer);
        child.stdout?.resume();
        resolve(child);
      }
    });
    child.on("exit", (c) => reject(new Error(`${script} exited ${c}`)));
  });
}

/** The seed of every benchmark: enough videos that a cold page is real work for Postgres. */
export const SEED = { users: 200, videos: 1000, likes: 5000 };

async function seededDatabase(url: string): Promise<string[]> {
  await runMigrations(url);
  const pool = new Pool({ connectionString: url, max: 2 });
  try {
    return (await seedDatabase(pool, SEED)).userIds;
  } finally {
    await pool.end();
  }
}

/** One GetFeed page from the feed, for the bare server to answer with. */
function firstPage(address: string, userId: string): Promise<unknown> {
  const client = new (loadFeedProto().feed.v1.FeedService)(address, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) =>
    client.GetFeed({ userId, pageSize: PAGE_SIZE, cursor: "" }, (err, page) => {
      client.close();
      if (err || !page) reject(err ?? new Error("no page"));
      else resolve(page);
    }),
  );
}

export async function startBenchStack(opts: StackOptions = {}): Promise<BenchStack> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "golive-bench-"));
  const pg = await startTestPostgres();
  const collector = await startCollector({ keepPercent: 100, slowMs: 60_000, decisionWaitMs: 500 });
  const children: ChildProcess[] = [];
  // SIGTERM first, so a process run with --cpu-prof writes its profile; SIGKILL after 10 s.
  const stop = async () => {
    await Promise.all(
      children.map((child) => {
        if (child.exitCode !== null || child.signalCode !== null) return undefined;
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        return exited.finally(() => clearTimeout(timer));
      }),
    );
    await collector.stop();
    pg.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const nodeEnv: Record<string, string> = opts.nodeOptions ? { NODE_OPTIONS: opts.nodeOptions } : {};
  try {
    const databaseUrl = pg.database("bench");
    const userIds = await seededDatabase(databaseUrl);
    const tracing = {
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
      OTEL_TRACES_SAMPLER_ARG: PROD_SAMPLE_RATIO,
    };
    const feedEnv = {
      DATABASE_URL: databaseUrl,
      LOG_LEVEL: "info",
      DB_POOL_MAX: "20",
      ...tracing,
      ...nodeEnv,
    };
    const feed = await startFeedProcess(feedEnv, { grpc: await freePort(), ops: await freePort() });
    children.push(feed.child);
    const feedCold = await startFeedProcess(
      { ...feedEnv, FEED_PAGE_CACHE_TTL_MS: "0" },
      { grpc: await freePort(), ops: await freePort() },
    );
    children.push(feedCold.child);
    const feedAddress = `127.0.0.1:${feed.grpcPort}`;

    const payload = path.join(dir, "page.json");
    fs.writeFileSync(payload, JSON.stringify(await firstPage(feedAddress, userIds[0] as string)));
    const barePort = await freePort();
    const bare = await spawnScript(
      "scripts/bench/bare-server.ts",
      { PAYLOAD_FILE: payload, PORT: String(barePort) },
      "bare server on",
    );
    children.push(bare);
    const startPassthrough = async (features: string[]) => {
      const port = await freePort();
      const child = await spawnScript(
        "scripts/bench/passthrough.ts",
        {
          FEED_ADDRESS: feedAddress,
          PORT: String(port),
          PASSTHROUGH_FEATURES: features.join(","),
          ...(features.includes("tracing") ? tracing : {}),
          ...nodeEnv,
        },
        "passthrough on",
      );
      children.push(child);
      return { address: `http://127.0.0.1:${port}`, pid: child.pid as number };
    };
    const passthrough = await startPassthrough([]);

    const gatewayEnv = {
      FEED_ADDRESS: feedAddress,
      LOG_LEVEL: "info",
      FEED_DEADLINE_MS: "2000",
      ...nodeEnv,
      ...opts.gatewayEnv,
    };
    const gateway = await startGatewayProcess(
      { ...gatewayEnv, ...tracing },
      { http: await freePort(), ops: await freePort() },
    );
    children.push(gateway.child);
    const gatewayUntraced = await startGatewayProcess(gatewayEnv, {
      http: await freePort(),
      ops: await freePort(),
    });
    children.push(gatewayUntraced.child);
    return {
      userIds,
      address: {
        bare: `127.0.0.1:${barePort}`,
        feed: feedAddress,
        feedCold: `127.0.0.1:${feedCold.grpcPort}`,
        passthrough: passthrough.address,
        gateway: gateway.url,
        gatewayUntraced: gatewayUntraced.url,
      },
      pid: {
        bare: bare.pid as number,
        feed: feed.child.pid as number,
        feedCold: feedCold.child.pid as number,
        passthrough: passthrough.pid,
        gateway: gateway.child.pid as number,
        gatewayUntraced: gatewayUntraced.child.pid as number,
      },
      dir,
      startPassthrough,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
