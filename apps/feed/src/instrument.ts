// Tracing for the feed, started before anything it instruments is required
// (the first import of main.ts): gRPC server spans with the caller's trace
// context, a span per SQL statement, and trace ids in the log lines.
import { startTracing } from "@golive/tracing/tracing";
import { GrpcInstrumentation } from "@opentelemetry/instrumentation-grpc";
import { PgInstrumentation } from "@opentelemetry/instrumentation-pg";
import { PinoInstrumentation } from "@opentelemetry/instrumentation-pino";

export const tracing = startTracing("feed", () => [
  new GrpcInstrumentation(),
  new PgInstrumentation({ enhancedDatabaseReporting: false }),
  new PinoInstrumentation(),
]);
