// The jobs image (retention) as infra lists it; infra/components/retention.ts runs it.
import type { JobAppDescriptor } from "@golive/shared/app-descriptor";

export const jobsApp: JobAppDescriptor = {
  kind: "job",
  name: "jobs",
  image: { dockerfile: "apps/jobs/Dockerfile" },
};
