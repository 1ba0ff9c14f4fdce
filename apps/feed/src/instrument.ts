// Tracing for the feed, started before anything it instruments is required
// (the first import of main.ts). The gRPC server spans are made in rpc.ts and
// trace ids reach the log lines through the logger (@golive/tracing/spans
// says why by hand); the maintained pg instrumentation adds a span per SQL
// statement under a call's span.
import { startTracing } from "@golive/tracing/tracing";
import { PgInstrumentation } from "@opentelemetry/instrumentation-pg";

export const tracing = startTracing(
  "feed",
  () => [
    // Only under a call's span: pool health probes and the like worker stay out.
    new PgInstrumentation({ requireParentSpan: true }),
  ],
  // The pg instrumentation finds a statement's parent in the active context.
  { contextManager: true },
);
