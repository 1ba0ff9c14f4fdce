// Gateway process entry: config from the environment, JSON logs, graceful
// shutdown on SIGTERM within SHUTDOWN_GRACE_MS (exit codes: runMain).
// First, on its own: tracing must patch http, grpc-js and pino before anything loads them.
import "./instrument";
import { createLogger } from "@golive/shared/logger";
import { runMain } from "@golive/shared/run-main";
import { installShutdown } from "@golive/shared/shutdown";
import { loadGatewayConfig } from "./config";
import { tracing } from "./instrument";
import { startGateway } from "./server";

runMain("gateway", async () => {
  const config = loadGatewayConfig();
  const logger = createLogger("gateway", config.LOG_LEVEL);
  const gateway = await startGateway(config, logger);
  const steps = [...gateway.shutdownSteps(), { name: "flush traces", run: () => tracing.shutdown() }];
  installShutdown({ logger, graceMs: config.SHUTDOWN_GRACE_MS, steps });
});
