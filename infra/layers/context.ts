// What every layer of the stack (infra/stack.ts) builds on: the parsed stack
// config, the app list, the namespaces, and how a layer waits for them.
import path from "node:path";
import type { AppDescriptor } from "@golive/shared/app-descriptor";
import type * as pulumi from "@pulumi/pulumi";
import type { Namespaces } from "../components/namespaces";
import type { StackConfig } from "../config";

export const REPO_ROOT = path.resolve(__dirname, "../..");

export interface StackContext {
  config: StackConfig;
  apps: readonly AppDescriptor[];
  ns: Namespaces;
  /** Resource options that wait for the named namespaces (and their policies) to exist. */
  after(...roles: (keyof Namespaces["resources"])[]): pulumi.ComponentResourceOptions;
}
