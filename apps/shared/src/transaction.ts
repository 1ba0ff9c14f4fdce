// Runs work in one Postgres transaction on a pooled client: commit on success,
// rollback on any error (the rollback's own failure is not the interesting one).
import type { Pool, PoolClient } from "pg";

export async function inTransaction<T>(
  pool: Pool,
  work: (client: PoolClient) => Promise<T>,
  opts: { statementTimeoutMs?: number } = {},
): Promise<T> {
  const client = await pool.connect();
  try {
    // A caller's remaining deadline bounds every statement: past it, Postgres
    // cancels (57014) and the transaction rolls back instead of committing
    // for a caller that is gone. Same round trip as the begin.
    const timeout = opts.statementTimeoutMs;
    await client.query(
      timeout === undefined
        ? "begin"
        : `begin; set local statement_timeout = ${Math.max(1, Math.ceil(timeout))}`,
    );
    const result = await work(client);
    await client.query("commit");
    return result;
  } catch (err) {
    await client.query("rollback").catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
