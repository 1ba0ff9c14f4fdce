// The namespaces this stack owns, with Pod Security Admission labels. Ours
// enforce "restricted"; third-party controllers whose charts we cannot check
// offline enforce "baseline" and warn/audit against "restricted".
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { PART_OF } from "./labels";

export interface NamespaceNames {
  app: string;
  loadtest: string;
  monitoring: string;
  logging: string;
  gateway: string;
  certManager: string;
}

export type NamespaceRole = keyof NamespaceNames;

export function namespaceNames(environment: string): NamespaceNames {
  return {
    app: `golive-${environment}`,
    loadtest: `golive-${environment}-loadtest`,
    monitoring: "monitoring",
    logging: "logging",
    gateway: "envoy-gateway-system",
    certManager: "cert-manager",
  };
}

const ENFORCE: Record<NamespaceRole, "restricted" | "baseline"> = {
  app: "restricted",
  loadtest: "restricted",
  monitoring: "restricted",
  logging: "restricted",
  gateway: "baseline",
  certManager: "restricted",
};

export class Namespaces extends pulumi.ComponentResource {
  readonly names: NamespaceNames;
  readonly resources: Record<NamespaceRole, k8s.core.v1.Namespace>;

  constructor(name: string, args: { environment: string }, opts?: pulumi.ComponentResourceOptions) {
    super("golive:platform:Namespaces", name, {}, opts);
    this.names = namespaceNames(args.environment);
    const resources = {} as Record<NamespaceRole, k8s.core.v1.Namespace>;
    for (const role of Object.keys(this.names) as NamespaceRole[]) {
      const nsName = this.names[role];
      resources[role] = new k8s.core.v1.Namespace(
        nsName,
        {
          metadata: {
            name: nsName,
            labels: {
              "app.kubernetes.io/part-of": PART_OF,
              "golive.dev/role": role,
              "pod-security.kubernetes.io/enforce": ENFORCE[role],
              "pod-security.kubernetes.io/enforce-version": "latest",
              "pod-security.kubernetes.io/warn": "restricted",
              "pod-security.kubernetes.io/audit": "restricted",
            },
          },
        },
        { parent: this },
      );
    }
    this.resources = resources;
    this.registerOutputs({ names: this.names });
  }
}
