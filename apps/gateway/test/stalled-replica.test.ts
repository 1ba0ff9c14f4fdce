// One feed replica stalls (its database connection stops answering, the pool
// fills up) while the other is healthy: the gateway's requests must go to the
// healthy one. The stalled replica fails fast (UNAVAILABLE after
// DB_CONNECT_TIMEOUT_MS, well inside the gateway's deadline) so the call is
// retried elsewhere, and outlier ejection stops sending it traffic; the
// gateway's breaker, shared by all replicas, stays closed.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  type GatewayProcess,
  prepareDatabase,
  scrapeSum,
  startFeedProcess,
  startGatewayProcess,
} from "@golive/devkit/gateway-process";
import { freePort, startTestPostgres, type TestPostgres } from "@golive/devkit/postgres";
import { type StallProxy, startStallProxy } from "@golive/devkit/stall-proxy";
import { metricValue } from "./support/gateway";

const POOL_MAX = 2;

describe("a stalled feed replica", () => {
  let pg: TestPostgres;
  let proxy: StallProxy;
  let videoId: string;
  let stalled: Awaited<ReturnType<typeof startFeedProcess>>;
  let healthy: Awaited<ReturnType<typeof startFeedProcess>>;
  let gw: GatewayProcess;

  before(async () => {
    pg = await startTestPostgres();
    const url = pg.database("stall");
    videoId = (await prepareDatabase(url)).videoIds[0] as string;
    proxy = await startStallProxy(pg.port);
    const common = { LOG_LEVEL: "error", DB_POOL_MAX: String(POOL_MAX) };
    stalled = await startFeedProcess(
      { ...common, DATABASE_URL: url.replace(`:${pg.port}/`, `:${proxy.port}/`) },
      { grpc: await freePort(), ops: await freePort() },
    );
    healthy = await startFeedProcess(
      { ...common, DATABASE_URL: url },
      { grpc: await freePort(), ops: await freePort() },
    );
    // The production deadline, retry and breaker settings (the defaults).
    gw = await startGatewayProcess(
      { FEED_ADDRESS: `ipv4:127.0.0.1:${stalled.grpcPort},127.0.0.1:${healthy.grpcPort}` },
      { http: await freePort(), ops: await freePort() },
    );
  });

  after(async () => {
    for (const p of [gw?.child, stalled?.child, healthy?.child]) p?.kill("SIGKILL");
    await proxy?.close();
    pg?.destroy();
  });

  const getVideo = async () => (await fetch(`${gw.url}/v1/videos/${videoId}`)).status;
  const calls = (feed: { opsPort: number }) =>
    scrapeSum(feed.opsPort, "grpc_server_handled_total", { grpc_method: "GetVideo" });

  test("requests go to the healthy replica: at most the pool's stuck calls fail, and the stalled one is ejected", async () => {
    for (let i = 0; i < 20; i += 1) assert.equal(await getVideo(), 200, "warm-up");
    assert.ok((await calls(stalled)) > 0, "both replicas served before the stall");

    proxy.stall();
    const statuses: number[] = [];
    const startedAt = Date.now();
    let stalledCallsAt2500: number | undefined;
    // Four clients for 4 s.
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (Date.now() - startedAt < 4000) {
          statuses.push(await getVideo());
          if (stalledCallsAt2500 === undefined && Date.now() - startedAt >= 2500) {
            stalledCallsAt2500 = -1;
            stalledCallsAt2500 = await calls(stalled);
          }
        }
      }),
    );
    const stalledCallsAtEnd = await calls(stalled);
    const failed = statuses.filter((s) => s !== 200);
    console.log(
      `stall: ${statuses.length} requests, ${failed.length} failed (${failed.join(",")}); ` +
        `calls reaching the stalled replica in the last 1.5 s (of 4): ${stalledCallsAtEnd - (stalledCallsAt2500 ?? 0)}`,
    );
    // Calls that held the stalled pool's connections when it stalled cannot
    // be saved: their queries hang past the deadline (504). Until outlier
    // ejection takes the replica out, a retry can land on it again (round
    // robin across concurrent callers does not steer a retry away from the
    // replica that failed it), so a call whose every attempt met it fails 503:
    // one or two in runs of 900-1,900 requests here, bounded at 1 % of them.
    const stuck = failed.filter((s) => s === 504);
    const unlucky = failed.filter((s) => s === 503);
    assert.ok(stuck.length <= POOL_MAX, `${stuck.length} calls past their deadline`);
    assert.ok(
      unlucky.length <= Math.ceil(statuses.length / 100),
      `${unlucky.length} of ${statuses.length} failed 503`,
    );
    assert.equal(failed.length, stuck.length + unlucky.length, `unexpected statuses: ${failed.join(",")}`);
    assert.ok(statuses.length >= 40, `only ${statuses.length} requests in 4 s`);
    assert.ok(
      stalledCallsAtEnd - (stalledCallsAt2500 ?? 0) <= 2,
      "the stalled replica is ejected: it gets (almost) no calls after the first interval",
    );
    assert.equal(await metricValue(gw.opsPort, "gateway_circuit_breaker_state", 'breaker="feed"'), 0);

    proxy.resume();
  });
});
