// drizzle-kit: `npm run db:generate` writes SQL migrations from the feed schema
// into ./migrations; `npm run db:check` verifies the migration history.
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "postgresql",
  schema: "./apps/feed/src/db/schema.ts",
  out: "./migrations",
  strict: true,
  verbose: false,
});
