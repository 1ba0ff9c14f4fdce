// Every Helm chart the program installs, pinned to a version that exists in
// the named upstream repository. Bump them here, deliberately, one at a time;
// docs/infra.md says why each one is where it is.
import path from "node:path";

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
  certManager: { chart: "cert-manager", version: "v1.19.4", repo: "https://charts.jetstack.io" },
  /** The collector that tail-samples traces (contrib image: tail_sampling, prometheusremotewrite). */
  otelCollector: {
    chart: "opentelemetry-collector",
    version: "0.170.0",
    repo: "https://open-telemetry.github.io/opentelemetry-helm-charts",
  },
  /** Jaeger v2 (Apache-2.0; Tempo is AGPL-3.0): trace storage and query, docs/tracing.md says why. */
  jaeger: { chart: "jaeger", version: "4.11.1", repo: "https://jaegertracing.github.io/helm-charts" },
} as const satisfies Record<string, ChartPin>;

/** The chart's own name: the last path segment of an OCI reference. */
export function chartName(pin: ChartPin): string {
  return pin.chart.slice(pin.chart.lastIndexOf("/") + 1);
}

/** Where a mirror keeps a pinned chart: `<name>-<version>.tgz`, as `helm package` names it. */
export function mirrorArchive(mirrorDir: string, pin: ChartPin): string {
  return path.join(mirrorDir, `${chartName(pin)}-${pin.version}.tgz`);
}

/** The chart, version and repository fields of a helm.v3.Release. */
export interface ReleaseChart {
  chart: string;
  version?: string;
  repositoryOpts?: { repo: string };
}

/**
 * Where a Release gets its pinned chart: upstream by default; with a mirror
 * (`golive:charts.mirror`), from a local folder of packaged charts or from an
 * OCI registry that holds them under their own names. Air-gapped clusters
 * need this, and the real-engine tests use it with the charts in ../shared.
 */
export function chartSource(pin: ChartPin, mirror?: string): ReleaseChart {
  if (!mirror)
    return {
      chart: pin.chart,
      version: pin.version,
      ...(pin.repo ? { repositoryOpts: { repo: pin.repo } } : {}),
    };
  if (mirror.startsWith("oci://"))
    return { chart: `${mirror.replace(/\/+$/, "")}/${chartName(pin)}`, version: pin.version };
  // A packaged archive names its version; Helm takes a local path as is.
  return { chart: mirrorArchive(mirror, pin) };
}
