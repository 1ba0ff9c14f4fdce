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
import { context, propagation, trace } from "@opentelemetry/api";
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
 * A span that finds the queue full is dropped, silently. The SDK's defaults
 * (2,048 spans, an export every 5 s) dropped about a quarter of the sampled
 * traces of a gateway serving 2,000 req/s at a 10 % ratio on a busy machine
 * (test/tracing/tracing.e2e.test.ts counted 768 of 10,000). Exporting every
 * second in batches of up to 1,024 from a queue of 8,192 holds bursts of
 * several seconds; a span is about 1 KiB, so a full queue is about 8 MiB.
 */
const BATCHING = { maxQueueSize: 8192, maxExportBatchSize: 1024, scheduledDelayMillis: 1000 };

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
  if (options.contextManager) context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  registerInstrumentations({ tracerProvider: provider, instrumentations: instrumentations() });
  return { enabled: true, shutdown: () => provider.shutdown() };
}
