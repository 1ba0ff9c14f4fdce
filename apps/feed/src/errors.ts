// Domain errors are values with a stable code and a human message; toGrpcError
// is the one place that turns them, and database failures, into gRPC statuses.
import { Metadata, type ServiceError, status } from "@grpc/grpc-js";

export type DomainErrorCode =
  | "invalid_argument"
  | "not_found"
  | "unavailable"
  | "deadline_exceeded"
  | "internal";

export class DomainError extends Error {
  override name = "DomainError";
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export const invalidArgument = (field: string, reason: string) =>
  new DomainError("invalid_argument", `${field}: ${reason}`, field);
export const notFound = (field: string, what: string) =>
  new DomainError("not_found", `${field}: ${what} not found`, field);

const GRPC_CODE: Record<DomainErrorCode, status> = {
  invalid_argument: status.INVALID_ARGUMENT,
  not_found: status.NOT_FOUND,
  unavailable: status.UNAVAILABLE,
  deadline_exceeded: status.DEADLINE_EXCEEDED,
  internal: status.INTERNAL,
};

// SQLSTATE classes and node errors that mean "the database is not there".
// ENETUNREACH is what a pod got on the real node while Postgres restarted
// (its Service had no endpoint): as INTERNAL it reached callers as 502,
// neither retried nor counted by the gateway's breaker.
const UNAVAILABLE_SQLSTATE = /^(08|53|57P0[1-3])/;
const UNAVAILABLE_ERRNO = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
]);

/** Classifies any thrown value as a DomainError. */
export function toDomainError(err: unknown): DomainError {
  if (err instanceof DomainError) return err;
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === "string" ? e.code : "";
  const message = typeof e?.message === "string" ? e.message : "";
  if (code === "57014") return new DomainError("deadline_exceeded", "database statement timed out");
  if (
    UNAVAILABLE_SQLSTATE.test(code) ||
    UNAVAILABLE_ERRNO.has(code) ||
    /connection terminated|connection timeout|timeout exceeded when trying to connect|Connection refused|Client has encountered a connection error|pool.*(ended|closed)/i.test(
      message,
    )
  ) {
    return new DomainError("unavailable", "database unavailable");
  }
  return new DomainError("internal", "internal error");
}

export function toGrpcError(err: DomainError): Partial<ServiceError> {
  const metadata = new Metadata();
  if (err.field) metadata.set("field", err.field);
  return { code: GRPC_CODE[err.code], details: err.message, metadata };
}
