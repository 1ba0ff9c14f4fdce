// The Pulumi program as a function: `pulumi up` through the CLI runs it from
// index.ts; the Automation API (infra/deploy.ts) runs it inline.
import { loadStackConfig } from "./config";
import { goLiveStack, type StackOutputs } from "./stack";

export function program(): StackOutputs {
  // Config is parsed before any resource is registered.
  return goLiveStack(loadStackConfig());
}
