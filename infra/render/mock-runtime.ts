// Runs the Pulumi program in-process with mocks and records what it registers,
// so the render command and the tests see the exact objects `pulumi up` would
// send to the Kubernetes provider, without a cluster, the CLI or plugins.
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";

export interface Registered {
  type: string;
  name: string;
  custom: boolean;
  inputs: Record<string, unknown>;
  /** Logical names of the resources this one dependsOn (explicitly or through inputs). */
  dependsOn: string[];
  parent?: string;
  /** Former URNs this resource answers to (its aliases), as URNs or alias specs. */
  aliases: string[];
  /** Input paths an update leaves as they are live (the ignoreChanges option). */
  ignoreChanges: string[];
}

/** A rendered Kubernetes object, or a Helm release shown as its release object. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
  [key: string]: unknown;
}

export const SECRET_SIG = "4dabf18193072939515e22adb298388d";
export const REDACTED = "(secret: set at deploy time)";

/** Secrets come through the mock as signature-wrapped values; show them redacted. */
export function unwrapSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (obj[SECRET_SIG] === "1b47061264138c4ac30d75fd1eb44270") return redactLeaves(obj.value);
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
}

/** Keeps the shape (a Secret's stringData stays a map) while hiding every value. */
function redactLeaves(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactLeaves);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactLeaves(unwrapSecrets(v))]));
  }
  return REDACTED;
}

const nameOfUrn = (urn: string) => urn.split("::").pop() ?? urn;

export interface RunResult<T> {
  value: T;
  resources: Registered[];
}

/**
 * Installs mocks for `stack`, sets its config, runs `program` and waits until
 * every registration settled. Config keys are namespaced (`golive:images`).
 */
export async function runWithMocks<T>(
  stack: string,
  config: Record<string, string>,
  program: () => T,
  secretKeys: string[] = [],
): Promise<RunResult<T>> {
  const resources: Registered[] = [];
  const byUrnMeta = new Map<
    string,
    { deps: string[]; parent?: string; aliases: string[]; ignoreChanges: string[] }
  >();
  pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs) {
        const meta = byUrnMeta.get(`${args.type}::${args.name}`);
        resources.push({
          type: args.type,
          name: args.name,
          custom: args.custom ?? false,
          inputs: unwrapSecrets(args.inputs) as Record<string, unknown>,
          dependsOn: meta?.deps ?? [],
          parent: meta?.parent,
          aliases: meta?.aliases ?? [],
          ignoreChanges: meta?.ignoreChanges ?? [],
        });
        const state: Record<string, unknown> = { ...args.inputs };
        if (args.type === "random:index/randomPassword:RandomPassword") {
          // Like the real provider, a new keeper means a new value: derive the
          // mock password from the keepers so rotation is visible downstream.
          const keepers = JSON.stringify(unwrapSecrets(args.inputs.keepers ?? {}));
          state.result = `mock-${args.name}-${createHash("sha256").update(keepers).digest("hex").slice(0, 16)}`;
        }
        return { id: `${args.name}-id`, state };
      },
      call(args: pulumi.runtime.MockCallArgs) {
        return args.inputs;
      },
    },
    "golive",
    stack,
    false,
  );
  // The mock monitor hides dependencies and options from newResource; record them on the way in.
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(req: RegisterRequest, cb: unknown): void;
  };
  const original = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: RegisterRequest, cb: unknown) => {
    const parent = req.getParent();
    byUrnMeta.set(`${req.getType()}::${req.getName()}`, {
      deps: req.getDependenciesList().map(nameOfUrn),
      parent: parent ? nameOfUrn(parent) : undefined,
      aliases: [
        ...(req.getAliasurnsList?.() ?? []),
        ...(req.getAliasesList?.() ?? []).map((a) => JSON.stringify(a.toObject())),
      ],
      ignoreChanges: req.getIgnorechangesList(),
    });
    original(req, cb);
  };
  pulumi.runtime.setAllConfig(config, secretKeys);
  const value = program();
  await pulumi.runtime.disconnect();
  // Outputs resolved after the last registration may still be settling.
  await new Promise((resolve) => setTimeout(resolve, 10));
  return { value, resources };
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getDependenciesList(): string[];
  getAliasurnsList?(): string[];
  getAliasesList?(): { toObject(): unknown }[];
  getIgnorechangesList(): string[];
}

/** Kubernetes objects as they would be applied; Helm releases as release objects with their values. */
export function toObjects(resources: Registered[]): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const r of resources) {
    if (r.type === "kubernetes:helm.sh/v3:Release") {
      const i = r.inputs as Record<string, unknown>;
      objects.push({
        apiVersion: "helm.sh/v3",
        kind: "Release",
        metadata: { name: String(i.name ?? r.name), namespace: i.namespace as string | undefined },
        spec: {
          chart: i.chart,
          version: i.version,
          repositoryOpts: i.repositoryOpts,
          skipCrds: i.skipCrds ?? false,
          values: i.values ?? {},
        },
      });
    } else if (r.type.startsWith("kubernetes:") && typeof r.inputs.kind === "string") {
      objects.push(r.inputs as unknown as K8sObject);
    }
  }
  return objects;
}
