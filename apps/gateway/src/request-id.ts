// Request ids: a caller's x-request-id is kept when it is a short token of safe
// characters (it ends up in logs and gRPC metadata); otherwise one is made.
import { randomUUID } from "node:crypto";
import { SAFE_TOKEN } from "@golive/shared/contract";

export { REQUEST_ID_HEADER } from "@golive/shared/contract";

export function requestIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && SAFE_TOKEN.test(value) ? value : randomUUID();
}
