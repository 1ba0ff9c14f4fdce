// The in-cluster drill as the real-pods lane drives it: the trigger script
// that users and the deploy workflow's staging gate run
// (scripts/trigger-loadtest.sh), its time-stamped log read back into
// failures per flow and per window (the chaos step's, each rollout's).
import { spawn } from "node:child_process";
import path from "node:path";
import { REPO_ROOT } from "../../stack-files";

export const TRIGGER = path.join(REPO_ROOT, "scripts", "trigger-loadtest.sh");

/** One line of `kubectl logs --prefix --timestamps`: which container, when, what. */
export interface LogLine {
  container: string;
  at: number;
  text: string;
}

const LOG_LINE = /^\[pod\/[^/\]]+\/([\w-]+)\] (\d{4}-\d\d-\d\dT[\d:.]+Z) (.*)$/;

export function parseLogLine(line: string): LogLine | undefined {
  const m = LOG_LINE.exec(line);
  if (!m) return undefined;
  return { container: m[1] as string, at: Date.parse(m[2] as string), text: m[3] as string };
}

export interface TriggerRun {
  code: number | null;
  output: string;
  lines: LogLine[];
}

/**
 * Runs the trigger for a stack with the kubectl of .tools/bin and the given
 * kubeconfig, calling `onLine` for each log line as it arrives.
 */
export function runTrigger(opts: {
  stack: string;
  kubeconfig: string;
  timeoutSeconds: number;
  onLine?: (line: LogLine) => void;
}): Promise<TriggerRun> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [TRIGGER, opts.stack, String(opts.timeoutSeconds)], {
      env: {
        ...process.env,
        PATH: `${path.join(REPO_ROOT, ".tools", "bin")}:${process.env.PATH}`,
        KUBECONFIG: opts.kubeconfig,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    let pending = "";
    const lines: LogLine[] = [];
    const onData = (b: Buffer) => {
      output += b.toString();
      pending += b.toString();
      const parts = pending.split("\n");
      pending = parts.pop() ?? "";
      for (const raw of parts) {
        const line = parseLogLine(raw);
        if (!line) continue;
        lines.push(line);
        opts.onLine?.(line);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output, lines }));
  });
}

/** What drill.js logs for each failed request of a flow (reportFailure). */
const FAILURE = /drill: (feed|grpc feed|like|message) failed \(/;
/** A request fails at most this long after it started (the drill's longest client timeout). */
export const CLIENT_TIMEOUT_MS = 3000;

export interface Window {
  label: string;
  fromMs: number;
  toMs: number;
}

/** Failed requests per flow whose failure was logged inside the window (plus the client timeout). */
export function failuresIn(lines: LogLine[], w: Window): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of lines) {
    if (l.container !== "k6" || l.at < w.fromMs || l.at > w.toMs + CLIENT_TIMEOUT_MS) continue;
    const flow = FAILURE.exec(l.text)?.[1];
    if (flow) out[flow] = (out[flow] ?? 0) + 1;
  }
  return out;
}

/** The chaos step's window: from its delete to the recovery it reported. */
export function chaosWindow(lines: LogLine[]): Window | undefined {
  const chaos = lines.filter((l) => l.container === "chaos");
  const from = chaos.find((l) => l.text.startsWith("chaos: deleting pod"))?.at;
  const to = chaos.find((l) => l.text.startsWith("chaos: recovered"))?.at;
  return from && to
    ? { label: "chaos (pod deleted until all replicas ready)", fromMs: from, toMs: to }
    : undefined;
}

export interface FlowRow {
  requests: number;
  failed: number;
  /** ms; undefined when the flow had no sample */
  p95?: number;
}

/** The k6 summary's per-flow table (requests, failed, p95), lost messages and verdict. */
export function summaryFlows(lines: LogLine[]): {
  flows: Record<string, FlowRow>;
  lostMessages?: number;
  verdict?: string;
} {
  const flows: Record<string, FlowRow> = {};
  let lostMessages: number | undefined;
  let verdict: string | undefined;
  for (const { container, text } of lines) {
    if (container !== "k6") continue;
    const row = /^\s+(feed_http|feed_grpc|like|messages)\s+(\d+)\s+(\d+)\s+([\d.]+|-)\s*$/.exec(text);
    if (row) {
      const p95 = row[4] === "-" ? undefined : Number(row[4]);
      flows[row[1] as string] = { requests: Number(row[2]), failed: Number(row[3]), p95 };
    }
    const lost = /^messages: \d+ delivered, (\d+) lost/.exec(text)?.[1];
    if (lost !== undefined) lostMessages = Number(lost);
    verdict = /^verdict: (PASS|FAIL)/.exec(text)?.[1] ?? verdict;
  }
  return { flows, lostMessages, verdict };
}
