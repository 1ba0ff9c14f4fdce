// The pg pool with short timeouts, and a probe that tracks whether the
// database answers: it drives readiness, gRPC health and feed_db_up.

import type { Logger } from "@golive/shared/logger";
import { Pool } from "pg";

export function createPool(opts: {
  url: string;
  max: number;
  connectTimeoutMs: number;
  statementTimeoutMs: number;
  logger: Logger;
}): Pool {
  const pool = new Pool({
    connectionString: opts.url,
    max: opts.max,
    connectionTimeoutMillis: opts.connectTimeoutMs,
    statement_timeout: opts.statementTimeoutMs,
    // Client-side bound too: a half-open TCP connection never answers the server-side timeout.
    query_timeout: opts.statementTimeoutMs + 1_000,
    idleTimeoutMillis: 30_000,
    application_name: "feed",
  });
  // An idle client losing its connection (database restart) must not crash the process.
  pool.on("error", (err) =>
    opts.logger.warn({ err: { message: err.message } }, "idle database client failed"),
  );
  return pool;
}

export interface DbProbe {
  up(): boolean;
  stop(): void;
  onChange(listener: (up: boolean) => void): void;
}

export function startDbProbe(
  pool: Pool,
  intervalMs: number,
  logger: Logger,
): DbProbe & { ready: Promise<void> } {
  // Unknown until the first probe, so a database down from the start is logged too.
  let up: boolean | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const listeners: ((up: boolean) => void)[] = [];
  let resolveFirst: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    resolveFirst = resolve;
  });
  // Going down, the line says why (refused, unreachable, a login refused,
  // too many clients): the runbook (database-connection-failure.md) starts there.
  const set = (next: boolean, cause?: unknown) => {
    if (next !== up) {
      up = next;
      if (next) logger.info({ dbUp: true }, "database reachable");
      else {
        const { message, code } = (cause ?? {}) as { message?: unknown; code?: unknown };
        logger.error({ dbUp: false, err: { message: String(message), code } }, "database unreachable");
      }
      for (const l of listeners) l(next);
    }
  };
  const tick = async () => {
    try {
      await pool.query("select 1");
      set(true);
    } catch (err) {
      set(false, err);
    }
    resolveFirst();
    if (!stopped) timer = setTimeout(tick, intervalMs);
  };
  void tick();
  return {
    ready,
    up: () => up === true,
    onChange: (l) => listeners.push(l),
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
