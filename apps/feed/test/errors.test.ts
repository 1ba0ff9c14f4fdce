// How a failure from the database becomes a gRPC status: "the database is
// not there" must be UNAVAILABLE (the gateway retries it and its breaker
// counts it), anything else INTERNAL.
import assert from "node:assert/strict";
import { test } from "node:test";
import { toDomainError } from "../src/errors";

/** An error as node's net module makes one for a failed connect. */
const connectError = (code: string) =>
  Object.assign(new Error(`connect ${code} 10.96.12.166:5432`), { code, syscall: "connect" });

test("network errors on the way to the database are UNAVAILABLE", () => {
  // ENETUNREACH: a feed pod on the real node while Postgres restarted (the
  // real-pods lane's superuser rotation); it used to answer INTERNAL (502).
  for (const code of ["ENETUNREACH", "ENETDOWN", "EAI_AGAIN", "ECONNABORTED", "ECONNREFUSED", "EHOSTUNREACH"])
    assert.equal(toDomainError(connectError(code)).code, "unavailable", code);
});

test("a server shutting down or starting up is UNAVAILABLE; a bad statement is INTERNAL", () => {
  for (const sqlstate of ["57P01", "57P03", "08006", "53300"])
    assert.equal(
      toDomainError(Object.assign(new Error("x"), { code: sqlstate })).code,
      "unavailable",
      sqlstate,
    );
  assert.equal(toDomainError(Object.assign(new Error("syntax"), { code: "42601" })).code, "internal");
  assert.equal(toDomainError(new Error("Connection terminated unexpectedly")).code, "unavailable");
});
