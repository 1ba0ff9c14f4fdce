// Feature flags end to end: a real feed and a real gateway process on a real
// Postgres, both reading one flag file, the way the stack mounts it. Under
// steady traffic the likes-writes kill switch goes off, a bad file arrives,
// and the switch comes back on with a fault on GetFeed: each change is in
// force within the reload bound, no request fails other than by the switch,
// and the bad file changes nothing. Then the messages switch, and the feed
// refusing fault flags where injection is refused.
import assert from "node:assert/strict";
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import {
  type GatewayProcess,
  prepareDatabase,
  startFeedProcess,
  startGatewayProcess,
} from "@golive/devkit/gateway-process";
import { freePort, startTestPostgres, type TestPostgres } from "@golive/devkit/postgres";
import { reloadBoundMs } from "@golive/flags/feature-flags";
import { DEFAULT_FLAGS, type FlagValues, renderFlagFile } from "@golive/flags/flags";
import { WebSocket } from "ws";

const POLL_MS = 200;
/** The reload bound, plus room for a loaded machine to schedule the processes. */
const IN_FORCE_WITHIN_MS = reloadBoundMs(POLL_MS) + 2000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Answer {
  route: "like" | "feed";
  started: number;
  ms: number;
  status: number;
  code?: string;
}

describe("feature flags: gateway and feed reading one flag file", () => {
  let pg: TestPostgres;
  let dir: string;
  let flagsFile: string;
  let feed: Awaited<ReturnType<typeof startFeedProcess>>;
  let gw: GatewayProcess;
  let userIds: string[];
  let videoIds: string[];

  async function publish(text: string) {
    // As the kubelet does: the new file moved over the old, never half-written.
    await writeFile(`${flagsFile}.tmp`, text);
    await rename(`${flagsFile}.tmp`, flagsFile);
  }
  const flags = (change: Partial<FlagValues>) => renderFlagFile({ ...DEFAULT_FLAGS, ...change });

  before(async () => {
    pg = await startTestPostgres();
    const databaseUrl = pg.database("flags_e2e");
    ({ userIds } = await prepareDatabase(databaseUrl));
    dir = await mkdtemp(path.join(tmpdir(), "golive-flags-e2e-"));
    flagsFile = path.join(dir, "flags.json");
    await publish(flags({}));
    // TMPDIR: the services' copies of the flag file land in this test's
    // folder, removed below even though the processes end with SIGKILL.
    const flagEnv = {
      FLAGS_FILE: flagsFile,
      FLAGS_POLL_MS: String(POLL_MS),
      FAULT_INJECTION: "allowed",
      TMPDIR: dir,
    };
    const grpc = await freePort();
    feed = await startFeedProcess({ DATABASE_URL: databaseUrl, ...flagEnv }, { grpc, ops: await freePort() });
    gw = await startGatewayProcess(
      { FEED_ADDRESS: `ipv4:127.0.0.1:${grpc}`, ...flagEnv, LOG_LEVEL: "info" },
      { http: await freePort(), ops: await freePort() },
    );
    const page = (await (await fetch(`${gw.url}/v1/feed?userId=${userIds[0]}&limit=10`)).json()) as {
      videos: { id: string }[];
    };
    videoIds = page.videos.map((v) => v.id);
  });

  after(async () => {
    for (const p of [gw?.child, feed?.child]) p?.kill("SIGKILL");
    pg?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Steady traffic until stopped: likes and feed pages, each answer kept with when it was asked. */
  function traffic(workers: number) {
    const answers: Answer[] = [];
    let running = true;
    const worker = async (w: number) => {
      for (let i = 0; running; i++) {
        const route = i % 2 === 0 ? "like" : "feed";
        const user = userIds[(w + i) % userIds.length];
        const started = performance.now();
        const res =
          route === "like"
            ? await fetch(`${gw.url}/v1/videos/${videoIds[i % videoIds.length]}/likes`, {
                method: "POST",
                headers: { "content-type": "application/json" },
                body: JSON.stringify({ userId: user }),
              })
            : await fetch(`${gw.url}/v1/feed?userId=${user}&limit=5`);
        const body = (await res.json()) as { code?: string };
        answers.push({
          route,
          started,
          ms: performance.now() - started,
          status: res.status,
          code: body.code,
        });
        await sleep(5); // steady, not saturating: the suite runs this beside other lanes
      }
    };
    const done = Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
    return {
      answers,
      async stop() {
        running = false;
        await done;
      },
    };
  }

  async function until(what: string, since: number, probe: () => boolean): Promise<number> {
    for (;;) {
      if (probe()) return performance.now() - since;
      if (performance.now() - since > IN_FORCE_WITHIN_MS)
        throw new Error(`${what}: not within ${IN_FORCE_WITHIN_MS} ms`);
      await sleep(20);
    }
  }

  test("a flip is in force within the reload bound with no failed request; a bad file changes nothing", async () => {
    const load = traffic(3);
    const likesAfter = (t: number) => load.answers.filter((a) => a.route === "like" && a.started >= t);
    try {
      await sleep(500);

      // The likes kill switch off.
      const off = performance.now();
      await publish(flags({ "likes-writes": false }));
      const offMs = await until("likes switched off", off, () =>
        likesAfter(off).some((a) => a.code === "FEATURE_DISABLED"),
      );

      // A bad file (a key flagd does not know, beside a switch back on): refused by both, the switch stays off.
      const bad = performance.now();
      await publish(JSON.stringify({ flags: JSON.parse(flags({ "likes-writes": true })).flags, extra: 1 }));
      await until("bad file refused by both", bad, () =>
        [gw, feed].every((p) => p.output().includes("feature flag file refused")),
      );
      await sleep(2 * reloadBoundMs(POLL_MS));
      const duringBad = likesAfter(bad);
      assert.ok(duringBad.length > 0);
      assert.ok(
        duringBad.every((a) => a.status === 503 && a.code === "FEATURE_DISABLED"),
        "the last good flags (likes off) stayed in force",
      );

      // Back on, with added latency on GetFeed.
      const on = performance.now();
      await publish(flags({ "likes-writes": true, "getfeed-added-latency-ms": 150 }));
      const onMs = await until("likes back on and GetFeed slower", on, () => {
        const after = load.answers.filter((a) => a.started >= on);
        return (
          after.some((a) => a.route === "like" && a.status === 200) &&
          after.some((a) => a.route === "feed" && a.ms >= 150)
        );
      });
      await sleep(500);
      console.log(`# off in force after ${Math.round(offMs)} ms, on after ${Math.round(onMs)} ms`);
    } finally {
      await load.stop();
      await publish(flags({}));
    }

    // No failed request: every answer is the old behaviour or the new one.
    const unexpected = load.answers.filter(
      (a) => !(a.status === 200 || (a.route === "like" && a.status === 503 && a.code === "FEATURE_DISABLED")),
    );
    assert.deepEqual(unexpected, [], "only 200s, and 503 FEATURE_DISABLED for likes while off");
    // Each process holds one snapshot: in the order asked, likes go 200 -> 503 -> 200, once each way.
    const likes = load.answers.filter((a) => a.route === "like").sort((a, b) => a.started - b.started);
    const flips = likes.filter((a, i) => i > 0 && a.status !== (likes[i - 1] as Answer).status).length;
    assert.ok(flips <= 4, `likes flipped ${flips} times (at most twice each way across workers)`);
    const feedAnswers = load.answers.filter((a) => a.route === "feed");
    console.log(`# ${load.answers.length} answers: ${likes.length} likes, ${feedAnswers.length} feed pages`);
  });

  test("the messages switch: upgrades get 503 FEATURE_DISABLED, an open socket's sends an error frame", async () => {
    const open = new WebSocket(`${gw.url.replace("http", "ws")}/v1/messages?userId=${userIds[0]}`);
    await new Promise((resolve, reject) => open.once("open", resolve).once("error", reject));
    try {
      const since = performance.now();
      await publish(flags({ messages: false }));
      let refused: { status: number; code?: string } | undefined;
      await until("upgrades refused", since, () => {
        if (refused?.status === 503) return true;
        const ws = new WebSocket(`${gw.url.replace("http", "ws")}/v1/messages?userId=${userIds[1]}`);
        ws.on("unexpected-response", (_req, res) => {
          let text = "";
          res.on("data", (c: Buffer) => {
            text += c;
          });
          res.on("end", () => {
            refused = { status: res.statusCode ?? 0, code: (JSON.parse(text) as { code: string }).code };
          });
        });
        ws.on("open", () => ws.close());
        ws.on("error", () => {});
        return false;
      });
      assert.deepEqual(refused, { status: 503, code: "FEATURE_DISABLED" });

      const frame = new Promise<{ type: string; ref?: string; code?: string }>((resolve) =>
        open.on("message", (data) => {
          const f = JSON.parse(String(data));
          if (f.ref === "off-1") resolve(f);
        }),
      );
      open.send(JSON.stringify({ to: userIds[1], body: "while off", ref: "off-1" }));
      assert.deepEqual(await frame, {
        type: "error",
        ref: "off-1",
        code: "FEATURE_DISABLED",
        message: "messages are switched off (feature flag messages); retry later",
      });
    } finally {
      open.close();
      await publish(flags({}));
    }
  });

  test("a feed whose FAULT_INJECTION is refused will not start on a file with a fault on", async () => {
    const faultFile = path.join(dir, "fault.json");
    await writeFile(faultFile, flags({ "getfeed-error-share": 0.5 }));
    await assert.rejects(
      startFeedProcess(
        { DATABASE_URL: pg.database("flags_e2e"), FLAGS_FILE: faultFile, FAULT_INJECTION: "refused" },
        { grpc: await freePort(), ops: await freePort() },
      ),
      /flags\.getfeed-error-share: failure injection is refused here/,
    );
  });
});
