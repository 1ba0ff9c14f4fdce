// What the jobs image promises whoever deploys it (infra/components/retention.ts):
// the retention command and the environment it reads (names typed from its schema).
import type { EnvName } from "../../shared/src/contract";
import type { retentionConfigSchema } from "./retention";

/** The retention entry of the jobs image (CMD of apps/jobs/Dockerfile, run by distroless node). */
export const RETENTION_COMMAND = ["/nodejs/bin/node", "dist/apps/jobs/src/retention.js"];
export type RetentionEnv = EnvName<typeof retentionConfigSchema>;
