// Turns k6's JSON output (one metric point per line) into the drill's table:
// per flow requests, error rate, p95 and p99; and what clients saw during the
// chaos window.
import fs from "node:fs";
import readline from "node:readline";

export const FLOWS = ["feed_http", "feed_grpc", "like", "messages"] as const;
export type Flow = (typeof FLOWS)[number];

const LATENCY_METRIC: Record<Flow, string> = {
  feed_http: "http_req_duration",
  feed_grpc: "grpc_req_duration",
  like: "http_req_duration",
  messages: "message_delivery_ms",
};

export interface FlowRow {
  flow: Flow;
  requests: number;
  errorRate: number;
  p95: number;
  p99: number;
}

export interface ChaosWindow {
  fromMs: number;
  toMs: number;
}

export interface DrillReport {
  flows: FlowRow[];
  chaos?: { requests: number; errors: number; errorRate: number; windowMs: number };
}

interface Point {
  type: string;
  metric: string;
  data: { time: string; value: number; tags?: Record<string, string> };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] as number;
}

const toMs = (time: string) => Date.parse(time.replace(/(\.\d{3})\d+/, "$1"));

export async function readK6Points(file: string, chaos?: ChaosWindow): Promise<DrillReport> {
  const outcomes = new Map<Flow, number[]>();
  const latencies = new Map<Flow, number[]>();
  let chaosRequests = 0;
  let chaosErrors = 0;
  const lines = readline.createInterface({
    input: fs.createReadStream(file),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  for await (const line of lines) {
    if (!line.includes('"type":"Point"')) continue;
    const point = JSON.parse(line) as Point;
    const flow = point.data.tags?.flow as Flow | undefined;
    if (!flow || !FLOWS.includes(flow)) continue;
    if (point.metric === "flow_errors") {
      const list = outcomes.get(flow) ?? [];
      list.push(point.data.value);
      outcomes.set(flow, list);
      if (chaos) {
        const at = toMs(point.data.time);
        if (at >= chaos.fromMs && at <= chaos.toMs) {
          chaosRequests++;
          chaosErrors += point.data.value;
        }
      }
    } else if (point.metric === LATENCY_METRIC[flow]) {
      const list = latencies.get(flow) ?? [];
      list.push(point.data.value);
      latencies.set(flow, list);
    }
  }
  const flows = FLOWS.map((flow) => {
    const results = outcomes.get(flow) ?? [];
    const sorted = (latencies.get(flow) ?? []).sort((a, b) => a - b);
    const errors = results.reduce((sum, v) => sum + v, 0);
    return {
      flow,
      requests: results.length,
      errorRate: results.length ? errors / results.length : 0,
      p95: percentile(sorted, 95),
      p99: percentile(sorted, 99),
    };
  });
  return {
    flows,
    chaos: chaos && {
      requests: chaosRequests,
      errors: chaosErrors,
      errorRate: chaosRequests ? chaosErrors / chaosRequests : 0,
      windowMs: chaos.toMs - chaos.fromMs,
    },
  };
}

export function formatTable(report: DrillReport, recoveryMs?: number): string {
  const ms = (v: number) => (Number.isNaN(v) ? "-" : `${v.toFixed(1)} ms`);
  const rows = [
    ["flow", "requests", "error rate", "p95", "p99"],
    ...report.flows.map((r) => [
      r.flow,
      String(r.requests),
      `${(r.errorRate * 100).toFixed(2)} %`,
      ms(r.p95),
      ms(r.p99),
    ]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? "").length))) ?? [];
  const text = rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join("  ")).join("\n");
  if (!report.chaos) return text;
  const c = report.chaos;
  return `${text}\nchaos: ${c.errors} of ${c.requests} requests failed during the ${(c.windowMs / 1000).toFixed(1)} s outage window (${(c.errorRate * 100).toFixed(2)} %)${recoveryMs === undefined ? "" : `; replicas ready again after ${(recoveryMs / 1000).toFixed(1)} s`}`;
}
