// Drains the like_events queue into videos.like_count. Replicas run it side by
// side: FOR UPDATE SKIP LOCKED hands each batch to exactly one of them.

import type { Logger } from "@golive/shared/logger";
import type { Pool } from "pg";

export interface LikeWorker {
  /** Resolves when the running batch, if any, has finished. */
  stop(): Promise<void>;
  /** Drains until the queue is empty (used by tests and on demand). */
  drainOnce(): Promise<number>;
  /** "warn" while the last drain failed: counts lag, other replicas may still drain. */
  health(): "pass" | "warn";
}

export interface LikeWorkerOptions {
  pool: Pool;
  intervalMs: number;
  batchSize: number;
  logger: Logger;
  onQueueDepth(depth: number): void;
}

export function startLikeWorker(opts: LikeWorkerOptions): LikeWorker {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  let lastFailed = false;

  const drainOnce = () => drainQueue(opts);

  const tick = () => {
    running = drainOnce()
      .then((n) => {
        lastFailed = false;
        if (n > 0) opts.logger.debug({ drained: n }, "like events drained");
      })
      .catch((err: Error) => {
        lastFailed = true;
        opts.logger.warn({ err: { message: err.message } }, "like worker batch failed");
      })
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, opts.intervalMs);
      });
  };
  tick();

  return {
    drainOnce,
    health: () => (lastFailed ? "warn" : "pass"),
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}

/** Drains batch after batch until one comes back short, then reports the queue's depth. */
async function drainQueue(opts: LikeWorkerOptions): Promise<number> {
  let total = 0;
  // Bounded: a steady inflow cannot keep one tick busy for ever.
  for (let i = 0; i < 100; i++) {
    const n = await drainBatch(opts.pool, opts.batchSize);
    total += n;
    if (n < opts.batchSize) break;
  }
  const { rows } = await opts.pool.query<{ depth: number }>("select count(*)::int as depth from like_events");
  opts.onQueueDepth(rows[0]?.depth ?? 0);
  return total;
}

/** One transaction: takes up to batchSize events no other replica holds and adds them to the counts. */
async function drainBatch(pool: Pool, batchSize: number): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query("begin");
    const { rows } = await client.query<{ video_id: string; n: string }>(
      `with batch as (
           select id from like_events order by id limit $1 for update skip locked
         ), drained as (
           delete from like_events e using batch b where e.id = b.id returning e.video_id
         )
         select video_id, count(*) as n from drained group by video_id order by video_id`,
      [batchSize],
    );
    if (rows.length > 0) {
      // Rows are updated in video id order so two replicas cannot deadlock.
      await client.query(
        `update videos v set like_count = v.like_count + d.n
           from (select unnest($1::uuid[]) as video_id, unnest($2::bigint[]) as n order by 1) d
           where v.id = d.video_id`,
        [rows.map((r) => r.video_id), rows.map((r) => r.n)],
      );
    }
    await client.query("commit");
    return rows.reduce((sum, r) => sum + Number(r.n), 0);
  } catch (err) {
    await client.query("rollback").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
