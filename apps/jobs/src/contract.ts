// What the jobs image promises whoever deploys it (infra/components/retention.ts):
// the retention command and the environment it reads (names typed from its schema).
import type { EnvName } from "@golive/shared/contract";
import type { retentionConfigSchema } from "./retention";

/** The retention entry of the jobs image (CMD of apps/jobs/Dockerfile, run by distroless node). */
export const RETENTION_COMMAND = ["/nodejs/bin/node", "dist/retention.js"];
export type RetentionEnv = EnvName<typeof retentionConfigSchema>;
