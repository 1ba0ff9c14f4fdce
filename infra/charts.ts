// Every Helm chart the program installs, pinned to a version that exists in
// the named upstream repository. Bump them here, deliberately, one at a time;
// docs/infra.md says why each one is where it is.
export interface ChartPin {
  chart: string;
  version: string;
  /** Classic Helm repository URL; absent for OCI charts (the chart is then an oci:// URL). */
  repo?: string;
}

export const CHARTS = {
  /** Prometheus operator CRDs, installed first so kube-prometheus-stack runs with its CRDs off. */
  prometheusOperatorCrds: {
    chart: "prometheus-operator-crds",
    version: "31.0.1",
    repo: "https://prometheus-community.github.io/helm-charts",
  },
  kubePrometheusStack: {
    chart: "kube-prometheus-stack",
    version: "88.1.3",
    repo: "https://prometheus-community.github.io/helm-charts",
  },
  /** Loki moved to the community repository in March 2026; 6.56.1 is an OSS release there. */
  loki: { chart: "loki", version: "6.56.1", repo: "https://grafana-community.github.io/helm-charts" },
  /** Grafana Alloy replaces Promtail (end of life); its chart stays in Grafana's repository. */
  alloy: { chart: "alloy", version: "1.9.0", repo: "https://grafana.github.io/helm-charts" },
  /** Gateway API v1.6.1 and Envoy Gateway CRDs ship with this chart (infra/schemas mirrors them). */
  envoyGateway: { chart: "oci://docker.io/envoyproxy/gateway-helm", version: "v1.9.0" },
  /** Installed through @pulumi/kubernetes-cert-manager, which wraps this chart. */
  certManager: { chart: "cert-manager", version: "v1.19.4", repo: "https://charts.jetstack.io" },
} as const satisfies Record<string, ChartPin>;
