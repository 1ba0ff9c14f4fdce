// The database answers with the app's own login (DATABASE_URL of the feed):
// the same credentials, TLS settings and network path the service uses.
import pg from "pg";
import type { CheckResult } from "../result";
import { timed, withDeadline } from "../result";

export function checkDatabase(input: { url: string; timeoutMs: number }): Promise<CheckResult> {
  return timed("database", async () => {
    const client = new pg.Client({
      connectionString: input.url,
      connectionTimeoutMillis: input.timeoutMs,
      query_timeout: input.timeoutMs,
    });
    try {
      await withDeadline(client.connect(), input.timeoutMs, "connect");
      const { rows } = await client.query<{ login: string; database: string; version: string }>(
        "select current_user as login, current_database() as database, current_setting('server_version') as version",
      );
      const row = rows[0];
      // The URL holds the password: only what the server says goes into the report.
      return {
        status: "ok",
        reason: `logged in as ${row?.login} to ${row?.database} (PostgreSQL ${row?.version})`,
      };
    } finally {
      await client.end().catch(() => {});
    }
  });
}
