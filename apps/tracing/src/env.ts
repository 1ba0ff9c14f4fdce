// The standard OpenTelemetry variables the services read: part of each
// service's config schema, apart from the SDK so that reading a config loads
// no tracing code.
import { z } from "zod";

/**
 * The share of new traces a service samples (a caller's decision is kept).
 * One schema for a service's OTEL_TRACES_SAMPLER_ARG and the stack's
 * golive:tracing.sampleRatio (infra/config.ts), and one default.
 */
export const sampleRatioSchema = z
  .number({ error: "must be a number from 0 to 1" })
  .min(0, "must be from 0 to 1")
  .max(1, "must be from 0 to 1");
/** Where neither the stack nor the environment says: one new trace in ten. */
export const DEFAULT_SAMPLE_RATIO = 0.1;

/** The standard OpenTelemetry variables each service reads (part of its config schema). */
export const tracingEnvSchema = z.object({
  OTEL_EXPORTER_OTLP_ENDPOINT: z
    .url({ error: "must be the collector's OTLP/HTTP base URL, e.g. http://otel-collector:4318" })
    .optional(),
  OTEL_TRACES_SAMPLER_ARG: z.coerce
    .number({ error: "must be a number from 0 to 1" })
    .pipe(sampleRatioSchema)
    .default(DEFAULT_SAMPLE_RATIO),
});
