// Post-deploy smoke (no load, no chaos): a few requests through the public
// URL that must all pass, one line per check and the exit code as verdict.
//   npm run smoke -- --url https://golive.example.com [--user <uuid>] [--timeout-ms 5000]
// Rollback criteria (deploy.yml): any failed check rolls prod back to the
// images it ran before. A user that does not exist is fine: the WebSocket
// check then passes on the feed's answer (close 4404), which proves the same path.
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { WebSocket } from "ws";

export interface CheckResult {
  name: string;
  ok: boolean;
  ms: number;
  reason: string;
}

async function timed(name: string, check: () => Promise<string>): Promise<CheckResult> {
  const started = performance.now();
  try {
    const reason = await check();
    return { name, ok: true, ms: performance.now() - started, reason };
  } catch (err) {
    return { name, ok: false, ms: performance.now() - started, reason: (err as Error).message };
  }
}

export async function runSmoke(opts: {
  url: string;
  userId: string;
  timeoutMs: number;
}): Promise<CheckResult[]> {
  const base = opts.url.replace(/\/$/, "");
  const feed = timed("GET /v1/feed", async () => {
    const res = await fetch(`${base}/v1/feed?userId=${opts.userId}&limit=1`, {
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
    const body = (await res.json().catch(() => ({}))) as { videos?: unknown; stale?: boolean };
    if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
    if (!Array.isArray(body.videos)) throw new Error("no videos array in the answer");
    if (body.stale) throw new Error("served stale: the feed is not answering");
    return `200, ${body.videos.length} video(s)`;
  });
  const socket = timed("WebSocket /v1/messages", () => {
    const ws = new WebSocket(`${base.replace(/^http/, "ws")}/v1/messages?userId=${opts.userId}`);
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`no subscribed frame within ${opts.timeoutMs} ms`));
      }, opts.timeoutMs);
      const done = (settle: () => void) => {
        clearTimeout(timer);
        ws.close();
        settle();
      };
      ws.on("message", (data) => {
        if ((JSON.parse(String(data)) as { type?: string }).type === "subscribed")
          done(() => resolve("subscribed"));
      });
      ws.on("close", (code) => {
        if (code === 4404) done(() => resolve("the feed answered: unknown user (4404)"));
        else done(() => reject(new Error(`closed with ${code} before it was subscribed`)));
      });
      ws.on("error", (err) => done(() => reject(err)));
    });
  });
  return Promise.all([feed, socket]);
}

export function formatResults(results: CheckResult[]): string {
  return results
    .map(
      (r) =>
        `${r.ok ? "ok    " : "FAILED"}  ${r.name.padEnd(24)} ${r.ms.toFixed(0).padStart(6)} ms  ${r.reason}`,
    )
    .join("\n");
}

if (require.main === module) {
  const { values } = parseArgs({
    options: {
      url: { type: "string" },
      user: { type: "string" },
      "timeout-ms": { type: "string", default: "5000" },
    },
  });
  if (!values.url || !/^https?:\/\//.test(values.url)) {
    process.stderr.write("smoke: --url http(s)://host is required\n");
    process.exit(2);
  }
  runSmoke({
    url: values.url,
    userId: values.user ?? randomUUID(),
    timeoutMs: Number(values["timeout-ms"]),
  }).then((results) => {
    process.stdout.write(`${formatResults(results)}\n`);
    const passed = results.every((r) => r.ok);
    process.stdout.write(`smoke: ${passed ? "PASS" : "FAIL"}\n`);
    process.exit(passed ? 0 : 1);
  });
}
