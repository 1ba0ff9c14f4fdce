// Starts a gateway in-process on loopback with test-sized settings, and small
// HTTP helpers for assertions.
import { after, before } from "node:test";
import { createLogger } from "@golive/shared/logger";
import { type GatewayConfig, loadGatewayConfig } from "../../src/config";
import { type Gateway, startGateway } from "../../src/server";
import { FakeFeed } from "./fake-feed";

export async function startTestGateway(
  feedAddress: string,
  env: Record<string, string> = {},
): Promise<Gateway & { url: string; config: GatewayConfig }> {
  const config = loadGatewayConfig({
    FEED_ADDRESS: feedAddress,
    HTTP_HOST: "127.0.0.1",
    HTTP_PORT: "0",
    OPS_HOST: "127.0.0.1",
    OPS_PORT: "0",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    FEED_DEADLINE_MS: "300",
    BREAKER_CONSECUTIVE_FAILURES: "3",
    BREAKER_HALF_OPEN_AFTER_MS: "300",
    SHUTDOWN_GRACE_MS: "5000",
    ...env,
  });
  const gateway = await startGateway(config, createLogger("gateway-test", config.LOG_LEVEL));
  return Object.assign(gateway, { url: `http://127.0.0.1:${gateway.httpPort}`, config });
}

export type TestGateway = Awaited<ReturnType<typeof startTestGateway>>;

/**
 * A fake feed and an in-process gateway in front of it, started before and
 * stopped after the enclosing suite (or file). `gw` is set once `before` ran.
 */
export function gatewayOnFakeFeed(env: Record<string, string> = {}): { feed: FakeFeed; gw: TestGateway } {
  const fixture = { feed: new FakeFeed(), gw: undefined as unknown as TestGateway };
  before(async () => {
    await fixture.feed.start();
    fixture.gw = await startTestGateway(`127.0.0.1:${fixture.feed.port}`, env);
  });
  after(async () => {
    await fixture.gw.close();
    fixture.feed.stop();
  });
  return fixture;
}

export async function metricValue(opsPort: number, name: string, labels = ""): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ""} `));
  return line ? Number(line.split(" ").pop()) : 0;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
