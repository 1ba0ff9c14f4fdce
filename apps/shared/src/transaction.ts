// Runs work in one Postgres transaction on a pooled client: commit on success,
// rollback on any error (the rollback's own failure is not the interesting one).
import type { Pool, PoolClient } from "pg";

export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("begin");
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
