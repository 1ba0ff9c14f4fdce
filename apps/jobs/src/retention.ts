// The GDPR/CCPA retention job, run by a CronJob: purges user_activity rows
// whose retention_date has passed and hard-deletes users soft-deleted more
// than RETENTION_DAYS ago (their likes, messages, videos and activity go with
// them through ON DELETE CASCADE). Work is done in small transactions so it
// never holds long locks; a run cut short (crash, deadline, max batches) is
// simply finished by the next run, because every batch re-selects what is due.

import { envInt, logLevel, parseEnv } from "@golive/shared/env";
import { createLogger, type Logger, maskUrl } from "@golive/shared/logger";
import { EXIT, runMain } from "@golive/shared/run-main";
import { inTransaction } from "@golive/shared/transaction";
import { Pool } from "pg";
import { z } from "zod";

export const retentionConfigSchema = z.object({
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: "must be a postgres:// connection string" }),
  /** Days a soft-deleted user is kept (the undo window) before hard deletion. */
  RETENTION_DAYS: envInt(0, 3650).default(30),
  RETENTION_ACTIVITY_BATCH: envInt(1, 100_000).default(5_000),
  /** Smaller: one user can cascade to many rows. */
  RETENTION_USER_BATCH: envInt(1, 10_000).default(200),
  /** Upper bound on batches per run, so one run cannot go on forever. */
  RETENTION_MAX_BATCHES: envInt(1, 1_000_000).default(10_000),
  RETENTION_STATEMENT_TIMEOUT_MS: envInt(100, 600_000).default(30_000),
  LOG_LEVEL: logLevel,
});
export type RetentionConfig = z.infer<typeof retentionConfigSchema>;

export interface RetentionOptions {
  retentionDays: number;
  activityBatch: number;
  userBatch: number;
  maxBatches: number;
  /** The instant the run treats as now; tests pin it. */
  now?: Date;
}

export interface RetentionResult {
  activityDeleted: number;
  usersDeleted: number;
  batches: number;
  /** False when maxBatches stopped the run with work still due. */
  complete: boolean;
}

/** Deletes one batch of activity past its retention date; returns how many rows went. */
async function purgeActivityBatch(pool: Pool, today: string, limit: number): Promise<number> {
  // "Past" means strictly before today: a row is kept through its retention date.
  const { rowCount } = await pool.query(
    `delete from user_activity where id in (
       select id from user_activity where retention_date < $1::date
       order by id limit $2 for update skip locked)`,
    [today, limit],
  );
  return rowCount ?? 0;
}

/** Hard-deletes one batch of users soft-deleted before the cutoff; returns how many. */
async function purgeUserBatch(pool: Pool, cutoff: Date, limit: number): Promise<number> {
  return inTransaction(pool, async (client) => {
    const due = await client.query<{ id: string }>(
      `select id from users where deleted_at is not null and deleted_at < $1
       order by deleted_at, id limit $2 for update skip locked`,
      [cutoff, limit],
    );
    const ids = due.rows.map((r) => r.id);
    if (ids.length === 0) return 0;
    // The cascade removes their likes; take them off the counters of videos
    // that stay (videos the users authored are deleted with them). Rows are
    // updated in id order, as the like worker does, so the two cannot deadlock.
    await client.query(
      `update videos v set like_count = greatest(v.like_count - c.n, 0)
       from (select l.video_id, count(*) as n from likes l
             where l.user_id = any($1::uuid[]) group by l.video_id order by l.video_id) c
       where v.id = c.video_id and v.author_id <> all($1::uuid[])`,
      [ids],
    );
    const deleted = await client.query("delete from users where id = any($1::uuid[])", [ids]);
    return deleted.rowCount ?? 0;
  });
}

export async function runRetention(
  pool: Pool,
  opts: RetentionOptions,
  logger: Logger,
): Promise<RetentionResult> {
  const now = opts.now ?? new Date();
  const today = now.toISOString().slice(0, 10);
  const cutoff = new Date(now.getTime() - opts.retentionDays * 86_400_000);
  const result: RetentionResult = { activityDeleted: 0, usersDeleted: 0, batches: 0, complete: false };

  // Users first: their cascade also takes their activity, so the activity
  // pass afterwards has less to do.
  const phases = [
    { name: "users", run: () => purgeUserBatch(pool, cutoff, opts.userBatch), key: "usersDeleted" },
    {
      name: "user_activity",
      run: () => purgeActivityBatch(pool, today, opts.activityBatch),
      key: "activityDeleted",
    },
  ] as const;
  for (const phase of phases) {
    const batchSize = phase.name === "users" ? opts.userBatch : opts.activityBatch;
    for (;;) {
      if (result.batches >= opts.maxBatches) {
        logger.warn({ ...result, phase: phase.name }, "retention stopped at max batches; next run continues");
        return result;
      }
      const deleted = await phase.run();
      result.batches += 1;
      result[phase.key] += deleted;
      if (deleted > 0) logger.debug({ phase: phase.name, deleted }, "retention batch");
      if (deleted < batchSize) break;
    }
  }
  result.complete = true;
  logger.info({ ...result, today, userCutoff: cutoff.toISOString() }, "retention complete");
  return result;
}

async function main(): Promise<number> {
  const config: RetentionConfig = parseEnv(retentionConfigSchema);
  const logger = createLogger("retention", config.LOG_LEVEL);
  const pool = new Pool({
    connectionString: config.DATABASE_URL,
    max: 1,
    connectionTimeoutMillis: 10_000,
    statement_timeout: config.RETENTION_STATEMENT_TIMEOUT_MS,
    application_name: "golive-retention",
  });
  try {
    logger.info(
      { database: maskUrl(config.DATABASE_URL), retentionDays: config.RETENTION_DAYS },
      "retention start",
    );
    await runRetention(
      pool,
      {
        retentionDays: config.RETENTION_DAYS,
        activityBatch: config.RETENTION_ACTIVITY_BATCH,
        userBatch: config.RETENTION_USER_BATCH,
        maxBatches: config.RETENTION_MAX_BATCHES,
      },
      logger,
    );
    // A run stopped at max batches is not a failure: the next scheduled run
    // picks up the rest, and a retry storm would only add load.
    return EXIT.ok;
  } catch (err) {
    logger.error({ err: { message: (err as Error).message } }, "retention failed");
    return EXIT.failed;
  } finally {
    await pool.end();
  }
}

if (require.main === module) runMain("retention", main);
