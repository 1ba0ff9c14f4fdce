// The local go-live drill: a throwaway Postgres, migrations and seed data, two
// feed processes and a gateway on loopback, then k6 with a chaos step that
// kills one feed process mid-run and brings it back. The verdict is k6's
// thresholds plus recovery within the bound.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort, startTestPostgres, type TestPostgres } from "@golive/devkit/postgres";
import { REPO_ROOT as REPO } from "@golive/devkit/service-process";
import type { DrillEnv } from "../drill-env";
import { type ManagedProcess, runScript, startProcess, waitUntilReady } from "./processes";
import { type DrillReport, formatTable, readK6Points } from "./report";
import { assertLoopbackTargets } from "./targets";

export type Profile = "smoke" | "load" | "soak";

export interface DrillOptions {
  profile: Profile;
  /** Seconds into the run at which one feed process is killed; 0 disables chaos. */
  chaosAtSeconds: number;
  /** How long the killed process stays down before it is started again. */
  downSeconds: number;
  recoveryBoundMs: number;
  seed: { users: number; videos: number; likes: number };
  log?: (line: string) => void;
  /** Where logs and k6 results go (the caller's to remove); a new temp folder, kept for the user, when absent. */
  workDir?: string;
}

export interface DrillResult {
  passed: boolean;
  k6ExitCode: number;
  recoveryMs?: number;
  recovered: boolean;
  report: DrillReport;
  table: string;
  k6Summary: string;
  workDir: string;
}

export const DEFAULTS: Record<Profile, Omit<DrillOptions, "profile">> = {
  smoke: {
    chaosAtSeconds: 10,
    downSeconds: 2,
    recoveryBoundMs: 20_000,
    seed: { users: 50, videos: 200, likes: 500 },
  },
  load: {
    chaosAtSeconds: 120,
    downSeconds: 5,
    recoveryBoundMs: 30_000,
    seed: { users: 500, videos: 2000, likes: 10000 },
  },
  soak: {
    chaosAtSeconds: 900,
    downSeconds: 5,
    recoveryBoundMs: 30_000,
    seed: { users: 500, videos: 2000, likes: 10000 },
  },
};

function k6Binary(): string {
  const local = path.join(REPO, ".tools/bin/k6");
  if (fs.existsSync(local)) return local;
  throw new Error("k6 not found in .tools/bin: run `npm run setup`");
}

export interface K6Run {
  pointsFile: string;
  done: Promise<{ exitCode: number; output: string }>;
}

/** Starts k6 on loadtest/drill.js against the given targets (loopback unless allowed). */
export function startK6(opts: {
  /** probe: drill.js's few seconds of every flow (tests). */
  profile: Profile | "probe";
  gatewayUrl: string;
  feedGrpcAddrs: string;
  workDir: string;
  allowNonLoopback?: boolean;
  /** More of drill.js's variables (WAF_MODE, DURATION, LATENCY_P95_MS). */
  env?: DrillEnv;
}): K6Run {
  assertLoopbackTargets([opts.gatewayUrl, ...opts.feedGrpcAddrs.split(",")], opts.allowNonLoopback ?? false);
  const pointsFile = path.join(opts.workDir, "k6-points.json");
  const k6 = spawn(
    k6Binary(),
    ["run", "--quiet", "--no-color", "--out", `json=${pointsFile}`, "loadtest/drill.js"],
    {
      cwd: REPO,
      env: {
        ...process.env,
        ...({
          GATEWAY_URL: opts.gatewayUrl,
          FEED_GRPC_ADDRS: opts.feedGrpcAddrs,
          PROTO_DIR: path.join(REPO, "proto"),
          PROFILE: opts.profile,
          SUMMARY_PATH: path.join(opts.workDir, "k6-summary.json"),
          ...opts.env,
        } satisfies DrillEnv),
        K6_NO_USAGE_REPORT: "true",
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  k6.stdout.on("data", (chunk) => (output += chunk));
  k6.stderr.on("data", (chunk) => (output += chunk));
  return {
    pointsFile,
    done: new Promise((resolve) => k6.on("exit", (code) => resolve({ exitCode: code ?? 1, output }))),
  };
}

/**
 * The app on loopback against a migrated database: `feeds` feed processes
 * and a gateway spreading calls over them, each logging to workDir.
 */
export async function startLocalApp(opts: {
  databaseUrl: string;
  feeds: number;
  workDir: string;
  /** More environment for every process (a feature flag file, say). */
  env?: Record<string, string>;
}): Promise<{ processes: ManagedProcess[]; gatewayUrl: string; feedGrpcAddrs: string }> {
  const processes: ManagedProcess[] = [];
  const feedPorts: number[] = [];
  for (let i = 0; i < opts.feeds; i++) feedPorts.push(await freePort());
  for (const [i, grpcPort] of feedPorts.entries()) {
    processes.push(
      await startProcess({
        name: `feed-${i + 1}`,
        entry: "apps/feed/src/main.ts",
        env: {
          DATABASE_URL: opts.databaseUrl,
          GRPC_HOST: "127.0.0.1",
          GRPC_PORT: String(grpcPort),
          OPS_HOST: "127.0.0.1",
          LOG_LEVEL: "warn",
          ...opts.env,
        },
        opsPort: await freePort(),
        logFile: path.join(opts.workDir, `feed-${i + 1}.log`),
      }),
    );
  }
  const httpPort = await freePort();
  processes.push(
    await startProcess({
      name: "gateway",
      entry: "apps/gateway/src/main.ts",
      env: {
        FEED_ADDRESS: `ipv4:${feedPorts.map((p) => `127.0.0.1:${p}`).join(",")}`,
        HTTP_HOST: "127.0.0.1",
        HTTP_PORT: String(httpPort),
        OPS_HOST: "127.0.0.1",
        LOG_LEVEL: "warn",
        ...opts.env,
      },
      opsPort: await freePort(),
      logFile: path.join(opts.workDir, "gateway.log"),
    }),
  );
  return {
    processes,
    gatewayUrl: `http://127.0.0.1:${httpPort}`,
    feedGrpcAddrs: feedPorts.map((p) => `127.0.0.1:${p}`).join(","),
  };
}

export async function runDrill(options: DrillOptions): Promise<DrillResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const workDir = options.workDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "golive-drill-"));
  const processes: ManagedProcess[] = [];
  let db: TestPostgres | undefined;
  try {
    log(`drill: work dir ${workDir}`);
    db = await startTestPostgres();
    const databaseUrl = db.database("golive");
    await runScript("apps/feed/src/migrate.ts", [], { DATABASE_URL: databaseUrl });
    const { users, videos, likes } = options.seed;
    await runScript(
      "scripts/seed.ts",
      ["--users", String(users), "--videos", String(videos), "--likes", String(likes)],
      {
        DATABASE_URL: databaseUrl,
      },
    );
    log(`drill: database migrated and seeded (${users} users, ${videos} videos, ${likes} likes)`);

    const app = await startLocalApp({ databaseUrl, feeds: 2, workDir });
    processes.push(...app.processes);
    const { gatewayUrl, feedGrpcAddrs } = app;
    log(`drill: stack up: gateway ${gatewayUrl}, feed ${feedGrpcAddrs}`);

    const k6 = startK6({ profile: options.profile, gatewayUrl, feedGrpcAddrs, workDir });
    // Chaos: steady state, act, verify recovery within the bound.
    let chaosWindow: { fromMs: number; toMs: number } | undefined;
    let recoveryMs: number | undefined;
    let recovered = true;
    if (options.chaosAtSeconds > 0) {
      await new Promise((r) => setTimeout(r, options.chaosAtSeconds * 1000));
      for (const p of processes) await waitUntilReady(p.opsPort, 2_000); // steady state before acting
      const victim = processes[1] as ManagedProcess;
      const killedAt = Date.now();
      log(`drill: chaos: killing ${victim.name} (SIGKILL)`);
      await victim.kill("SIGKILL");
      await new Promise((r) => setTimeout(r, options.downSeconds * 1000));
      try {
        await victim.restart();
        for (const p of processes) await waitUntilReady(p.opsPort, options.recoveryBoundMs);
        recoveryMs = Date.now() - killedAt;
        recovered = recoveryMs <= options.recoveryBoundMs;
      } catch (err) {
        recovered = false;
        log(`drill: chaos: ${victim.name} did not recover: ${(err as Error).message}`);
      }
      chaosWindow = { fromMs: killedAt, toMs: Date.now() };
      log(`drill: chaos: ${recovered ? `all replicas ready after ${recoveryMs} ms` : "recovery FAILED"}`);
    }
    const { exitCode: k6ExitCode, output: k6Output } = await k6.done;
    const report = await readK6Points(k6.pointsFile, chaosWindow);
    const table = formatTable(report, recoveryMs);
    return {
      passed: k6ExitCode === 0 && recovered,
      k6ExitCode,
      recoveryMs,
      recovered,
      report,
      table,
      k6Summary: k6Output,
      workDir,
    };
  } finally {
    for (const r of await Promise.allSettled(processes.map((p) => p.kill("SIGTERM")))) {
      if (r.status === "rejected") log(`drill: ${(r.reason as Error).message}`);
    }
    db?.destroy();
  }
}
