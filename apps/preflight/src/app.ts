// The go-live preflight image as infra lists it; infra/components/preflight.ts runs it.
import type { JobAppDescriptor } from "@golive/shared/app-descriptor";

export const preflightApp: JobAppDescriptor = {
  kind: "job",
  name: "preflight",
  image: {
    dockerfile: "apps/preflight/Dockerfile",
    about: ["Image for the go-live preflight Job (dist/main.js): infra/components/preflight.ts."],
    cmd: "main.js",
  },
};
