// What tracing costs: GET /v1/feed through a gateway and feed with tracing off,
// against the same pair exporting to a real collector at the prod ratio (1 %)
// and at 100 %, on one throwaway seeded Postgres. The rows alternate, a few
// rounds each, and the ratios use the medians, because this machine is shared.
//   npm run bench:tracing -- --concurrency 16 --seconds 4 --rounds 3
import http from "node:http";
import { parseArgs } from "node:util";
import { startFeedProcess } from "@golive/devkit/feed-process";
import { prepareDatabase, startGatewayProcess } from "@golive/devkit/gateway-process";
import { freePort, startTestPostgres } from "@golive/devkit/postgres";
import { startCollector } from "@golive/devkit/trace-backends";
import { median } from "./bench/compare";
import { type BenchResult, formatTable, measure } from "./bench/measure";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      concurrency: { type: "string", default: "16" },
      seconds: { type: "string", default: "4" },
      rounds: { type: "string", default: "3" },
    },
  });
  const concurrency = Math.min(256, Math.max(1, Number(values.concurrency) || 16));
  const durationMs = Math.min(120, Math.max(1, Number(values.seconds) || 4)) * 1000;
  const rounds = Math.min(10, Math.max(1, Number(values.rounds) || 3));

  const pg = await startTestPostgres();
  const collector = await startCollector({ keepPercent: 100, slowMs: 60_000, decisionWaitMs: 500 });
  const children: Array<{ kill(signal: NodeJS.Signals): void }> = [];
  try {
    const databaseUrl = pg.database("bench_tracing");
    const { userIds } = await prepareDatabase(databaseUrl);
    const pair = async (name: string, tracing: Record<string, string>) => {
      const feed = await startFeedProcess(
        { DATABASE_URL: databaseUrl, LOG_LEVEL: "warn", DB_POOL_MAX: "10", ...tracing },
        { grpc: await freePort(), ops: await freePort() },
      );
      const gateway = await startGatewayProcess(
        {
          FEED_ADDRESS: `127.0.0.1:${feed.grpcPort}`,
          LOG_LEVEL: "warn",
          FEED_DEADLINE_MS: "2000",
          ...tracing,
        },
        { http: await freePort(), ops: await freePort() },
      );
      children.push(feed.child, gateway.child);
      return { name, url: gateway.url };
    };
    const on = (ratio: string) => ({
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
      OTEL_TRACES_SAMPLER_ARG: ratio,
    });
    const pairs = [
      await pair("tracing off", {}),
      await pair("tracing 1 %", on("0.01")),
      await pair("tracing 100 %", on("1")),
    ];

    let n = 0;
    const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency * pairs.length });
    const get = (url: string) => () =>
      new Promise<void>((resolve, reject) => {
        const userId = userIds[(n++ * 7) % userIds.length];
        http
          .get(`${url}/v1/feed?userId=${userId}&limit=20`, { agent }, (res) => {
            res.resume();
            res.on("end", () =>
              res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`)),
            );
          })
          .on("error", reject);
      });

    const results = new Map<string, BenchResult[]>(pairs.map((p) => [p.name, []]));
    for (let round = 0; round < rounds; round += 1) {
      for (const p of pairs) {
        const row = await measure({
          name: p.name,
          call: get(p.url),
          concurrency,
          warmupMs: 1000,
          durationMs,
        });
        results.get(p.name)?.push(row);
      }
    }
    agent.destroy();
    const rows = [...results.values()].flat();
    console.log(
      `GET /v1/feed, ${concurrency} concurrent callers, ${durationMs / 1000} s per row, ${rounds} rounds`,
    );
    console.log(formatTable(rows));
    const rps = (name: string) => median((results.get(name) ?? []).map((r) => r.rps));
    const p50 = (name: string) => median((results.get(name) ?? []).map((r) => r.p50));
    for (const name of ["tracing 1 %", "tracing 100 %"]) {
      console.log(
        `${name} / off (medians): throughput ${(rps(name) / rps("tracing off")).toFixed(2)}x, ` +
          `p50 ${(p50(name) / p50("tracing off")).toFixed(2)}x`,
      );
    }
  } finally {
    for (const child of children) child.kill("SIGKILL");
    await collector.stop();
    pg.destroy();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`bench-tracing: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
