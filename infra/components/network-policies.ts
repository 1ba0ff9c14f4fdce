// Default deny in every namespace we own, and name resolution through the
// cluster DNS. Nothing else: each component adds the policies for its own
// pods' flows (network.ts), so the allowed flows are read where the pods are
// defined: the request path in the workloads (infra/stack.ts), database
// clients in Database.admit and each client, the platform flows in
// Monitoring, Logging and Ingress, the drill's in LoadTest.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { NamespaceNames, NamespaceRole } from "./namespaces";
import { nsSelector } from "./network";

export class NetworkPolicies extends pulumi.ComponentResource {
  constructor(name: string, args: { names: NamespaceNames }, opts?: pulumi.ComponentResourceOptions) {
    super("golive:security:NetworkPolicies", name, {}, opts);
    for (const role of Object.keys(args.names) as NamespaceRole[]) {
      const ns = args.names[role];
      new k8s.networking.v1.NetworkPolicy(
        `${ns}-default-deny`,
        {
          metadata: { name: "default-deny", namespace: ns },
          spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
        },
        { parent: this },
      );
      new k8s.networking.v1.NetworkPolicy(
        `${ns}-allow-dns`,
        {
          metadata: { name: "allow-dns", namespace: ns },
          spec: {
            podSelector: { matchLabels: {} },
            policyTypes: ["Egress"],
            egress: [
              {
                to: [
                  { ...nsSelector("kube-system"), podSelector: { matchLabels: { "k8s-app": "kube-dns" } } },
                ],
                ports: [
                  { protocol: "UDP", port: 53 },
                  { protocol: "TCP", port: 53 },
                ],
              },
            ],
          },
        },
        { parent: this },
      );
    }
    this.registerOutputs({});
  }
}
