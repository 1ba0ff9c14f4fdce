// A service entry point (apps/*/src/main.ts) run as a real child process
// through tsx, with its output captured, resolved once its ops port answers
// the given health probe. Used by the service tests and the local drill.
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { HEALTH_PATHS } from "@golive/shared/contract";

export const REPO_ROOT = path.resolve(__dirname, "../..");

export interface ServiceProcess {
  child: ChildProcess;
  opsPort: number;
  output(): string;
  exited: Promise<number | null>;
}

export async function probeStatus(opsPort: number, probe: "live" | "ready"): Promise<number | undefined> {
  const res = await fetch(`http://127.0.0.1:${opsPort}${HEALTH_PATHS[probe]}`, {
    signal: AbortSignal.timeout(1_000),
  }).catch(() => undefined);
  return res?.status;
}

export async function spawnService(opts: {
  entry: string;
  env: Record<string, string>;
  opsPort: number;
  /** Which probe must answer 200 before the process counts as started. */
  probe: "live" | "ready";
  timeoutMs?: number;
  /** Also append the output to this file (the in-memory copy stays). */
  logFile?: string;
  /** Where the entry runs, and how: TypeScript source through tsx by default. */
  cwd?: string;
  nodeArgs?: string[];
  /** Another node binary than this process's own (a comparison across Node versions). */
  execPath?: string;
}): Promise<ServiceProcess> {
  const child = spawn(
    opts.execPath ?? process.execPath,
    [...(opts.nodeArgs ?? ["--import", "tsx"]), opts.entry],
    {
      cwd: opts.cwd ?? REPO_ROOT,
      env: { PATH: process.env.PATH ?? "", ...opts.env, OPS_PORT: String(opts.opsPort) },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  const log = opts.logFile ? fs.createWriteStream(opts.logFile, { flags: "a" }) : undefined;
  const collect = (chunk: Buffer) => {
    out += chunk;
    log?.write(chunk);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      log?.end();
      resolve(code);
    }),
  );
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${opts.entry} exited early (${child.exitCode ?? child.signalCode}): ${out}`);
    }
    if ((await probeStatus(opts.opsPort, opts.probe)) === 200) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(
        `${opts.entry} not ${opts.probe} on ops port ${opts.opsPort} after ${opts.timeoutMs ?? 20_000} ms: ${out}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, opsPort: opts.opsPort, output: () => out, exited };
}

/** Runs a command to completion and returns its exit code and combined output. */
export function runProcess(
  args: string[],
  env: Record<string, string>,
  opts: { cwd?: string; timeoutMs?: number } = {},
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, {
      cwd: opts.cwd ?? REPO_ROOT,
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
      timeout: opts.timeoutMs ?? 60_000,
    });
    let output = "";
    child.stdout.on("data", (d) => {
      output += d;
    });
    child.stderr.on("data", (d) => {
      output += d;
    });
    child.on("exit", (code) => resolve({ code, output }));
  });
}
