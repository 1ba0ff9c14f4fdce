// What every service's metrics share: one latency bucket layout (the alert
// thresholds, 50 ms among them, fall on bucket edges), a per-instance
// registry with the default process metrics (so tests can run several
// instances in one process), and exemplars: the latency histograms keep, per
// bucket, the trace id of a recent traced observation, so a Grafana panel
// links a slow bucket to its trace. Exemplars exist only in the OpenMetrics
// exposition, which Prometheus asks for by itself.
import { trace } from "@opentelemetry/api";
import {
  collectDefaultMetrics,
  type Histogram,
  type LabelValues,
  type OpenMetricsContentType,
  Registry,
} from "prom-client";

export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export type ServiceRegistry = Registry<OpenMetricsContentType>;

export function createServiceRegistry(): ServiceRegistry {
  const registry = new Registry<OpenMetricsContentType>();
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * Observes into a histogram made with `enableExemplars`, with the trace of
 * `span` (else the active one) as the bucket's exemplar when it is recorded.
 */
export function observeTraced<T extends string>(
  histogram: Histogram<T>,
  labels: LabelValues<T>,
  seconds: number,
  span = trace.getActiveSpan(),
): void {
  const traceId = span?.isRecording() ? span.spanContext().traceId : undefined;
  histogram.observe({
    labels,
    value: seconds,
    ...(traceId ? { exemplarLabels: { trace_id: traceId } as unknown as LabelValues<T> } : {}),
  });
}
