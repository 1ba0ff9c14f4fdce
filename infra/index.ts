// Pulumi entry point (Pulumi.yaml: main: infra/). The stack's parts are
// listed in stack.ts; the same program runs inline in infra/deploy.ts.
import { program } from "./program";
import type { StackOutputs } from "./stack";

const outputs = program();

// Every output the program returns, exported by name (the CLI's stack outputs
// are this module's exports). The record type makes a forgotten one a compile
// error; infra/test/contract.test.ts checks the exports at run time too.
const exported: { [K in keyof StackOutputs]: StackOutputs[K] } = {
  namespaces: outputs.namespaces,
  gatewayUrl: outputs.gatewayUrl,
  grafanaPortForward: outputs.grafanaPortForward,
  loadTestTrigger: outputs.loadTestTrigger,
  preflightTrigger: outputs.preflightTrigger,
  feedAddress: outputs.feedAddress,
  images: outputs.images,
};

export const {
  namespaces,
  gatewayUrl,
  grafanaPortForward,
  loadTestTrigger,
  preflightTrigger,
  feedAddress,
  images,
} = exported;
