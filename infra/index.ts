// Pulumi entry point (Pulumi.yaml: main: infra/). Config is parsed before any
// resource is registered; the stack's parts are listed in stack.ts.
import { loadStackConfig } from "./config";
import { goLiveStack } from "./stack";

const outputs = goLiveStack(loadStackConfig());

export const namespaces = outputs.namespaces;
export const gatewayUrl = outputs.gatewayUrl;
export const grafanaPortForward = outputs.grafanaPortForward;
export const loadTestTrigger = outputs.loadTestTrigger;
export const feedAddress = outputs.feedAddress;
