// Pulumi entry point (Pulumi.yaml: main: infra/). The stack's parts are
// listed in stack.ts; the same program runs inline in infra/deploy.ts.
import { program } from "./program";

const outputs = program();

export const namespaces = outputs.namespaces;
export const gatewayUrl = outputs.gatewayUrl;
export const grafanaPortForward = outputs.grafanaPortForward;
export const loadTestTrigger = outputs.loadTestTrigger;
export const feedAddress = outputs.feedAddress;
