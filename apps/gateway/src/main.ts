// Gateway process entry: config from the environment, JSON logs, graceful
// shutdown on SIGTERM within SHUTDOWN_GRACE_MS.
import { ConfigError } from "../../shared/src/env";
import { createLogger } from "../../shared/src/logger";
import { installShutdown } from "../../shared/src/shutdown";
import { loadGatewayConfig } from "./config";
import { startGateway } from "./server";

async function main(): Promise<void> {
  let config: ReturnType<typeof loadGatewayConfig>;
  try {
    config = loadGatewayConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`gateway: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger("gateway", config.LOG_LEVEL);
  const gateway = await startGateway(config, logger);
  installShutdown({ logger, graceMs: config.SHUTDOWN_GRACE_MS, steps: gateway.shutdownSteps() });
}

main().catch((err: unknown) => {
  process.stderr.write(`gateway: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
