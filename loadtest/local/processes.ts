// Child processes of the local stack: started with an environment, waited on
// until ready through their ops port, killed and restarted on demand.
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

export const REPO = path.resolve(__dirname, "../..");

export interface ManagedProcess {
  name: string;
  opsPort: number;
  /** Sends a signal and resolves when the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again with the same environment and waits until ready. */
  restart(): Promise<void>;
  running(): boolean;
}

/** Runs a TypeScript entry to completion; rejects with its output on failure. */
export function runScript(entry: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(REPO, entry), ...args], {
      cwd: REPO,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.on("exit", (code) =>
      code === 0 ? resolve(output) : reject(new Error(`${entry} exited ${code}: ${output}`)),
    );
  });
}

export async function waitUntilReady(opsPort: number, timeoutMs: number): Promise<number> {
  const began = Date.now();
  while (Date.now() - began < timeoutMs) {
    try {
      const res = await fetch(`http://127.0.0.1:${opsPort}/health/ready`, {
        signal: AbortSignal.timeout(500),
      });
      if (res.ok) return Date.now() - began;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not ready on ops port ${opsPort} after ${timeoutMs} ms`);
}

export async function startProcess(opts: {
  name: string;
  entry: string;
  env: NodeJS.ProcessEnv;
  opsPort: number;
  logFile: string;
  readyTimeoutMs?: number;
}): Promise<ManagedProcess> {
  let child: ChildProcess | undefined;
  const log = fs.createWriteStream(opts.logFile, { flags: "a" });
  const launch = async () => {
    child = spawn(process.execPath, ["--import", "tsx", path.join(REPO, opts.entry)], {
      cwd: REPO,
      env: { ...process.env, ...opts.env, OPS_PORT: String(opts.opsPort) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    const exited = new Promise<never>((_, reject) =>
      child?.once("exit", (code) =>
        reject(new Error(`${opts.name} exited with ${code} before ready; see ${opts.logFile}`)),
      ),
    );
    exited.catch(() => undefined); // a later exit after readiness is not an error here
    await Promise.race([waitUntilReady(opts.opsPort, opts.readyTimeoutMs ?? 20_000), exited]);
  };
  await launch();
  return {
    name: opts.name,
    opsPort: opts.opsPort,
    running: () => child !== undefined && child.exitCode === null && child.signalCode === null,
    kill(signal = "SIGTERM") {
      const current = child;
      if (!current || current.exitCode !== null || current.signalCode !== null) return Promise.resolve();
      return new Promise((resolve) => {
        current.once("exit", () => resolve());
        current.kill(signal);
      });
    },
    restart: launch,
  };
}
