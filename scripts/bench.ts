// GetFeed benchmark (not a test): the real feed service on a seeded
// throwaway Postgres next to a bare grpc-js server returning a response of the
// same size, at the same fixed concurrency, in one run.
//   npm run bench        (BENCH_DURATION_MS, BENCH_CONCURRENCY, BENCH_PAGE_SIZE, BENCH_VIDEOS)
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort, startTestPostgres } from "@golive/devkit/postgres";
import { seedDatabase } from "@golive/devkit/seed-data";
import { runMigrations } from "@golive/feed/migrate";
import { type FeedServiceClient, type GetFeedResponse, loadFeedProto } from "@golive/proto/loader";
import * as grpc from "@grpc/grpc-js";
import { Pool } from "pg";
import { type BenchResult, formatCpu, formatTable, measure } from "./bench/measure";

const ROOT = path.resolve(__dirname, "..");
const num = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
};
const DURATION_MS = num("BENCH_DURATION_MS", 10_000);
const CONCURRENCY = num("BENCH_CONCURRENCY", 32);
const PAGE_SIZE = num("BENCH_PAGE_SIZE", 20);
const VIDEOS = num("BENCH_VIDEOS", 1000);

function spawnTs(script: string, env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "ignore", "inherit"],
  });
}

function client(port: number): FeedServiceClient {
  return new (loadFeedProto().feed.v1.FeedService)(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}

export function getFeed(c: FeedServiceClient, userId: string, pageSize: number): Promise<GetFeedResponse> {
  return new Promise((resolve, reject) =>
    c.GetFeed({ userId, pageSize, cursor: "" }, { deadline: Date.now() + 5_000 }, (err, res) =>
      err || !res ? reject(err) : resolve(res),
    ),
  );
}

async function untilAnswers(c: FeedServiceClient, userId: string): Promise<GetFeedResponse> {
  for (let i = 0; i < 100; i++) {
    try {
      return await getFeed(c, userId, PAGE_SIZE);
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error("server did not answer within 20 s");
}

async function main(): Promise<void> {
  const pg = await startTestPostgres();
  const children: ChildProcess[] = [];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "feed-bench-"));
  try {
    const url = pg.database("feed_bench");
    await runMigrations(url);
    const pool = new Pool({ connectionString: url, max: 2 });
    const seeded = await seedDatabase(pool, { users: 200, videos: VIDEOS, likes: 5 * VIDEOS });
    await pool.end();
    const userId = seeded.userIds[0] as string;

    const feedPort = await freePort();
    children.push(
      spawnTs("apps/feed/src/main.ts", {
        DATABASE_URL: url,
        GRPC_HOST: "127.0.0.1",
        GRPC_PORT: String(feedPort),
        OPS_HOST: "127.0.0.1",
        OPS_PORT: String(await freePort()),
        LOG_LEVEL: "warn",
      }),
    );
    const feedClient = client(feedPort);
    const page = await untilAnswers(feedClient, userId);
    const payloadFile = path.join(tmp, "payload.json");
    fs.writeFileSync(payloadFile, JSON.stringify(page));

    const barePort = await freePort();
    children.push(
      spawnTs("scripts/bench/bare-server.ts", { PAYLOAD_FILE: payloadFile, PORT: String(barePort) }),
    );
    const bareClient = client(barePort);
    const bare = await untilAnswers(bareClient, userId);
    const encoded = (r: GetFeedResponse) =>
      loadFeedProto().feed.v1.FeedService.service.GetFeed.responseSerialize(r).length;
    process.stdout.write(
      `GetFeed page of ${page.videos?.length} videos: ${encoded(page)} bytes from feed, ${encoded(bare)} bytes from bare server\n` +
        `${CONCURRENCY} calls in flight, ${DURATION_MS / 1000} s per target after a 2 s warm-up, ${VIDEOS} seeded videos\n\n`,
    );

    const rows: BenchResult[] = [];
    rows.push(
      await measure({
        name: "bare grpc-js, precomputed GetFeed",
        cpu: { client: "self", server: children[1]?.pid as number },
        concurrency: CONCURRENCY,
        durationMs: DURATION_MS,
        warmupMs: 2_000,
        call: async () => {
          await getFeed(bareClient, userId, PAGE_SIZE);
        },
      }),
    );
    rows.push(
      await measure({
        name: "feed GetFeed (page cache, Postgres)",
        cpu: { client: "self", server: children[0]?.pid as number },
        concurrency: CONCURRENCY,
        durationMs: DURATION_MS,
        warmupMs: 2_000,
        call: async () => {
          await getFeed(feedClient, userId, PAGE_SIZE);
        },
      }),
    );
    process.stdout.write(`${formatTable(rows)}\n${formatCpu(rows)}\n`);
    const [b, f] = rows as [BenchResult, BenchResult];
    process.stdout.write(
      `\nfeed/bare: throughput ${(f.rps / b.rps).toFixed(2)}x, p50 ${(f.p50 / b.p50).toFixed(2)}x, p95 ${(f.p95 / b.p95).toFixed(2)}x, p99 ${(f.p99 / b.p99).toFixed(2)}x\n`,
    );
    feedClient.close();
    bareClient.close();
  } finally {
    for (const child of children) child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 500));
    pg.destroy();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  process.stderr.write(`bench: ${err.message}\n`);
  process.exit(1);
});
