// Fills the database at DATABASE_URL with demo data:
//   npm run seed -- --users 200 --videos 1000 --likes 5000
import { parseArgs } from "node:util";
import { seedDatabase } from "@golive/devkit/seed-data";
import { Pool } from "pg";
import { z } from "zod";

const count = (name: string, max: number) =>
  z.coerce
    .number({ error: `--${name} must be a number` })
    .int(`--${name} must be a whole number`)
    .min(0, `--${name} must be >= 0`)
    .max(max, `--${name} must be <= ${max}`);

const argsSchema = z
  .object({
    users: count("users", 1_000_000).default(200),
    videos: count("videos", 1_000_000).default(1000),
    likes: count("likes", 10_000_000).default(5000),
  })
  .refine((a) => a.likes <= a.users * a.videos, {
    message: "--likes must be <= users * videos",
    path: ["likes"],
  })
  .refine((a) => a.videos === 0 || a.users > 0, {
    message: "--videos needs at least one user",
    path: ["users"],
  });

async function main(): Promise<number> {
  let raw: Record<string, string | undefined>;
  try {
    raw = parseArgs({
      options: { users: { type: "string" }, videos: { type: "string" }, likes: { type: "string" } },
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`seed: ${(err as Error).message}\n`);
    return 2;
  }
  const parsed = argsSchema.safeParse(raw);
  if (!parsed.success) {
    process.stderr.write(`seed: ${parsed.error.issues.map((i) => i.message).join("; ")}\n`);
    return 2;
  }
  const url = process.env.DATABASE_URL;
  if (!url) {
    process.stderr.write("seed: DATABASE_URL is required\n");
    return 2;
  }
  const pool = new Pool({ connectionString: url, max: 2, connectionTimeoutMillis: 10_000 });
  try {
    const started = Date.now();
    const result = await seedDatabase(pool, parsed.data, Date.now());
    process.stdout.write(
      `seeded ${result.users} users, ${result.videos} videos, ${result.likes} likes in ${Date.now() - started} ms\n`,
    );
    return 0;
  } catch (err) {
    process.stderr.write(`seed: failed: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await pool.end();
  }
}

main().then((code) => process.exit(code));
