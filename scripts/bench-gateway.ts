// Gateway overhead: GET /v1/feed through the gateway against direct gRPC
// GetFeed to the same feed process, same page size, same concurrency, in one
// run, on a throwaway seeded Postgres. Prints both rows and their ratio.
//   npm run bench:gateway -- --concurrency 16 --seconds 5
import http from "node:http";
import { parseArgs } from "node:util";
import { startFeedProcess } from "@golive/devkit/feed-process";
import { prepareDatabase, startGatewayProcess } from "@golive/devkit/gateway-process";
import { freePort, startTestPostgres } from "@golive/devkit/postgres";
import { loadFeedProto } from "@golive/proto/loader";
import * as grpc from "@grpc/grpc-js";
import { formatCpu, formatTable, measure } from "./bench/measure";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { concurrency: { type: "string", default: "16" }, seconds: { type: "string", default: "5" } },
  });
  const concurrency = Math.min(256, Math.max(1, Number(values.concurrency) || 16));
  const durationMs = Math.min(120, Math.max(1, Number(values.seconds) || 5)) * 1000;
  const pageSize = 20;

  const pg = await startTestPostgres();
  const children: Array<{ kill(signal: NodeJS.Signals): void }> = [];
  try {
    const databaseUrl = pg.database("bench_gateway");
    const { userIds } = await prepareDatabase(databaseUrl);
    const feed = await startFeedProcess(
      { DATABASE_URL: databaseUrl, LOG_LEVEL: "warn", DB_POOL_MAX: "20" },
      { grpc: await freePort(), ops: await freePort() },
    );
    children.push(feed.child);
    const gateway = await startGatewayProcess(
      { FEED_ADDRESS: `127.0.0.1:${feed.grpcPort}`, LOG_LEVEL: "warn", FEED_DEADLINE_MS: "2000" },
      { http: await freePort(), ops: await freePort() },
    );
    children.push(gateway.child);

    const proto = loadFeedProto();
    const client = new proto.feed.v1.FeedService(
      `127.0.0.1:${feed.grpcPort}`,
      grpc.credentials.createInsecure(),
    );
    let n = 0;
    const nextUser = () => userIds[(n++ * 7) % userIds.length] as string;
    const direct = () =>
      new Promise<void>((resolve, reject) =>
        client.GetFeed({ userId: nextUser(), pageSize }, { deadline: Date.now() + 5000 }, (err) =>
          err ? reject(err) : resolve(),
        ),
      );
    const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
    const viaGateway = () =>
      new Promise<void>((resolve, reject) => {
        const req = http.get(
          `${gateway.url}/v1/feed?userId=${nextUser()}&limit=${pageSize}`,
          { agent },
          (res) => {
            res.resume();
            res.on("end", () =>
              res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`)),
            );
          },
        );
        req.on("error", reject);
      });

    const cpu = {
      client: "self" as const,
      gateway: gateway.child.pid as number,
      feed: feed.child.pid as number,
    };
    const common = { concurrency, warmupMs: 1000, durationMs, cpu };
    const grpcRow = await measure({ ...common, name: "direct gRPC GetFeed", call: direct });
    const httpRow = await measure({ ...common, name: "gateway GET /v1/feed", call: viaGateway });
    client.close();
    agent.destroy();

    console.log(`feed page size ${pageSize}, ${concurrency} concurrent callers, ${durationMs / 1000} s each`);
    console.log(formatTable([grpcRow, httpRow]));
    // On one machine the load generator, the gateway and the feed share the
    // cores: throughput follows the CPU each request costs all of them.
    console.log(formatCpu([grpcRow, httpRow]));
    console.log(
      `gateway / direct: throughput ${(httpRow.rps / grpcRow.rps).toFixed(2)}x, ` +
        `p50 ${(httpRow.p50 / grpcRow.p50).toFixed(2)}x, p95 ${(httpRow.p95 / grpcRow.p95).toFixed(2)}x, ` +
        `p99 ${(httpRow.p99 / grpcRow.p99).toFixed(2)}x`,
    );
  } finally {
    for (const child of children) child.kill("SIGKILL");
    pg.destroy();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`bench-gateway: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
