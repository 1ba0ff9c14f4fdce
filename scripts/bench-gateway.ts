// The gateway against its right anchor (issue 27): GET /v1/feed through the
// real gateway, through a bare passthrough (scripts/bench/passthrough.ts: a
// fastify route, a grpc-js call, JSON; nothing else), and direct gRPC
// GetFeed, all to the same feed process on a throwaway seeded Postgres. k6
// drives every row from a process of its own (its CPU is printed too, so a
// saturated generator shows), the rows alternate, and each figure is the
// median of the rounds.
//   npm run bench:gateway -- --vus 16 --seconds 5 --rounds 3
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { prepareDatabase, startFeedProcess, startGatewayProcess } from "@golive/devkit/gateway-process";
import { freePort, startTestPostgres } from "@golive/devkit/postgres";
import { REPO_ROOT } from "@golive/devkit/service-process";
import { cpuMs } from "./bench/measure";

const K6 = path.join(REPO_ROOT, ".tools/bin/k6");

interface Row {
  name: string;
  target: string;
  /** Processes on the request path whose CPU is counted, by label. */
  pids: Record<string, number>;
}

interface Run {
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  failed: number;
  /** CPU µs per request, by process label (k6 included). */
  cpuUs: Record<string, number>;
}

/** user + sys seconds that bash's `times` printed for its children (second line). */
function childCpuMs(stderr: string): number {
  const lines = stderr.trim().split("\n");
  const m = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s/.exec(lines[lines.length - 1] ?? "");
  if (!m) throw new Error(`no CPU times from k6's shell: ${stderr.slice(-500)}`);
  return (Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4])) * 1000;
}

async function runK6(
  row: Row,
  opts: { vus: number; seconds: number; users: string[]; dir: string },
): Promise<Run> {
  const summary = path.join(opts.dir, `summary-${row.name.replace(/\W+/g, "-")}.json`);
  const before = Object.fromEntries(Object.entries(row.pids).map(([k, pid]) => [k, cpuMs(pid)]));
  // bash's `times` reports the CPU k6 used, all of it, after it exits.
  const child = spawn(
    "bash",
    ["-c", '"$@"; s=$?; times >&2; exit $s', "k6-cpu", K6, "run", "--quiet", "scripts/bench/k6-load.js"],
    {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? "",
        K6_NO_USAGE_REPORT: "true",
        TARGET: row.target,
        USERS: opts.users.join(","),
        VUS: String(opts.vus),
        DURATION: `${opts.seconds}s`,
        SUMMARY_PATH: summary,
        PROTO_DIR: path.join(REPO_ROOT, "proto"),
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stderr = "";
  child.stderr?.on("data", (b) => (stderr += b));
  child.stdout?.resume();
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  if (code !== 0) throw new Error(`k6 exited ${code} for ${row.name}: ${stderr.slice(-1000)}`);
  const metrics = JSON.parse(fs.readFileSync(summary, "utf8")).metrics;
  const isGrpc = !row.target.startsWith("http");
  const duration = metrics[isGrpc ? "grpc_req_duration" : "http_req_duration"].values;
  const requests = metrics.iterations.values.count as number;
  const cpuUs = Object.fromEntries(
    Object.entries(row.pids).map(([k, pid]) => [k, ((cpuMs(pid) - (before[k] as number)) * 1000) / requests]),
  );
  cpuUs.k6 = (childCpuMs(stderr) * 1000) / requests;
  return {
    rps: metrics.iterations.values.rate,
    p50: duration.med,
    p95: duration["p(95)"],
    p99: duration["p(99)"],
    failed: metrics.checks?.values.fails ?? 0,
    cpuUs,
  };
}

const signed = (ms: number) => `${ms >= 0 ? "+" : ""}${ms.toFixed(2)} ms`;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

function medianRun(runs: Run[]): Run {
  const labels = Object.keys(runs[0]?.cpuUs ?? {});
  return {
    rps: median(runs.map((r) => r.rps)),
    p50: median(runs.map((r) => r.p50)),
    p95: median(runs.map((r) => r.p95)),
    p99: median(runs.map((r) => r.p99)),
    failed: runs.reduce((n, r) => n + r.failed, 0),
    cpuUs: Object.fromEntries(labels.map((l) => [l, median(runs.map((r) => r.cpuUs[l] as number))])),
  };
}

function startPassthrough(feedAddress: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/bench/passthrough.ts"], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? "", FEED_ADDRESS: feedAddress, PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("passthrough did not listen in 20 s")), 20_000);
    child.stdout?.on("data", (b) => {
      if (String(b).includes("passthrough on")) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.on("exit", (c) => reject(new Error(`passthrough exited ${c}`)));
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      vus: { type: "string", default: "16" },
      seconds: { type: "string", default: "5" },
      rounds: { type: "string", default: "3" },
    },
  });
  const vus = Math.min(256, Math.max(1, Number(values.vus) || 16));
  const seconds = Math.min(120, Math.max(1, Number(values.seconds) || 5));
  const rounds = Math.min(15, Math.max(1, Number(values.rounds) || 3));
  if (!fs.existsSync(K6)) throw new Error("k6 not found in .tools/bin: run `npm run setup`");

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "golive-bench-gateway-"));
  const pg = await startTestPostgres();
  const children: ChildProcess[] = [];
  try {
    const databaseUrl = pg.database("bench_gateway");
    const { userIds } = await prepareDatabase(databaseUrl);
    const feed = await startFeedProcess(
      { DATABASE_URL: databaseUrl, LOG_LEVEL: "warn", DB_POOL_MAX: "20" },
      { grpc: await freePort(), ops: await freePort() },
    );
    children.push(feed.child);
    const feedAddress = `127.0.0.1:${feed.grpcPort}`;
    const gateway = await startGatewayProcess(
      { FEED_ADDRESS: feedAddress, LOG_LEVEL: "info", FEED_DEADLINE_MS: "2000" },
      { http: await freePort(), ops: await freePort() },
    );
    children.push(gateway.child);
    const passPort = await freePort();
    const passthrough = await startPassthrough(feedAddress, passPort);
    children.push(passthrough);

    const feedPid = feed.child.pid as number;
    const rows: Row[] = [
      { name: "direct gRPC GetFeed", target: feedAddress, pids: { feed: feedPid } },
      {
        name: "bare passthrough GET /v1/feed",
        target: `http://127.0.0.1:${passPort}`,
        pids: { passthrough: passthrough.pid as number, feed: feedPid },
      },
      {
        name: "gateway GET /v1/feed",
        target: gateway.url,
        pids: { gateway: gateway.child.pid as number, feed: feedPid },
      },
    ];
    const runs = new Map<string, Run[]>(rows.map((r) => [r.name, []]));
    for (let round = 1; round <= rounds; round++) {
      for (const row of rows) {
        const run = await runK6(row, { vus, seconds, users: userIds, dir });
        runs.get(row.name)?.push(run);
        console.log(`round ${round} ${row.name}: ${run.rps.toFixed(0)} req/s, p50 ${run.p50.toFixed(2)} ms`);
      }
    }
    const med = new Map(rows.map((r) => [r.name, medianRun(runs.get(r.name) ?? [])]));
    console.log(
      `\nfeed page size 20, ${vus} k6 VUs, ${seconds} s per run, ${rounds} rounds alternating; medians`,
    );
    console.log(
      `${"target".padEnd(32)} ${"req/s".padStart(8)} ${"p50 ms".padStart(8)} ${"p95 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"failed".padStart(7)}  CPU µs per request`,
    );
    for (const row of rows) {
      const m = med.get(row.name) as Run;
      const cpu = Object.entries(m.cpuUs)
        .map(([k, us]) => `${k} ${us.toFixed(0)}`)
        .join(", ");
      console.log(
        `${row.name.padEnd(32)} ${m.rps.toFixed(0).padStart(8)} ${m.p50.toFixed(2).padStart(8)} ${m.p95.toFixed(2).padStart(8)} ${m.p99.toFixed(2).padStart(8)} ${String(m.failed).padStart(7)}  ${cpu}`,
      );
    }
    const [direct, pass, gw] = rows.map((r) => med.get(r.name) as Run) as [Run, Run, Run];
    console.log(
      `gateway / passthrough: throughput ${(gw.rps / pass.rps).toFixed(2)}x, p50 ${signed(gw.p50 - pass.p50)}, ` +
        `CPU ${(gw.cpuUs.gateway as number).toFixed(0)} vs ${(pass.cpuUs.passthrough as number).toFixed(0)} µs per request`,
    );
    console.log(
      `passthrough / direct: throughput ${(pass.rps / direct.rps).toFixed(2)}x, p50 ${signed(pass.p50 - direct.p50)}` +
        " (k6's own CPU per request is in the table: a row whose generator costs more than the server is bound by it)",
    );
  } finally {
    for (const child of children) child.kill("SIGKILL");
    pg.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`bench-gateway: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
