// How every feed RPC is observed and answered: its duration and status in
// the gRPC metrics, a failure mapped to a gRPC status and logged with the
// caller's request id, and what is left of its deadline handed to the work.

import { REQUEST_ID_HEADER, SAFE_TOKEN } from "@golive/shared/contract";
import type { Logger } from "@golive/shared/logger";
import { observeTraced } from "@golive/shared/metrics";
import { endSpan, metadataGetter, startServerSpan } from "@golive/tracing/spans";
import * as grpc from "@grpc/grpc-js";
import { context, type Span } from "@opentelemetry/api";
import { FEED_SERVICE_NAME } from "./contract";
import { DomainError, toDomainError, toGrpcError } from "./errors";
import type { CallBudget } from "./feed-store";
import type { FeedMetrics } from "./metrics";

const REQUEST_ID_KEY = REQUEST_ID_HEADER;
/** Statuses that mark a server span failed (the rest are the caller's doing). */
const SERVER_FAULTS = new Set([
  grpc.status.UNKNOWN,
  grpc.status.INTERNAL,
  grpc.status.UNAVAILABLE,
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.DATA_LOSS,
  grpc.status.UNIMPLEMENTED,
]);

export interface RpcDeps {
  metrics: FeedMetrics;
  logger: Logger;
  statementTimeoutMs: number;
}

type UnaryRun<Req, Res> = (request: Req, metadata: grpc.Metadata, budget: CallBudget) => Promise<Res>;

export function createRpcInstrumentation(deps: RpcDeps) {
  const observe = (method: string, started: bigint, code: grpc.status) =>
    observeCall(deps.metrics, method, started, code);
  const fail = (method: string, err: unknown, requestId: string | undefined) =>
    failCall(deps.logger, method, err, requestId);

  function unary<Req, Res>(method: string, run: UnaryRun<Req, Res>): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      const started = process.hrtime.bigint();
      const { span, ctx } = serverSpan(method, call.metadata);
      context.with(ctx, () => handleUnary(deps, method, run, call, callback, started, span));
    };
  }

  return { unary, observe, fail, requestIdOf, serverSpan, endServerSpan };
}

/** The call's duration and status in grpc_server_handled_total and grpc_server_handling_seconds. */
function observeCall(metrics: FeedMetrics, method: string, started: bigint, code: grpc.status): void {
  const labels = { grpc_service: FEED_SERVICE_NAME, grpc_method: method };
  metrics.handled.inc({ ...labels, grpc_code: grpc.status[code] });
  observeTraced(metrics.handling, labels, Number(process.hrtime.bigint() - started) / 1e9);
}

// The gateway's x-request-id, so one request can be followed across both services' logs.
function requestIdOf(metadata: grpc.Metadata): string | undefined {
  const value = metadata.get(REQUEST_ID_KEY)[0];
  return typeof value === "string" && SAFE_TOKEN.test(value) ? value : undefined;
}

/**
 * The call's server span, continuing the caller's trace (traceparent in the
 * metadata), with the request id so a trace is found from a log line and back.
 */
function serverSpan(method: string, metadata: grpc.Metadata) {
  return startServerSpan(`grpc.${FEED_SERVICE_NAME}/${method}`, metadata, metadataGetter, () => ({
    "rpc.system": "grpc",
    "rpc.service": FEED_SERVICE_NAME,
    "rpc.method": method,
    ...(requestIdOf(metadata) ? { "request.id": requestIdOf(metadata) } : {}),
  }));
}

function endServerSpan(span: Span, code: grpc.status) {
  return endSpan(
    span,
    { "rpc.grpc.status_code": code },
    SERVER_FAULTS.has(code) ? grpc.status[code] : undefined,
  );
}

/** Maps a failure to a gRPC error: internal ones are logged as errors, the caller's mistakes at debug. */
function failCall(logger: Logger, method: string, err: unknown, requestId: string | undefined) {
  const domain = toDomainError(err);
  if (domain.code === "internal") logger.error({ err, method, requestId }, "rpc failed");
  else logger.debug({ method, requestId, code: domain.code, field: domain.field }, "rpc rejected");
  return toGrpcError(domain);
}

/** Runs a unary call within its deadline, then answers it and records the outcome. */
function handleUnary<Req, Res>(
  deps: RpcDeps,
  method: string,
  run: UnaryRun<Req, Res>,
  call: grpc.ServerUnaryCall<Req, Res>,
  callback: grpc.sendUnaryData<Res>,
  started: bigint,
  span: Span,
): void {
  runWithinDeadline(call, run, deps.statementTimeoutMs).then(
    (response) => {
      observeCall(deps.metrics, method, started, grpc.status.OK);
      endServerSpan(span, grpc.status.OK);
      // With the trace id the pino instrumentation adds: a call found from its trace and back.
      deps.logger.debug({ method, requestId: requestIdOf(call.metadata) }, "rpc ok");
      callback(null, response);
    },
    (err: unknown) => {
      const grpcError = failCall(deps.logger, method, err, requestIdOf(call.metadata));
      observeCall(deps.metrics, method, started, grpcError.code ?? grpc.status.UNKNOWN);
      endServerSpan(span, grpcError.code ?? grpc.status.UNKNOWN);
      callback(grpcError);
    },
  );
}

/** Hands the work what is left of the caller's deadline; a call already past it is refused. */
function runWithinDeadline<Req, Res>(
  call: grpc.ServerUnaryCall<Req, Res>,
  run: UnaryRun<Req, Res>,
  statementTimeoutMs: number,
): Promise<Res> {
  const deadline = call.getDeadline();
  const leftMs = (deadline instanceof Date ? deadline.getTime() : deadline) - Date.now();
  return leftMs <= 0
    ? Promise.reject(new DomainError("deadline_exceeded", "deadline passed before the call started"))
    : run(call.request, call.metadata, {
        // The statement timeout still caps calls without a deadline.
        statementTimeoutMs: Number.isFinite(leftMs) ? Math.min(leftMs, statementTimeoutMs) : undefined,
      });
}
