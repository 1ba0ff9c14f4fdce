// The latency the WAF adds per request, side by side with it off (issue 30):
// the drill's request mix (a feed page, a video, a like with its JSON body)
// through the harness as Envoy's ext_authz filter asking the WAF service
// (apps/waf-authz) at prod's settings, and through the same harness with the
// WAF off (a plain proxy: the edge without it), in alternating blocks, one
// request at a time, against a real gateway, feed and Postgres on loopback.
// Prints p50/p95/p99 per mode and request kind, and the differences.
//   bash scripts/run-ts.sh scripts/bench/waf-latency.ts [--requests 3000] [--block 100]
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { prepareDatabase } from "@golive/devkit/gateway-process";
import { startTestPostgres } from "@golive/devkit/postgres";
import { type Harness, startAuthz, startHarness } from "@golive/devkit/waf-processes";
import { wafAuthzDirectives } from "../../infra/components/ingress";
import { stackConfigSchema } from "../../infra/config";
import { rawStackConfig } from "../../infra/stack-files";
import { startLocalApp } from "../../loadtest/local/drill";
import type { ManagedProcess } from "../../loadtest/local/processes";

type Kind = "feed" | "video" | "like";
const KINDS: Kind[] = ["feed", "video", "like"];
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function request(
  port: number,
  kind: Kind,
  ids: { users: string[]; videos: string[] },
  i: number,
): Promise<number> {
  const user = ids.users[i % ids.users.length] as string;
  const video = ids.videos[i % ids.videos.length] as string;
  const body = kind === "like" ? JSON.stringify({ userId: user }) : undefined;
  const pathOf = {
    feed: `/v1/feed?userId=${user}&limit=20`,
    video: `/v1/videos/${video}`,
    like: `/v1/videos/${video}/likes`,
  };
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        agent,
        method: body ? "POST" : "GET",
        path: pathOf[kind],
        headers: {
          Host: "app.golive.example",
          "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0",
          Accept: "application/json",
          ...(body ? { "Content-Type": "application/json" } : {}),
        },
      },
      (res) => {
        res.resume();
        res.on("end", () => {
          if (res.statusCode !== 200) reject(new Error(`${kind}: HTTP ${res.statusCode}`));
          else resolve(performance.now() - started);
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { requests: { type: "string", default: "3000" }, block: { type: "string", default: "100" } },
  });
  const perMode = Math.max(30, Number(values.requests) || 3000);
  const block = Math.max(3, Number(values.block) || 100);
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "golive-waf-latency-"));
  const db = await startTestPostgres();
  const processes: ManagedProcess[] = [];
  const harnesses: Harness[] = [];
  let authz: Awaited<ReturnType<typeof startAuthz>> | undefined;
  try {
    const databaseUrl = db.database("waf_latency");
    const { userIds } = await prepareDatabase(databaseUrl);
    const app = await startLocalApp({ databaseUrl, feeds: 1, workDir });
    processes.push(...app.processes);
    const page = (await (await fetch(`${app.gatewayUrl}/v1/feed?userId=${userIds[0]}&limit=50`)).json()) as {
      videos: { id: string }[];
    };
    const ids = { users: userIds, videos: page.videos.map((v) => v.id) };
    const waf = stackConfigSchema.shape.waf.parse((rawStackConfig("prod") as { waf: unknown }).waf);
    authz = await startAuthz(wafAuthzDirectives(waf), workDir);
    const modes = {
      off: await startHarness({ authz: "off" }, app.gatewayUrl, workDir),
      on: await startHarness({ authz: authz.grpc }, app.gatewayUrl, workDir),
    };
    harnesses.push(modes.off, modes.on);
    const samples: Record<"off" | "on", Record<Kind, number[]>> = {
      off: { feed: [], video: [], like: [] },
      on: { feed: [], video: [], like: [] },
    };
    // Warm-up, not counted: connections, JIT, the page cache.
    for (let i = 0; i < 150; i++)
      for (const h of [modes.off, modes.on]) await request(h.port, KINDS[i % 3] as Kind, ids, i);
    for (let done = 0, b = 0; done < perMode; b++) {
      for (const mode of b % 2 === 0 ? (["off", "on"] as const) : (["on", "off"] as const)) {
        for (let i = done; i < Math.min(perMode, done + block); i++) {
          const kind = KINDS[i % 3] as Kind;
          samples[mode][kind].push(await request(modes[mode].port, kind, ids, i));
        }
      }
      done = Math.min(perMode, done + block);
    }
    const blocked = modes.on.outcomes.filter((o) => o.blocked).length;
    console.log(
      `WAF latency, ${perMode} requests per mode (blocks of ${block}, alternating), prod's settings; ${blocked} blocked`,
    );
    console.log("kind      off p50   on p50   +p50 ms   off p95   on p95   +p95 ms   off p99   on p99");
    const all = { off: [] as number[], on: [] as number[] };
    const row = (name: string, off: number[], on: number[]) => {
      const [a, b] = [[...off].sort((x, y) => x - y), [...on].sort((x, y) => x - y)];
      const f = (n: number) => n.toFixed(2).padStart(8);
      console.log(
        `${name.padEnd(8)} ${f(quantile(a, 0.5))} ${f(quantile(b, 0.5))} ${f(quantile(b, 0.5) - quantile(a, 0.5))}  ${f(quantile(a, 0.95))} ${f(quantile(b, 0.95))} ${f(quantile(b, 0.95) - quantile(a, 0.95))}  ${f(quantile(a, 0.99))} ${f(quantile(b, 0.99))}`,
      );
    };
    for (const kind of KINDS) {
      row(kind, samples.off[kind], samples.on[kind]);
      all.off.push(...samples.off[kind]);
      all.on.push(...samples.on[kind]);
    }
    row("all", all.off, all.on);
    const metrics = await (await fetch(`http://${authz.ops}/metrics`)).text();
    const sum = Number(/golive_waf_check_duration_seconds_sum ([\d.e+-]+)/.exec(metrics)?.[1]);
    const count = Number(/golive_waf_check_duration_seconds_count (\d+)/.exec(metrics)?.[1]);
    console.log(
      `the service's own judging time: ${((1000 * sum) / count).toFixed(3)} ms per Check (mean of ${count})`,
    );
  } finally {
    for (const h of harnesses) await h.stop();
    await authz?.stop();
    for (const p of [...processes].reverse()) await p.kill().catch(() => {});
    db.destroy();
    agent.destroy();
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
