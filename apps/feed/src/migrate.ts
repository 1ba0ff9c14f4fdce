// Applies ./migrations to DATABASE_URL with drizzle's migrator. Applied
// migrations are recorded in drizzle.__drizzle_migrations, so rerunning is a no-op.
// Run as a Job before the services roll: `tsx apps/feed/src/migrate.ts`.
// With MIGRATIONS_ROLE (in-cluster: feed_owner, see db-roles.ts) the session
// runs as that role, so every table it creates is owned by it and not by the
// superuser whose URL the Job holds.
import path from "node:path";
import { logLevel, parseEnv } from "@golive/shared/env";
import { createLogger, maskUrl } from "@golive/shared/logger";
import { EXIT, runMain } from "@golive/shared/run-main";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import { Pool } from "pg";
import { z } from "zod";

/** drizzle-kit's output folder, found by package name (see proto/src/loader.ts). */
export const MIGRATIONS_FOLDER = path.dirname(require.resolve("@golive/migrations/package.json"));

export const migrateConfigSchema = z.object({
  DATABASE_URL: z
    .string({ error: "is required (postgres://user:password@host:5432/db)" })
    .pipe(z.url({ protocol: /^postgres(ql)?$/, error: "must be a postgres:// connection string" })),
  MIGRATIONS_ROLE: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/, "must be a plain role name such as feed_owner")
    .optional(),
  LOG_LEVEL: logLevel,
});

export async function runMigrations(databaseUrl: string, options: { role?: string } = {}): Promise<void> {
  const pool = new Pool({
    connectionString: databaseUrl,
    max: 1,
    connectionTimeoutMillis: 10_000,
    // A startup parameter, so it holds for every statement the migrator runs.
    ...(options.role ? { options: `-c role=${options.role}` } : {}),
  });
  try {
    await migrate(drizzle(pool), { migrationsFolder: MIGRATIONS_FOLDER });
  } finally {
    await pool.end();
  }
}

if (require.main === module) {
  runMain("feed-migrate", async () => {
    const env = parseEnv(migrateConfigSchema);
    const logger = createLogger("feed-migrate", env.LOG_LEVEL);
    try {
      await runMigrations(env.DATABASE_URL, { role: env.MIGRATIONS_ROLE });
    } catch (err) {
      logger.error({ err: { message: (err as Error).message } }, "migrations failed");
      return EXIT.failed;
    }
    logger.info({ database: maskUrl(env.DATABASE_URL), role: env.MIGRATIONS_ROLE }, "migrations applied");
    return EXIT.ok;
  });
}
