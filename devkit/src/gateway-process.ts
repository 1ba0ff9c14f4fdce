// The real services as child processes: a migrated, seeded Postgres database,
// feed processes (via the feed's own test helper) and the gateway's main.ts.
import { runMigrations } from "@golive/feed/migrate";
import { Pool } from "pg";
import { seedDatabase } from "./seed-data";
import { type ServiceProcess, spawnService } from "./service-process";

export { startFeedProcess, waitFor } from "./feed-process";

export async function prepareDatabase(url: string) {
  await runMigrations(url);
  const pool = new Pool({ connectionString: url, max: 2 });
  try {
    return await seedDatabase(pool, { users: 20, videos: 60, likes: 100 });
  } finally {
    await pool.end();
  }
}

export interface GatewayProcess extends ServiceProcess {
  url: string;
}

/** A gateway's listeners on loopback at these ports, logging warnings only. */
export const gatewayLoopbackEnv = (ports: { http: number }) => ({
  HTTP_HOST: "127.0.0.1",
  HTTP_PORT: String(ports.http),
  OPS_HOST: "127.0.0.1",
  LOG_LEVEL: "warn",
});

export async function startGatewayProcess(
  env: Record<string, string>,
  ports: { http: number; ops: number },
): Promise<GatewayProcess> {
  const proc = await spawnService({
    entry: "apps/gateway/src/main.ts",
    env: { ...gatewayLoopbackEnv(ports), ...env },
    opsPort: ports.ops,
    probe: "live",
  });
  return { ...proc, url: `http://127.0.0.1:${ports.http}` };
}

/** Sum of one metric's samples whose label set contains every given label. */
export async function scrapeSum(
  opsPort: number,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) {
      sum += Number(line.split(" ").pop());
    }
  }
  return sum;
}

/**
 * How far a counter (scrapeSum's) grew since `before`, read until it reaches
 * `expected` or about 2 s pass: a service counts a request once it has
 * answered, so the last answers may not be counted yet.
 */
export async function counterGrowth(
  opsPort: number,
  name: string,
  before: number,
  expected: number,
  labels: Record<string, string> = {},
): Promise<number> {
  let grown = (await scrapeSum(opsPort, name, labels)) - before;
  for (let i = 0; i < 40 && grown !== expected; i++) {
    await new Promise((r) => setTimeout(r, 50));
    grown = (await scrapeSum(opsPort, name, labels)) - before;
  }
  return grown;
}
