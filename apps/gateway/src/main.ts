// Gateway process entry: config from the environment, JSON logs, graceful
// shutdown on SIGTERM within SHUTDOWN_GRACE_MS (exit codes: runMain).
import { createLogger } from "@golive/shared/logger";
import { runMain } from "@golive/shared/run-main";
import { installShutdown } from "@golive/shared/shutdown";
import { loadGatewayConfig } from "./config";
import { startGateway } from "./server";

runMain("gateway", async () => {
  const config = loadGatewayConfig();
  const logger = createLogger("gateway", config.LOG_LEVEL);
  const gateway = await startGateway(config, logger);
  installShutdown({ logger, graceMs: config.SHUTDOWN_GRACE_MS, steps: gateway.shutdownSteps() });
});
