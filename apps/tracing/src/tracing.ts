// OpenTelemetry tracing for one service: W3C trace context in and out (HTTP
// headers, gRPC metadata), spans batched to the collector over OTLP/HTTP, and
// parent-based ratio sampling (a caller's decision is kept; a new trace is
// sampled with probability OTEL_TRACES_SAMPLER_ARG). Off, with nothing
// registered and the API's no-op tracer in place, unless
// OTEL_EXPORTER_OTLP_ENDPOINT is set.
//
// The instrumentations patch modules as they are first required, so this
// runs before anything imports http, grpc-js, pg or pino: each service's
// instrument.ts calls it and is the first import of its main.ts.
import { context, type DiagLogger, DiagLogLevel, diag, propagation, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { type Instrumentation, registerInstrumentations } from "@opentelemetry/instrumentation";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { tracingEnvSchema } from "./env";

export interface Tracing {
  readonly enabled: boolean;
  /** Exports what is still batched; part of the service's shutdown steps. */
  shutdown(): Promise<void>;
}

const OFF: Tracing = { enabled: false, shutdown: async () => {} };

/**
 * Spans wait in a queue between exports; a span that finds it full is
 * dropped (the diag logger below says so), and what is still queued at
 * exit must be sent within the shutdown grace period. The SDK's defaults
 * (2,048 spans, an export every 5 s) let a gateway at 2,000 req/s and a
 * 10 % ratio queue about 2,000 spans between exports. Every second, in
 * batches of up to 1,024 from a queue of 8,192: a few hundred spans wait,
 * and a burst of several seconds still fits (a span is about 1 KiB, so a
 * full queue is about 8 MiB). Made after one CI run of the head-sampling
 * test counted 768 of 10,000 traces; not reproduced here (1,058 with two
 * cores busy), so which of the two lost them is not known.
 */
const BATCHING = { maxQueueSize: 8192, maxExportBatchSize: 1024, scheduledDelayMillis: 1000 };

/** A diag logger writing one JSON line per message, like the services' own logs. */
function diagLines(service: string): DiagLogger {
  const line =
    (level: string) =>
    (message: string, ...args: unknown[]) => {
      const detail =
        args.length > 0 ? ` ${args.map((a) => (a instanceof Error ? a.message : String(a))).join(" ")}` : "";
      process.stderr.write(
        `${JSON.stringify({ level, time: new Date().toISOString(), service, msg: `opentelemetry: ${message}${detail}` })}\n`,
      );
    };
  return {
    error: line("error"),
    warn: line("warn"),
    info: line("info"),
    debug: line("debug"),
    verbose: line("debug"),
  };
}

export interface TracingOptions {
  /**
   * A global context manager, so that `context.active()` follows the
   * asynchronous work a span started (what instrumentations such as pg's
   * need). Without one, every span's parent is passed by hand.
   */
  contextManager: boolean;
}

export function startTracing(
  service: string,
  instrumentations: () => Instrumentation[],
  options: TracingOptions,
  env: NodeJS.ProcessEnv = process.env,
): Tracing {
  // A bad value is reported by the service's own config parse (exit 2).
  const parsed = tracingEnvSchema.safeParse(env);
  if (!parsed.success || !parsed.data.OTEL_EXPORTER_OTLP_ENDPOINT) return OFF;
  const { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_TRACES_SAMPLER_ARG: ratio } = parsed.data;

  const provider = new TracerProvider({
    resource: resourceFromAttributes({ "service.name": service }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) }),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url: `${endpoint.replace(/\/$/, "")}/v1/traces` }),
        ...BATCHING,
      }),
    ],
  });
  // The SDK's own warnings (dropped spans, failed exports) as JSON lines on stderr.
  diag.setLogger(diagLines(service), DiagLogLevel.WARN);
  if (options.contextManager) context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  registerInstrumentations({ tracerProvider: provider, instrumentations: instrumentations() });
  return { enabled: true, shutdown: () => provider.shutdown() };
}
