// The local stack's long-running processes: started and waited on until ready
// (devkit/src/service-process.ts), killed and restarted by the chaos step.
import { probeStatus, runProcess, type ServiceProcess, spawnService } from "@golive/devkit/service-process";

export interface ManagedProcess {
  name: string;
  opsPort: number;
  /** Sends a signal and resolves when the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again with the same environment and waits until ready. */
  restart(): Promise<void>;
}

/** Runs a TypeScript entry to completion; rejects with its output on failure. */
export async function runScript(entry: string, args: string[], env: Record<string, string>): Promise<string> {
  const { code, output } = await runProcess(["--import", "tsx", entry, ...args], env, { timeoutMs: 120_000 });
  if (code !== 0) throw new Error(`${entry} exited ${code}: ${output}`);
  return output;
}

export async function waitUntilReady(opsPort: number, timeoutMs: number): Promise<number> {
  const began = Date.now();
  while (Date.now() - began < timeoutMs) {
    if ((await probeStatus(opsPort, "ready")) === 200) return Date.now() - began;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not ready on ops port ${opsPort} after ${timeoutMs} ms`);
}

/** Longer than the services' default grace period (SHUTDOWN_GRACE_MS, 20 s). */
const KILL_BOUND_MS = 30_000;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

export async function startProcess(opts: {
  name: string;
  entry: string;
  env: Record<string, string>;
  opsPort: number;
  logFile: string;
  readyTimeoutMs?: number;
  /** How long kill() waits for an exit before SIGKILL (and an error). */
  killBoundMs?: number;
}): Promise<ManagedProcess> {
  const killBoundMs = opts.killBoundMs ?? KILL_BOUND_MS;
  const launch = () =>
    spawnService({
      entry: opts.entry,
      env: opts.env,
      opsPort: opts.opsPort,
      probe: "ready",
      timeoutMs: opts.readyTimeoutMs,
      logFile: opts.logFile,
    });
  let current: ServiceProcess = await launch();
  return {
    name: opts.name,
    opsPort: opts.opsPort,
    async kill(signal = "SIGTERM") {
      const child = current.child;
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      // Bounded: a service that outlives its own grace period (20 s) is a bug
      // to see, not a reason for the caller to wait forever.
      const gone = await Promise.race([
        current.exited.then(() => true),
        sleep(killBoundMs).then(() => false),
      ]);
      if (gone) return;
      child.kill("SIGKILL");
      await Promise.race([current.exited, sleep(5_000)]);
      throw new Error(
        `${opts.name} (pid ${child.pid}) still ran ${killBoundMs} ms after ${signal}; SIGKILLed. Last output:\n${current.output().slice(-2000)}`,
      );
    },
    async restart() {
      current = await launch();
    },
  };
}
