// The jobs image (retention) as infra lists it; infra/components/retention.ts runs it.
import type { JobAppDescriptor } from "@golive/shared/app-descriptor";

export const jobsApp: JobAppDescriptor = {
  kind: "job",
  name: "jobs",
  image: {
    dockerfile: "apps/jobs/Dockerfile",
    about: ["Image for the GDPR/CCPA retention CronJob (dist/retention.js)."],
    notes: [
      "The backup CronJob does not use this image: it runs apps/jobs/src/backup.sh",
      "(mounted from a ConfigMap) in the stack's own postgres image",
      "(golive:images.postgres), so pg_dump is always the server's major version.",
    ],
    cmd: "retention.js",
  },
};
