// A feed replica added behind the gateway's DNS name gets calls from a gateway
// that keeps running: the scale-out an HPA does. grpc-js looks a dns:/// name
// up again only when a connection drops (min 5 s apart), never on a timer, so
// the feed closes each connection after GRPC_MAX_CONNECTION_AGE_MS with a
// GOAWAY: the gateway finishes its calls on it, reconnects, and the new lookup
// brings the new replica in.
//
// The name is served by a loopback DNS server the test changes; the gateway
// asks it through grpc-js's c-ares resolver (GRPC_NODE_USE_ALTERNATIVE_RESOLVER,
// the server in the target's authority), where a pod's getaddrinfo asks
// CoreDNS: what makes the gateway look again is the same. The three feeds are
// real processes on 127.0.0.2-4, one port, one real Postgres.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startDnsServer, type TestDnsServer } from "@golive/devkit/dns-server";
import {
  type GatewayProcess,
  prepareDatabase,
  scrapeSum,
  startFeedProcess,
  startGatewayProcess,
} from "@golive/devkit/gateway-process";
import { freePort, startTestPostgres, type TestPostgres } from "@golive/devkit/postgres";

const NAME = "feed-grpc.golive.test";
const HOSTS = ["127.0.0.2", "127.0.0.3", "127.0.0.4"];
/** Short, so the test sees several reconnects per feed; the stacks keep the 30 s default. */
const MAX_AGE_MS = 2_000;
/** Max age (+10 % jitter), the gateway's 5 s between lookups, and slack for a busy machine. */
const JOIN_WITHIN_MS = MAX_AGE_MS * 1.1 + 5_000 + 5_000;

type Feed = Awaited<ReturnType<typeof startFeedProcess>>;

describe("a feed replica added behind the DNS name", () => {
  let pg: TestPostgres;
  let dns: TestDnsServer;
  let userIds: string[];
  const feeds: Feed[] = [];
  let gw: GatewayProcess;

  before(async () => {
    pg = await startTestPostgres();
    const url = pg.database("scale_out");
    ({ userIds } = await prepareDatabase(url));
    const grpcPort = await freePort(HOSTS[0]);
    for (const host of HOSTS) {
      feeds.push(
        await startFeedProcess(
          {
            DATABASE_URL: url,
            LOG_LEVEL: "warn",
            GRPC_HOST: host,
            GRPC_MAX_CONNECTION_AGE_MS: String(MAX_AGE_MS),
          },
          { grpc: grpcPort, ops: await freePort() },
        ),
      );
    }
    dns = await startDnsServer({ [NAME]: HOSTS.slice(0, 2) });
    gw = await startGatewayProcess(
      {
        FEED_ADDRESS: `dns://${dns.address}/${NAME}:${grpcPort}`,
        GRPC_NODE_USE_ALTERNATIVE_RESOLVER: "true",
      },
      { http: await freePort(), ops: await freePort() },
    );
  });

  after(async () => {
    for (const p of [gw?.child, ...feeds.map((f) => f.child)]) p?.kill("SIGKILL");
    await dns?.close();
    pg?.destroy();
  });

  /** GetFeed calls each feed answered, from its own metrics: [127.0.0.2, .3, .4]. */
  const calls = async (): Promise<[number, number, number]> => {
    const [a = 0, b = 0, c = 0] = await Promise.all(
      feeds.map((f) => scrapeSum(f.opsPort, "grpc_server_handled_total", { grpc_method: "GetFeed" })),
    );
    return [a, b, c];
  };

  /** Pages through the gateway, four at a time, until `done` or `ms` pass; answers not 200, or stale, are failures. */
  async function traffic(ms: number, done: () => Promise<boolean> = async () => false) {
    const stop = Date.now() + ms;
    let sent = 0;
    const failures: string[] = [];
    let finished = false;
    const worker = async (w: number) => {
      while (!finished && Date.now() < stop) {
        const res = await fetch(`${gw.url}/v1/feed?userId=${userIds[(sent + w) % userIds.length]}&limit=5`);
        const body = (await res.json()) as { stale?: boolean };
        sent += 1;
        if (res.status !== 200 || body.stale) failures.push(`${res.status} ${JSON.stringify(body)}`);
      }
    };
    const watcher = async () => {
      while (!finished && Date.now() < stop) {
        if (await done()) finished = true;
        else await new Promise((r) => setTimeout(r, 100));
      }
      finished = true;
    };
    const started = Date.now();
    await Promise.all([watcher(), ...[0, 1, 2, 3].map(worker)]);
    return { sent, failures, ms: Date.now() - started };
  }

  test("gets GetFeed calls within a connection's max age and a lookup, no request failing meanwhile", async () => {
    const warm = await traffic(2_000);
    const before = await calls();
    assert.ok(before[0] > 0 && before[1] > 0, `both listed feeds serve: ${before.join(" / ")}`);
    assert.equal(before[2], 0, "the unlisted feed gets nothing");

    dns.set(NAME, HOSTS);
    const join = await traffic(JOIN_WITHIN_MS, async () => (await calls())[2] > 0);
    const joined = await calls();
    assert.ok(joined[2] > 0, `the added feed got no call in ${join.ms} ms (${join.sent} requests)`);

    const spread = await traffic(3_000);
    const after = await calls();
    const share = after.map((n, i) => n - joined[i as 0 | 1 | 2]);
    console.log(
      `scale-out: the added feed's first call ${join.ms} ms after the DNS change (max age ${MAX_AGE_MS} ms); GetFeed per feed in the next 3 s ${share.join(" / ")}; requests ${warm.sent + join.sent + spread.sent}, failed ${warm.failures.length + join.failures.length + spread.failures.length}`,
    );
    assert.deepEqual(
      [...warm.failures, ...join.failures, ...spread.failures],
      [],
      "requests failed or stale",
    );
    const total = share.reduce((a, b) => a + b, 0);
    assert.ok(
      share.every((n) => n >= total / 6),
      `round_robin spreads over all three (each at least half its third): ${share.join(" / ")}`,
    );
  });
});
