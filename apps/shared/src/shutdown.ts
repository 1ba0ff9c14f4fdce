// Graceful shutdown shared by the services: on SIGTERM or SIGINT run the steps
// in order (stop readiness, drain, close pools), and exit within the grace
// period whatever happens; a second signal exits at once.
import type { Logger } from "./logger";

export interface ShutdownStep {
  name: string;
  run(): Promise<void> | void;
}

export function installShutdown(opts: { logger: Logger; graceMs: number; steps: ShutdownStep[] }): {
  shutdown(reason: string): Promise<void>;
} {
  let started = false;
  const shutdown = async (reason: string) => {
    if (started) {
      opts.logger.warn({ reason }, "second shutdown signal: exiting now");
      process.exit(1);
    }
    started = true;
    const began = Date.now();
    opts.logger.info({ reason, graceMs: opts.graceMs }, "shutting down");
    const deadline = setTimeout(() => {
      opts.logger.error({ graceMs: opts.graceMs }, "grace period over: exiting with work unfinished");
      process.exit(1);
    }, opts.graceMs);
    deadline.unref();
    let failed = false;
    for (const step of opts.steps) {
      try {
        await step.run();
      } catch (err) {
        failed = true;
        opts.logger.error({ err, step: step.name }, "shutdown step failed");
      }
    }
    opts.logger.info({ elapsedMs: Date.now() - began }, "shutdown complete");
    process.exit(failed ? 1 : 0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
  return { shutdown };
}
