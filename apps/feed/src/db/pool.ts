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
  let up = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const listeners: ((up: boolean) => void)[] = [];
  let resolveFirst: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    resolveFirst = resolve;
  });
  const set = (next: boolean) => {
    if (next !== up) {
      up = next;
      logger[next ? "info" : "error"]({ dbUp: next }, next ? "database reachable" : "database unreachable");
      for (const l of listeners) l(next);
    }
  };
  const tick = async () => {
    try {
      await pool.query("select 1");
      set(true);
    } catch {
      set(false);
    }
    resolveFirst();
    if (!stopped) timer = setTimeout(tick, intervalMs);
  };
  void tick();
  return {
    ready,
    up: () => up,
    onChange: (l) => listeners.push(l),
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
