// Applies ./migrations to DATABASE_URL with drizzle's migrator. Applied
// migrations are recorded in drizzle.__drizzle_migrations, so rerunning is a no-op.
// Run as a Job before the services roll: `tsx apps/feed/src/migrate.ts`.
import path from "node:path";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import { Pool } from "pg";
import { z } from "zod";
import { ConfigError, parseEnv } from "../../shared/src/env";
import { createLogger, maskUrl } from "../../shared/src/logger";

export const MIGRATIONS_FOLDER = path.resolve(__dirname, "../../../migrations");

export async function runMigrations(databaseUrl: string): Promise<void> {
  const pool = new Pool({ connectionString: databaseUrl, max: 1, connectionTimeoutMillis: 10_000 });
  try {
    await migrate(drizzle(pool), { migrationsFolder: MIGRATIONS_FOLDER });
  } finally {
    await pool.end();
  }
}

if (require.main === module) {
  try {
    const env = parseEnv(z.object({ DATABASE_URL: z.url(), LOG_LEVEL: z.string().default("info") }));
    const logger = createLogger("feed-migrate", env.LOG_LEVEL);
    runMigrations(env.DATABASE_URL).then(
      () => logger.info({ database: maskUrl(env.DATABASE_URL) }, "migrations applied"),
      (err: Error) => {
        logger.error({ err: { message: err.message } }, "migrations failed");
        process.exit(1);
      },
    );
  } catch (err) {
    process.stderr.write(`feed-migrate: ${err instanceof ConfigError ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
