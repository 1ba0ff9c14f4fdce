// The one place where failures become HTTP statuses and JSON error bodies.
// Bodies carry a stable code, a human message and the request id; never a stack.
import { status as GrpcStatus } from "@grpc/grpc-js";
import { BrokenCircuitError } from "cockatiel";

export interface ErrorBody {
  code: string;
  message: string;
  requestId: string;
}

/** A failure the gateway decided on itself (bad input, breaker open, ...). */
export class GatewayError extends Error {
  override name = "GatewayError";
  constructor(
    readonly httpStatus: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** How long a client is told to wait before retrying a switched-off feature: the flags reload in seconds, a switch is turned back by a person. */
const FEATURE_OFF_RETRY_AFTER_SECONDS = 60;

/** 503 for a feature whose kill switch is off (flags.ts): the code says it is on purpose, the message names the flag. */
export function featureDisabled(what: string, flag: string): GatewayError {
  return new GatewayError(
    503,
    "FEATURE_DISABLED",
    `${what} are switched off (feature flag ${flag}); retry later`,
    {
      "retry-after": String(FEATURE_OFF_RETRY_AFTER_SECONDS),
    },
  );
}

const GRPC_TO_HTTP: Partial<Record<GrpcStatus, number>> = {
  [GrpcStatus.INVALID_ARGUMENT]: 400,
  [GrpcStatus.OUT_OF_RANGE]: 400,
  [GrpcStatus.FAILED_PRECONDITION]: 400,
  [GrpcStatus.UNAUTHENTICATED]: 401,
  [GrpcStatus.PERMISSION_DENIED]: 403,
  [GrpcStatus.NOT_FOUND]: 404,
  [GrpcStatus.ALREADY_EXISTS]: 409,
  [GrpcStatus.ABORTED]: 409,
  [GrpcStatus.RESOURCE_EXHAUSTED]: 429,
  [GrpcStatus.CANCELLED]: 499,
  [GrpcStatus.UNAVAILABLE]: 503,
  [GrpcStatus.DEADLINE_EXCEEDED]: 504,
  [GrpcStatus.UNIMPLEMENTED]: 501,
  [GrpcStatus.INTERNAL]: 502,
  [GrpcStatus.UNKNOWN]: 502,
  [GrpcStatus.DATA_LOSS]: 502,
};

/** Client-caused codes keep the feed's message (it names the field); others get a generic one. */
const PASS_MESSAGE = new Set<GrpcStatus>([
  GrpcStatus.INVALID_ARGUMENT,
  GrpcStatus.OUT_OF_RANGE,
  GrpcStatus.FAILED_PRECONDITION,
  GrpcStatus.NOT_FOUND,
  GrpcStatus.ALREADY_EXISTS,
  GrpcStatus.RESOURCE_EXHAUSTED,
]);

export interface GrpcLikeError {
  code: GrpcStatus;
  details?: string;
}

export function isGrpcError(err: unknown): err is GrpcLikeError {
  return (
    typeof err === "object" &&
    err !== null &&
    "code" in err &&
    typeof (err as { code: unknown }).code === "number" &&
    "metadata" in err
  );
}

export function grpcStatusToHttp(code: GrpcStatus): number {
  return GRPC_TO_HTTP[code] ?? 500;
}

export interface MappedError {
  httpStatus: number;
  code: string;
  message: string;
  headers: Record<string, string>;
}

export function mapError(err: unknown, retryAfterSeconds: number): MappedError {
  if (err instanceof GatewayError) {
    return { httpStatus: err.httpStatus, code: err.code, message: err.message, headers: err.headers };
  }
  if (err instanceof BrokenCircuitError) {
    return {
      httpStatus: 503,
      code: "FEED_CIRCUIT_OPEN",
      message: "the feed service is failing; try again later",
      headers: { "retry-after": String(retryAfterSeconds) },
    };
  }
  if (isGrpcError(err)) {
    const httpStatus = grpcStatusToHttp(err.code);
    const code = GrpcStatus[err.code] ?? "UNKNOWN";
    const message = PASS_MESSAGE.has(err.code)
      ? (err.details ?? code).slice(0, 300)
      : err.code === GrpcStatus.DEADLINE_EXCEEDED
        ? "the feed service did not answer in time"
        : err.code === GrpcStatus.UNAVAILABLE
          ? "the feed service is unavailable"
          : "the feed service failed";
    const headers: Record<string, string> =
      httpStatus === 503 ? { "retry-after": String(retryAfterSeconds) } : {};
    return { httpStatus, code, message, headers };
  }
  return { httpStatus: 500, code: "INTERNAL", message: "internal error", headers: {} };
}
