// Default deny in every namespace we own, then only the flows the design
// needs: edge -> gateway -> feed -> Postgres, DNS, Prometheus scraping the ops
// port and Envoy's stats, the backup and retention jobs -> Postgres, log
// shipping to Loki, k6 to the edge, the feed and Prometheus' remote write, and
// the chaos step to the API server. Platform namespaces (charts we do not
// template ourselves) allow traffic inside themselves plus the
// cross-namespace flows they need.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config";
import { POSTGRES_PORT } from "./database";
import { ENVOY_HTTPS_PORT, ENVOY_METRICS_PORT, ENVOY_PROXY_LABELS } from "./ingress";
import { OPS_PORT } from "./labels";
import { LOKI_PORT } from "./logging";
import { PROMETHEUS_PORT } from "./monitoring";
import type { NamespaceNames, NamespaceRole } from "./namespaces";

type Rule = k8s.types.input.networking.v1.NetworkPolicyIngressRule;
type EgressRule = k8s.types.input.networking.v1.NetworkPolicyEgressRule;
type Peer = k8s.types.input.networking.v1.NetworkPolicyPeer;

const nsSelector = (name: string): Peer => ({
  namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": name } },
});
const podsIn = (ns: string, labels: Record<string, string>): Peer => ({
  ...nsSelector(ns),
  podSelector: { matchLabels: labels },
});
const tcp = (...ports: number[]) => ports.map((port) => ({ protocol: "TCP", port }));

export const API_SERVER_PORTS = [443, 6443];

export interface NetworkPoliciesArgs {
  names: NamespaceNames;
  config: StackConfig;
  feedLabels: Record<string, string>;
  gatewayLabels: Record<string, string>;
  postgresLabels?: Record<string, string>;
  migrationsLabels: Record<string, string>;
  /** The backup and retention CronJobs' pods: database clients like the feed. */
  backupLabels: Record<string, string>;
  retentionLabels: Record<string, string>;
  loadtestLabels: Record<string, string>;
}

export class NetworkPolicies extends pulumi.ComponentResource {
  constructor(name: string, args: NetworkPoliciesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("golive:security:NetworkPolicies", name, {}, opts);
    const { names, config } = args;
    const policy = (
      policyName: string,
      namespace: string,
      podSelector: Record<string, string>,
      spec: { ingress?: Rule[]; egress?: EgressRule[] },
    ) =>
      new k8s.networking.v1.NetworkPolicy(
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
        { parent: this },
      );

    for (const role of Object.keys(names) as NamespaceRole[]) {
      const ns = names[role];
      new k8s.networking.v1.NetworkPolicy(
        `${ns}-default-deny`,
        {
          metadata: { name: "default-deny", namespace: ns },
          spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
        },
        { parent: this },
      );
      // Every pod may resolve names through the cluster DNS.
      policy(
        "allow-dns",
        ns,
        {},
        {
          egress: [
            {
              to: [{ ...nsSelector("kube-system"), podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }],
              ports: [
                { protocol: "UDP", port: 53 },
                { protocol: "TCP", port: 53 },
              ],
            },
          ],
        },
      );
    }

    const app = names.app;
    const prometheus = podsIn(names.monitoring, { "app.kubernetes.io/name": "prometheus" });
    const k6 = podsIn(names.loadtest, args.loadtestLabels);
    const envoy = podsIn(names.gateway, ENVOY_PROXY_LABELS);

    // App namespace: the request path and the scrape, nothing else.
    policy("gateway-ingress", app, args.gatewayLabels, {
      ingress: [
        { from: [envoy], ports: tcp(8080) },
        { from: [prometheus], ports: tcp(OPS_PORT) },
      ],
    });
    policy("gateway-egress", app, args.gatewayLabels, {
      egress: [{ to: [{ podSelector: { matchLabels: args.feedLabels } }], ports: tcp(50051) }],
    });
    policy("feed-ingress", app, args.feedLabels, {
      ingress: [
        { from: [{ podSelector: { matchLabels: args.gatewayLabels } }, k6], ports: tcp(50051) },
        { from: [prometheus], ports: tcp(OPS_PORT) },
      ],
    });
    const dbPeer: Peer = args.postgresLabels
      ? { podSelector: { matchLabels: args.postgresLabels } }
      : { ipBlock: { cidr: config.database.mode === "external" ? config.database.cidr : "0.0.0.0/0" } };
    policy("feed-egress", app, args.feedLabels, { egress: [{ to: [dbPeer], ports: tcp(POSTGRES_PORT) }] });
    policy("migrations-egress", app, args.migrationsLabels, {
      egress: [{ to: [dbPeer], ports: tcp(POSTGRES_PORT) }],
    });
    const offsite = config.backup.offsite;
    policy("backup-egress", app, args.backupLabels, {
      egress: [
        { to: [dbPeer], ports: tcp(POSTGRES_PORT) },
        // The off-site bucket's S3 API (HTTPS only).
        ...(offsite ? [{ to: [{ ipBlock: { cidr: offsite.cidr } }], ports: tcp(443) }] : []),
      ],
    });
    policy("retention-egress", app, args.retentionLabels, {
      egress: [{ to: [dbPeer], ports: tcp(POSTGRES_PORT) }],
    });
    if (args.postgresLabels) {
      policy("postgres-ingress", app, args.postgresLabels, {
        ingress: [
          {
            from: [args.feedLabels, args.migrationsLabels, args.backupLabels, args.retentionLabels].map(
              (labels) => ({ podSelector: { matchLabels: labels } }),
            ),
            ports: tcp(POSTGRES_PORT),
          },
        ],
      });
    }

    // Load test namespace: k6 to the edge (as users come in), the feed's gRPC
    // port and Prometheus; chaos to the API server.
    policy("k6-egress", names.loadtest, args.loadtestLabels, {
      egress: [
        { to: [envoy], ports: tcp(ENVOY_HTTPS_PORT) },
        { to: [podsIn(app, args.feedLabels)], ports: tcp(50051) },
        { to: [prometheus], ports: tcp(PROMETHEUS_PORT) },
        { to: [{ ipBlock: { cidr: config.apiServerCidr } }], ports: tcp(...API_SERVER_PORTS) },
      ],
    });

    // Platform namespaces: their own pods talk freely; cross-namespace flows listed.
    for (const role of ["monitoring", "logging", "gateway", "certManager"] as const) {
      const ns = names[role];
      policy(
        "allow-same-namespace",
        ns,
        {},
        {
          ingress: [{ from: [{ podSelector: {} }] }],
          egress: [{ to: [{ podSelector: {} }] }],
        },
      );
      policy(
        "allow-api-server",
        ns,
        {},
        {
          egress: [{ to: [{ ipBlock: { cidr: config.apiServerCidr } }], ports: tcp(...API_SERVER_PORTS) }],
        },
      );
    }
    const mon = names.monitoring;
    policy(
      "prometheus-egress",
      mon,
      { "app.kubernetes.io/name": "prometheus" },
      {
        egress: [
          { to: [{ podSelector: {}, ...nsSelector(app) }], ports: tcp(OPS_PORT) },
          // Loki's own metrics (LokiRequestErrors).
          { to: [podsIn(names.logging, { "app.kubernetes.io/name": "loki" })], ports: tcp(LOKI_PORT) },
          // Envoy's stats (requests, WAF blocks, 429s).
          { to: [envoy], ports: tcp(ENVOY_METRICS_PORT) },
          // kubelet/cAdvisor metrics on the nodes.
          { to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: tcp(10250) },
        ],
      },
    );
    policy(
      "prometheus-remote-write",
      mon,
      { "app.kubernetes.io/name": "prometheus" },
      {
        ingress: [{ from: [k6], ports: tcp(PROMETHEUS_PORT) }],
      },
    );
    policy(
      "grafana-to-loki",
      mon,
      { "app.kubernetes.io/name": "grafana" },
      {
        egress: [{ to: [nsSelector(names.logging)], ports: tcp(LOKI_PORT) }],
      },
    );
    policy(
      "alertmanager-receivers",
      mon,
      { "app.kubernetes.io/name": "alertmanager" },
      {
        egress: [{ to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: tcp(443) }],
      },
    );
    policy(
      "loki-ingress",
      names.logging,
      { "app.kubernetes.io/name": "loki" },
      {
        ingress: [
          {
            // Grafana queries logs; Prometheus scrapes /metrics on the same port.
            from: [
              podsIn(mon, { "app.kubernetes.io/name": "grafana" }),
              podsIn(mon, { "app.kubernetes.io/name": "prometheus" }),
            ],
            ports: tcp(LOKI_PORT),
          },
        ],
      },
    );
    const gw = names.gateway;
    policy("envoy-edge", gw, ENVOY_PROXY_LABELS, {
      // Envoy listens on unprivileged ports and the Service maps 80/443 onto them.
      ingress: [
        { ports: tcp(10080, 10443, 80, 443) },
        { from: [prometheus], ports: tcp(ENVOY_METRICS_PORT) },
      ],
      egress: [{ to: [podsIn(app, args.gatewayLabels)], ports: tcp(8080) }],
    });
    policy(
      "wasm-fetch",
      gw,
      {},
      {
        // The Coraza Wasm image is pulled from its OCI registry by Envoy Gateway.
        egress: [{ to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: tcp(443) }],
      },
    );
    policy(
      "cert-manager-acme-webhook",
      names.certManager,
      {},
      {
        // The API server calls the webhook; the controller reaches the ACME directory and the HTTP-01 path.
        ingress: [{ ports: tcp(10250) }],
        egress: [{ to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: tcp(443, 80) }],
      },
    );
    this.registerOutputs({});
  }
}
