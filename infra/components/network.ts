// NetworkPolicy building blocks. Every namespace starts from default deny and
// DNS (network-policies.ts); each component then adds the policies for its own
// pods' flows, the way kube-prometheus components ship theirs, so a new
// service brings its policies with it and nothing central needs editing.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

export type Rule = k8s.types.input.networking.v1.NetworkPolicyIngressRule;
export type EgressRule = k8s.types.input.networking.v1.NetworkPolicyEgressRule;
export type Peer = k8s.types.input.networking.v1.NetworkPolicyPeer;

export const API_SERVER_PORTS = [443, 6443];

export const nsSelector = (name: string): Peer => ({
  namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": name } },
});
export const podsIn = (ns: string, labels: Record<string, string>): Peer => ({
  ...nsSelector(ns),
  podSelector: { matchLabels: labels },
});
export const tcp = (...ports: number[]) => ports.map((port) => ({ protocol: "TCP", port }));

/** Pod labels of the platform pods other components name as peers. */
export const PROMETHEUS_PODS = { "app.kubernetes.io/name": "prometheus" };
export const GRAFANA_PODS = { "app.kubernetes.io/name": "grafana" };

// Every policy below once hung under one central component. Pointing each at
// its former place keeps existing stacks from deleting and recreating it (a
// moment with no allow rule under default deny) when its parent changed.
// Built per call: the stack's name is only known once the program runs.
const formerParent = () => pulumi.createUrn("network-policies", "golive:security:NetworkPolicies");

export interface PolicySpec {
  ingress?: Rule[];
  egress?: EgressRule[];
}

/** A NetworkPolicy named `policyName` for the pods `podSelector` picks in `namespace`. */
export function networkPolicy(
  parent: pulumi.Resource,
  policyName: string,
  namespace: string,
  podSelector: Record<string, string>,
  spec: PolicySpec,
): k8s.networking.v1.NetworkPolicy {
  return new k8s.networking.v1.NetworkPolicy(
    `${namespace}-${policyName}`,
    {
      metadata: { name: policyName, namespace },
      spec: {
        podSelector: { matchLabels: podSelector },
        policyTypes: [...(spec.ingress ? ["Ingress"] : []), ...(spec.egress ? ["Egress"] : [])],
        ingress: spec.ingress,
        egress: spec.egress,
      },
    },
    { parent, aliases: [{ parent: formerParent() }] },
  );
}

/**
 * For a namespace that holds charts we do not template ourselves: its own pods
 * talk freely and may reach the API server; cross-namespace flows are added
 * by the component that owns the namespace.
 */
export function platformNamespace(parent: pulumi.Resource, namespace: string, apiServerCidr: string): void {
  networkPolicy(
    parent,
    "allow-same-namespace",
    namespace,
    {},
    { ingress: [{ from: [{ podSelector: {} }] }], egress: [{ to: [{ podSelector: {} }] }] },
  );
  networkPolicy(
    parent,
    "allow-api-server",
    namespace,
    {},
    { egress: [{ to: [{ ipBlock: { cidr: apiServerCidr } }], ports: tcp(...API_SERVER_PORTS) }] },
  );
}
