// Environment variables for an app's container, their names checked at
// compile time against what the app's config schema reads (the Env types in
// apps/*/src/contract.ts): a misspelt variable is a type error, not a
// setting the app silently ignores.
import type * as k8s from "@pulumi/kubernetes";

export type AppEnvVar<Name extends string> = k8s.types.input.core.v1.EnvVar & { name: Name };

export function appEnv<Name extends string>(vars: AppEnvVar<Name>[]): k8s.types.input.core.v1.EnvVar[] {
  return vars;
}
