// Tracing for the gateway, started before anything it instruments is
// required (the first import of main.ts): an HTTP server span per request
// (W3C trace context from the edge), gRPC client spans that carry it to the
// feed, and trace ids in the log lines. Probes and scrapes on the ops port
// are not traced.
import { startTracing } from "@golive/tracing/tracing";
import { GrpcInstrumentation } from "@opentelemetry/instrumentation-grpc";
import { HttpInstrumentation } from "@opentelemetry/instrumentation-http";
import { PinoInstrumentation } from "@opentelemetry/instrumentation-pino";

export const tracing = startTracing("gateway", () => [
  new HttpInstrumentation({
    // The ops server (its own port) answers only these.
    ignoreIncomingRequestHook: (req) => /^\/(metrics|health\/)/.test(req.url ?? ""),
    // The only outgoing HTTP is the span exporter's own.
    disableOutgoingRequestInstrumentation: true,
  }),
  new GrpcInstrumentation(),
  new PinoInstrumentation(),
]);
