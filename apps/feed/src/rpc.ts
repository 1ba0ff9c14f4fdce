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

export function createRpcInstrumentation(deps: {
  metrics: FeedMetrics;
  logger: Logger;
  statementTimeoutMs: number;
}) {
  const observe = (method: string, started: bigint, code: grpc.status) => {
    const labels = { grpc_service: FEED_SERVICE_NAME, grpc_method: method };
    deps.metrics.handled.inc({ ...labels, grpc_code: grpc.status[code] });
    observeTraced(deps.metrics.handling, labels, Number(process.hrtime.bigint() - started) / 1e9);
  };

  // The gateway's x-request-id, so one request can be followed across both services' logs.
  const requestIdOf = (metadata: grpc.Metadata) => {
    const value = metadata.get(REQUEST_ID_KEY)[0];
    return typeof value === "string" && SAFE_TOKEN.test(value) ? value : undefined;
  };

  /**
   * The call's server span, continuing the caller's trace (traceparent in the
   * metadata), with the request id so a trace is found from a log line and back.
   */
  const serverSpan = (method: string, metadata: grpc.Metadata) =>
    startServerSpan(`grpc.${FEED_SERVICE_NAME}/${method}`, metadata, metadataGetter, () => ({
      "rpc.system": "grpc",
      "rpc.service": FEED_SERVICE_NAME,
      "rpc.method": method,
      ...(requestIdOf(metadata) ? { "request.id": requestIdOf(metadata) } : {}),
    }));
  const endServerSpan = (span: Span, code: grpc.status) =>
    endSpan(span, { "rpc.grpc.status_code": code }, SERVER_FAULTS.has(code) ? grpc.status[code] : undefined);

  const fail = (method: string, err: unknown, requestId: string | undefined) => {
    const domain = toDomainError(err);
    if (domain.code === "internal") deps.logger.error({ err, method, requestId }, "rpc failed");
    else deps.logger.debug({ method, requestId, code: domain.code, field: domain.field }, "rpc rejected");
    return toGrpcError(domain);
  };

  function unary<Req, Res>(
    method: string,
    run: (request: Req, metadata: grpc.Metadata, budget: CallBudget) => Promise<Res>,
  ): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      const started = process.hrtime.bigint();
      const { span, ctx } = serverSpan(method, call.metadata);
      context.with(ctx, () => handle(call, callback, started, span));
    };

    function handle(
      call: grpc.ServerUnaryCall<Req, Res>,
      callback: grpc.sendUnaryData<Res>,
      started: bigint,
      span: Span,
    ) {
      const deadline = call.getDeadline();
      const leftMs = (deadline instanceof Date ? deadline.getTime() : deadline) - Date.now();
      const work =
        leftMs <= 0
          ? Promise.reject(new DomainError("deadline_exceeded", "deadline passed before the call started"))
          : run(call.request, call.metadata, {
              // The statement timeout still caps calls without a deadline.
              statementTimeoutMs: Number.isFinite(leftMs)
                ? Math.min(leftMs, deps.statementTimeoutMs)
                : undefined,
            });
      work.then(
        (response) => {
          observe(method, started, grpc.status.OK);
          endServerSpan(span, grpc.status.OK);
          // With the trace id the pino instrumentation adds: a call found from its trace and back.
          deps.logger.debug({ method, requestId: requestIdOf(call.metadata) }, "rpc ok");
          callback(null, response);
        },
        (err: unknown) => {
          const grpcError = fail(method, err, requestIdOf(call.metadata));
          observe(method, started, grpcError.code ?? grpc.status.UNKNOWN);
          endServerSpan(span, grpcError.code ?? grpc.status.UNKNOWN);
          callback(grpcError);
        },
      );
    }
  }

  return { unary, observe, fail, requestIdOf, serverSpan, endServerSpan };
}
