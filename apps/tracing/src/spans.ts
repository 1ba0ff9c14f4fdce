// Spans for the two hot edges, HTTP in and gRPC in and out, made by hand.
// The maintained http and grpc-js instrumentations each cost about a quarter
// of the gateway's throughput at a 1 % sampling ratio here (`npm run
// bench:tracing` with one of them on): they build every span's attributes
// before the sampler decides. These set attributes only on spans that
// record, so an unsampled request pays for one header parse and one context.
// Names and attributes follow the OpenTelemetry conventions the
// instrumentations use (`GET /v1/feed`, `grpc.feed.v1.FeedService/GetFeed`,
// rpc.* and http.* attributes), and the trace context travels as W3C
// `traceparent` in HTTP headers and gRPC metadata alike.
import {
  type Attributes,
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type TextMapSetter,
  trace,
} from "@opentelemetry/api";

const tracer = () => trace.getTracer("golive");

/** HTTP headers as node parses them. */
export const headerGetter: TextMapGetter<Record<string, string | string[] | undefined>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

/** grpc-js Metadata, structurally (this package does not depend on grpc-js). */
interface MetadataLike {
  get(key: string): unknown[];
  set(key: string, value: string): void;
  getMap(): Record<string, unknown>;
}
export const metadataGetter: TextMapGetter<MetadataLike> = {
  keys: (carrier) => Object.keys(carrier.getMap()),
  get: (carrier, key) => {
    const value = carrier.get(key)[0];
    return typeof value === "string" ? value : undefined;
  },
};
const metadataSetter: TextMapSetter<MetadataLike> = { set: (carrier, key, value) => carrier.set(key, value) };

export interface Started {
  span: Span;
  /** The context to run the work in, so its children (SQL, outgoing calls) nest under the span. */
  ctx: Context;
}

/** A server span continuing the caller's trace context (or starting a trace). */
export function startServerSpan<C>(
  name: string,
  carrier: C,
  getter: TextMapGetter<C>,
  attributes: () => Attributes,
): Started {
  const parent = propagation.extract(ROOT_CONTEXT, carrier, getter);
  const span = tracer().startSpan(name, { kind: SpanKind.SERVER }, parent);
  if (span.isRecording()) span.setAttributes(attributes());
  return { span, ctx: trace.setSpan(parent, span) };
}

/**
 * A client span under `parent` (by default the active context), and the
 * trace context written into the outgoing gRPC metadata. Unsampled, no span
 * is made: the caller's context (with its not-sampled flag) travels on, so
 * the server agrees.
 */
export function startClientCall(
  name: string,
  metadata: MetadataLike,
  attributes: () => Attributes,
  parent: Context = context.active(),
): Span | undefined {
  const recording = trace.getSpan(parent)?.isRecording() === true;
  const span = recording
    ? tracer().startSpan(name, { kind: SpanKind.CLIENT, attributes: attributes() }, parent)
    : undefined;
  propagation.inject(span ? trace.setSpan(parent, span) : parent, metadata, metadataSetter);
  return span;
}

/** Ends a span; `error` (a status name or message) marks it failed. */
export function endSpan(span: Span | undefined, attributes: Attributes, error?: string): void {
  if (!span) return;
  if (span.isRecording()) {
    span.setAttributes(attributes);
    if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
  }
  span.end();
}
