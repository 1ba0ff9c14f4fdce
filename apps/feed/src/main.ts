// Entry point of the feed service: config from the environment, then the
// service, then signal handling (exit codes and fatal errors: runMain).
// First, on its own: tracing must patch grpc-js, pg and pino before anything loads them.
import "./instrument";
import { parseEnv } from "@golive/shared/env";
import { createLogger } from "@golive/shared/logger";
import { runMain } from "@golive/shared/run-main";
import { installShutdown } from "@golive/shared/shutdown";
import { feedConfigSchema } from "./config";
import { tracing } from "./instrument";
import { startFeedService } from "./server";

runMain("feed", async () => {
  const config = parseEnv(feedConfigSchema);
  const logger = createLogger("feed", config.LOG_LEVEL);
  const service = await startFeedService(config, logger);
  const steps = [...service.shutdownSteps, { name: "flush traces", run: () => tracing.shutdown() }];
  installShutdown({ logger, graceMs: config.SHUTDOWN_GRACE_MS, steps });
});
