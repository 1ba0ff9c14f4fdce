// What the feed promises whoever deploys it (infra/stack.ts): its port, the
// gRPC health service its readiness answers for, its commands in the image,
// and the environment each command reads (names typed from the schemas).
import { FEED_SERVICE } from "@golive/proto/service";
import type { EnvName } from "@golive/shared/contract";
import type { feedConfigSchema } from "./config";
import type { dbRolesConfigSchema } from "./db-roles";
import type { migrateConfigSchema } from "./migrate";

export const FEED_GRPC_PORT = 50051;
/** The headless Service that lists every ready feed pod, for per-call balancing (dns:///). */
export const FEED_HEADLESS_SERVICE = "feed-grpc";
/** The gRPC health service that is SERVING only while the feed can serve. */
export const FEED_SERVICE_NAME = FEED_SERVICE;
/** Entry points in the feed image (scripts/bundle-app.mjs output, run by distroless node). */
export const FEED_COMMANDS = {
  migrate: ["/nodejs/bin/node", "dist/migrate.js"],
  dbRoles: ["/nodejs/bin/node", "dist/db-roles.js"],
};
export type FeedEnv = EnvName<typeof feedConfigSchema>;
export type MigrateEnv = EnvName<typeof migrateConfigSchema>;
export type DbRolesEnv = EnvName<typeof dbRolesConfigSchema>;
