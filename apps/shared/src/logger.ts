// JSON logs to stdout, masked by the table in masking-table.ts: secrets are
// redacted by field name wherever they appear in a log object, so a
// careless `log.info({ req })` leaks nothing; tokens keep their last 4
// characters; personal data is masked partially, by field name and wherever
// it appears in a string (j***@example.com, ***1234 for phones, ****1234 for
// cards). All in one walk of our own rather than pino's `redact`, which clones and serialises
// the object per path pattern: a sixth of the gateway's CPU per request
// (npm run bench, issue 27).
import { type Span, trace } from "@opentelemetry/api";
import pino from "pino";
import { maskFor } from "./masking-table";
import { applyMask, maskText } from "./pii";

/** The trace fields (traceFieldsOf): ids this process made (hex runs the card check would scan). */
const TRACE_KEYS = new Set(["trace_id", "span_id", "trace_flags"]);

export type Logger = pino.Logger;

/** Deeper than this, an object is not walked but replaced: what is not walked is not masked. */
const MAX_DEPTH = 8;

/**
 * One walk per log object: a field in the masking table masked by its row,
 * every other string scanned (maskText). An object is copied only when
 * something in it changes, so the usual line (ids, routes, numbers) costs
 * no allocation.
 */
function scrub(value: unknown, key: string | undefined, depth: number): unknown {
  if (key !== undefined) {
    if (TRACE_KEYS.has(key)) return value;
    const mask = maskFor(key);
    if (mask) return applyMask(mask, value);
  }
  if (typeof value === "string") return maskText(value);
  if (value === null || typeof value !== "object") return value;
  if (depth > MAX_DEPTH) return "[too deep to log]";
  if (Array.isArray(value)) return value.map((v) => scrub(v, undefined, depth + 1));
  if (value instanceof Error) {
    // Still an instance of its class (pino's err serializer names the type
    // after it), with its message, stack and own fields scrubbed.
    const masked = Object.create(Object.getPrototypeOf(value)) as Error;
    Object.assign(masked, scrub({ ...value }, undefined, depth + 1));
    masked.message = maskText(value.message);
    masked.stack = maskText(value.stack ?? "");
    return masked;
  }
  let copy: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(value)) {
    const scrubbed = scrub(v, k, depth + 1);
    if (scrubbed !== v) {
      copy ??= { ...value };
      copy[k] = scrubbed;
    }
  }
  return copy ?? value;
}

/**
 * A span's ids as log fields: for a line written outside the span's
 * context (the gateway passes its request span by hand, server.ts says why).
 */
export function traceFieldsOf(span: Span | undefined): Record<string, string> {
  if (!span) return {};
  const { traceId, spanId, traceFlags } = span.spanContext();
  return { trace_id: traceId, span_id: spanId, trace_flags: `0${traceFlags.toString(16)}` };
}

const traceFields = () => traceFieldsOf(trace.getActiveSpan());

/** What may wait in memory for a lagging stdout reader before lines are dropped. */
export const LOG_BUFFER_MAX_BYTES = 16 * 1024 * 1024;

/**
 * stdout in batches: a line waits until 4 KiB are due or 200 ms have
 * passed, and whatever is left is written on exit. pino's default writes
 * every line with its own system call; on the pipe a container runtime
 * reads, that was most of what logging each request cost the gateway
 * (npm run bench, issue 27). Asynchronous, so a lagging reader does not
 * block the event loop either (pino's synchronous writer sleeps 100 ms on a
 * full pipe); at most LOG_BUFFER_MAX_BYTES wait in memory, past that lines
 * are dropped.
 */
function batchedStdout(): pino.DestinationStream {
  return pino.destination({
    dest: 1,
    sync: false,
    minLength: 4096,
    periodicFlush: 200,
    maxLength: LOG_BUFFER_MAX_BYTES,
  });
}

export function createLogger(service: string, level: string, destination = batchedStdout()): Logger {
  return pino(
    {
      level,
      base: { service },
      messageKey: "msg",
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => scrub(object, undefined, 0) as Record<string, unknown>,
      },
      hooks: {
        // The message string too: `log.info("sent to jane@example.com")`.
        logMethod(args, method) {
          method.apply(
            this,
            args.map((a) => (typeof a === "string" ? maskText(a) : a)) as Parameters<typeof method>,
          );
        },
      },
      // The active trace on every line, so a log line leads to its trace. Run
      // only for lines that are written (pino's instrumentation costs about a
      // quarter of the gateway's throughput here, unsampled: bench:tracing).
      mixin: traceFields,
    },
    destination,
  );
}

/** Masks the credentials in a connection string for logs: postgres://user:***@host/db. */
export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "[unparseable url]";
  }
}
