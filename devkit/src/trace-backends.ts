// The tracing pipeline of the stack as real processes on loopback: Jaeger v2
// (memory storage, OTLP in, query API out) and the OpenTelemetry Collector
// built from tools/otelcol (OTLP in, tail sampling, out to Jaeger and to a
// JSON-lines file the tests count). Both come from `npm run setup`.
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort } from "./postgres";
import { REPO_ROOT } from "./service-process";

const BIN = path.join(REPO_ROOT, ".tools", "bin");

export interface Backend {
  stop(): Promise<void>;
  output(): string;
}

async function run(
  binary: string,
  config: string,
  ready: () => Promise<boolean>,
  dir: string,
): Promise<Backend> {
  const file = path.join(dir, `${path.basename(binary)}.yaml`);
  fs.writeFileSync(file, config);
  const child: ChildProcess = spawn(path.join(BIN, binary), [`--config=file:${file}`], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (c) => {
    out += c;
  });
  child.stderr?.on("data", (c) => {
    out += c;
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const deadline = Date.now() + 30_000;
  while (!(await ready())) {
    if (child.exitCode !== null) throw new Error(`${binary} exited: ${out.slice(-3000)}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`${binary} not ready after 30 s: ${out.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    output: () => out,
    /** Stops the process and removes its folder (config, output files). */
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Both programs are collectors: their own metrics, on loopback (the service section's tail). */
const selfMetrics = (port: number | undefined) => `  telemetry:
    metrics:
      readers:
        - pull:
            exporter:
              prometheus: { host: 127.0.0.1, port: ${port} }
`;

const answers = (url: string) => () =>
  fetch(url, { signal: AbortSignal.timeout(1000) }).then(
    (r) => r.ok,
    () => false,
  );

export interface Jaeger extends Backend {
  /** OTLP/gRPC, for the collector's exporter. */
  otlpGrpc: string;
  /** The trace as the query API returns it (Jaeger's JSON model), or undefined. */
  trace(traceId: string): Promise<JaegerTrace | undefined>;
}

export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: { refType: string; spanID: string }[];
  processID: string;
  tags: { key: string; value: unknown }[];
}
export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

export async function startJaeger(): Promise<Jaeger> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "golive-jaeger-"));
  const [grpc, http, query, queryGrpc, metrics] = await Promise.all(
    Array.from({ length: 5 }, () => freePort()),
  );
  const config = `
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [jaeger_storage_exporter]
${selfMetrics(metrics)}extensions:
  jaeger_storage:
    backends:
      memstore:
        memory: { max_traces: 100000 }
  jaeger_query:
    storage: { traces: memstore }
    http: { endpoint: "127.0.0.1:${query}" }
    grpc: { endpoint: "127.0.0.1:${queryGrpc}" }
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:${grpc}" }
      http: { endpoint: "127.0.0.1:${http}" }
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`;
  const backend = await run("jaeger", config, answers(`http://127.0.0.1:${query}/api/services`), dir);
  return {
    ...backend,
    otlpGrpc: `127.0.0.1:${grpc}`,
    async trace(traceId: string) {
      const res = await fetch(`http://127.0.0.1:${query}/api/traces/${traceId}`);
      if (!res.ok) return undefined;
      const body = (await res.json()) as { data?: JaegerTrace[] };
      return body.data?.[0];
    },
  };
}

export interface Collector extends Backend {
  /** The OTLP/HTTP base URL the services export to (OTEL_EXPORTER_OTLP_ENDPOINT). */
  endpoint: string;
  /** The collector's own metrics (Prometheus text). */
  metricsUrl: string;
  /** Trace ids the tail sampler kept (from the file exporter): any error span, and which services. */
  keptTraces(): Map<string, { error: boolean; services: Set<string> }>;
}

export interface CollectorOptions {
  /** Where kept traces go besides the file: Jaeger's OTLP/gRPC address. */
  jaeger?: string;
  /** The tail sampler: errors and slow traces are always kept, this share of the rest. */
  keepPercent: number;
  slowMs: number;
  /** How long the tail sampler waits for a trace's spans before it decides. */
  decisionWaitMs?: number;
  /** Retry failed exports to Jaeger (the default, as in the stack); off to see failures at once. */
  retry?: boolean;
}

export async function startCollector(opts: CollectorOptions): Promise<Collector> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "golive-otelcol-"));
  const [http, metrics] = await Promise.all(Array.from({ length: 2 }, () => freePort()));
  const out = path.join(dir, "kept.jsonl");
  const exporters = ["file", ...(opts.jaeger ? ["otlp_grpc"] : [])];
  const config = `
receivers:
  otlp:
    protocols:
      http: { endpoint: "127.0.0.1:${http}" }
processors:
  tail_sampling:
    decision_wait: ${opts.decisionWaitMs ?? 1000}ms
    policies:
      - { name: errors, type: status_code, status_code: { status_codes: [ERROR] } }
      - { name: slow, type: latency, latency: { threshold_ms: ${opts.slowMs} } }
      - { name: share, type: probabilistic, probabilistic: { sampling_percentage: ${opts.keepPercent} } }
  batch: { timeout: 200ms }
exporters:
  file: { path: "${out}", flush_interval: 100ms }
${opts.jaeger ? `  otlp_grpc: { endpoint: "${opts.jaeger}", tls: { insecure: true }, retry_on_failure: { enabled: ${opts.retry ?? true} } }` : ""}
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [tail_sampling, batch]
      exporters: [${exporters.join(", ")}]
${selfMetrics(metrics)}`;
  const backend = await run("otelcol", config, answers(`http://127.0.0.1:${metrics}/metrics`), dir);
  return {
    ...backend,
    endpoint: `http://127.0.0.1:${http}`,
    metricsUrl: `http://127.0.0.1:${metrics}/metrics`,
    keptTraces() {
      const kept = new Map<string, { error: boolean; services: Set<string> }>();
      if (!fs.existsSync(out)) return kept;
      for (const line of fs.readFileSync(out, "utf8").split("\n")) {
        if (!line.trim()) continue;
        const batch = JSON.parse(line) as {
          resourceSpans: {
            resource?: { attributes?: { key: string; value: { stringValue?: string } }[] };
            scopeSpans: { spans: { traceId: string; status?: { code?: number } }[] }[];
          }[];
        };
        for (const rs of batch.resourceSpans) {
          const service = rs.resource?.attributes?.find((a) => a.key === "service.name")?.value.stringValue;
          for (const ss of rs.scopeSpans)
            for (const span of ss.spans) {
              const seen = kept.get(span.traceId) ?? { error: false, services: new Set<string>() };
              if (span.status?.code === 2) seen.error = true;
              if (service) seen.services.add(service);
              kept.set(span.traceId, seen);
            }
        }
      }
      return kept;
    },
  };
}

export interface MetricsCollector extends Backend {
  /** The OTLP/HTTP base URL (OTEL_EXPORTER_OTLP_ENDPOINT). */
  endpoint: string;
  /** Every gauge data point received: metric name, attributes, value. */
  gauges(): { name: string; attributes: Record<string, string>; value: number }[];
}

/**
 * The collector's metrics pipeline: OTLP in, to a JSON-lines file and, given
 * a Prometheus remote-write URL, there too (as the stack's collector does).
 */
export async function startMetricsCollector(
  opts: { remoteWriteUrl?: string } = {},
): Promise<MetricsCollector> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "golive-otelcol-metrics-"));
  const [http, metrics] = await Promise.all(Array.from({ length: 2 }, () => freePort()));
  const out = path.join(dir, "metrics.jsonl");
  const config = `
receivers:
  otlp:
    protocols:
      http: { endpoint: "127.0.0.1:${http}" }
exporters:
  file: { path: "${out}", flush_interval: 100ms }
${opts.remoteWriteUrl ? `  prometheusremotewrite: { endpoint: "${opts.remoteWriteUrl}" }` : ""}
service:
  pipelines:
    metrics:
      receivers: [otlp]
      exporters: [file${opts.remoteWriteUrl ? ", prometheusremotewrite" : ""}]
${selfMetrics(metrics)}`;
  const backend = await run("otelcol", config, answers(`http://127.0.0.1:${metrics}/metrics`), dir);
  type Attribute = { key: string; value: { stringValue?: string } };
  type Point = { attributes?: Attribute[]; asDouble?: number; asInt?: string };
  return {
    ...backend,
    endpoint: `http://127.0.0.1:${http}`,
    gauges() {
      if (!fs.existsSync(out)) return [];
      const points: { name: string; attributes: Record<string, string>; value: number }[] = [];
      // The last segment may be a line the collector is still writing.
      for (const line of fs.readFileSync(out, "utf8").split("\n").slice(0, -1)) {
        if (!line.trim()) continue;
        const batch = JSON.parse(line) as {
          resourceMetrics: {
            scopeMetrics: { metrics: { name: string; gauge?: { dataPoints: Point[] } }[] }[];
          }[];
        };
        for (const rm of batch.resourceMetrics)
          for (const sm of rm.scopeMetrics)
            for (const metric of sm.metrics)
              for (const point of metric.gauge?.dataPoints ?? [])
                points.push({
                  name: metric.name,
                  attributes: Object.fromEntries(
                    (point.attributes ?? []).map((a) => [a.key, a.value.stringValue ?? ""]),
                  ),
                  value: point.asDouble ?? Number(point.asInt ?? Number.NaN),
                });
      }
      return points;
    },
  };
}
