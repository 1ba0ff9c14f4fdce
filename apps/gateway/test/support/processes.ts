// The real services as child processes: a migrated, seeded Postgres database,
// feed processes (via the feed's own test helper) and the gateway's main.ts.
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { Pool } from "pg";
import { seedDatabase } from "../../../../scripts/seed-data";
import { runMigrations } from "../../../feed/src/migrate";

export { startFeedProcess, waitFor } from "../../../feed/test/support";

export const REPO_ROOT = path.resolve(__dirname, "../../../..");

export async function prepareDatabase(url: string) {
  await runMigrations(url);
  const pool = new Pool({ connectionString: url, max: 2 });
  try {
    return await seedDatabase(pool, { users: 20, videos: 60, likes: 100 });
  } finally {
    await pool.end();
  }
}

export interface GatewayProcess {
  child: ChildProcess;
  url: string;
  opsPort: number;
  output(): string;
  exited: Promise<number | null>;
}

export async function startGatewayProcess(
  env: Record<string, string>,
  ports: { http: number; ops: number },
): Promise<GatewayProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "apps/gateway/src/main.ts"], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      HTTP_HOST: "127.0.0.1",
      HTTP_PORT: String(ports.http),
      OPS_HOST: "127.0.0.1",
      OPS_PORT: String(ports.ops),
      LOG_LEVEL: "warn",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d) => {
    out += d;
  });
  child.stderr?.on("data", (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const url = `http://127.0.0.1:${ports.http}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gateway exited early: ${out}`);
    const live = await fetch(`http://127.0.0.1:${ports.ops}/health/live`).catch(() => undefined);
    if (live?.status === 200) break;
    if (Date.now() > deadline) throw new Error(`gateway did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, url, opsPort: ports.ops, output: () => out, exited };
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
