// Entry point of the feed service: config from the environment, then the
// service, then signal handling. A bad config prints one line and exits 1.
import { ConfigError, parseEnv } from "../../shared/src/env";
import { createLogger } from "../../shared/src/logger";
import { installShutdown } from "../../shared/src/shutdown";
import { feedConfigSchema } from "./config";
import { startFeedService } from "./server";

async function main(): Promise<void> {
  const config = parseEnv(feedConfigSchema);
  const logger = createLogger("feed", config.LOG_LEVEL);
  process.on("unhandledRejection", (err) => logger.error({ err }, "unhandled rejection"));
  const service = await startFeedService(config, logger);
  installShutdown({ logger, graceMs: config.SHUTDOWN_GRACE_MS, steps: service.shutdownSteps });
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`feed: ${err.message}\n`);
  } else {
    process.stderr.write(`feed: start-up failed: ${(err as Error)?.message ?? String(err)}\n`);
  }
  process.exit(1);
});
