// Traces: an OpenTelemetry Collector that the services export to (OTLP/HTTP)
// and that tail-samples (every sampled trace with an error or over the
// latency SLO, a share of the rest) into Jaeger v2, which Grafana queries.
// The collector also takes OTLP metrics into Prometheus (remote write), and
// its own metrics are scraped for the tracing alerts. docs/tracing.md has the
// design and the trade-offs (Jaeger over Tempo, in-memory storage).
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { CHARTS, chartSource } from "../charts";
import type { StackConfig } from "../config";
import { CHART_RESOURCES } from "./chart-resources";
import { PROMETHEUS_SELECTOR } from "./labels";
import { grafanaDashboard } from "./monitoring";
import { networkPolicy, type Peer, tcp } from "./network";
import { containerSecurity, podSecurity } from "./pod-security";

export const OTEL_COLLECTOR = "otel-collector";
export const OTLP_HTTP_PORT = 4318;
export const COLLECTOR_PODS = { "app.kubernetes.io/name": "opentelemetry-collector" };
export const JAEGER = "jaeger";
export const JAEGER_QUERY_PORT = 16686;
/** The collector image's own user (the contrib image runs as 10001). */
const OTEL_UID = 10001;
const JAEGER_UID = 10001;

export interface TracingArgs {
  namespace: string;
  config: StackConfig;
  /** Where Prometheus takes remote writes (the collector's metrics pipeline). */
  remoteWriteUrl: string;
  /** Who may send spans: the services' pods. */
  senders: Peer[];
  /** What installs the ServiceMonitor kind. */
  monitoringCrds: pulumi.Resource;
  /** dashboards/tracing.json: the pipeline's own dashboard. */
  dashboardFile: string;
}

/** Jaeger's query API inside the cluster (Grafana's Jaeger datasource). */
export function jaegerQueryUrl(namespace: string): string {
  return `http://${JAEGER}.${namespace}.svc.cluster.local:${JAEGER_QUERY_PORT}`;
}

export class Tracing extends pulumi.ComponentResource {
  /** OTEL_EXPORTER_OTLP_ENDPOINT for the services. */
  readonly otlpEndpoint: string;
  /** Jaeger's query API, for Grafana's datasource. */
  readonly jaegerUrl: string;

  constructor(name: string, args: TracingArgs, opts?: pulumi.ComponentResourceOptions) {
    super("golive:observability:Tracing", name, {}, opts);
    const { namespace, config } = args;
    this.otlpEndpoint = `http://${OTEL_COLLECTOR}.${namespace}.svc.cluster.local:${OTLP_HTTP_PORT}`;
    this.jaegerUrl = jaegerQueryUrl(namespace);

    const jaeger = new k8s.helm.v3.Release(
      JAEGER,
      {
        name: JAEGER,
        namespace,
        ...chartSource(CHARTS.jaeger, config.charts.mirror),
        values: jaegerValues(config),
      },
      { parent: this },
    );

    new k8s.helm.v3.Release(
      OTEL_COLLECTOR,
      {
        name: OTEL_COLLECTOR,
        namespace,
        ...chartSource(CHARTS.otelCollector, config.charts.mirror),
        values: collectorValues(namespace, config, args.remoteWriteUrl),
      },
      { parent: this, dependsOn: [jaeger, args.monitoringCrds] },
    );

    // The services' spans come in from the app namespace; everything else
    // (collector -> Jaeger, Grafana -> Jaeger, the scrape) stays inside the
    // monitoring namespace, which allows its own traffic.
    networkPolicy(this, "otel-collector-ingress", namespace, COLLECTOR_PODS, {
      ingress: [{ from: args.senders, ports: tcp(OTLP_HTTP_PORT) }],
    });
    grafanaDashboard(this, namespace, args.dashboardFile);
    this.registerOutputs({ otlpEndpoint: this.otlpEndpoint, jaegerUrl: this.jaegerUrl });
  }
}

/** Jaeger all-in-one, in-memory: traces are for debugging recent requests; a restart empties the store (docs/tracing.md). */
function jaegerValues(config: StackConfig) {
  const t = config.tracing;
  return {
    fullnameOverride: JAEGER,
    // All-in-one with in-memory storage: traces are for debugging recent
    // requests; a restart empties the store (docs/tracing.md).
    userconfig: {
      service: {
        extensions: ["jaeger_storage", "jaeger_query", "healthcheckv2"],
        pipelines: {
          traces: {
            receivers: ["otlp"],
            processors: ["batch"],
            exporters: ["jaeger_storage_exporter"],
          },
        },
        telemetry: {
          resource: { "service.name": JAEGER },
          metrics: {
            readers: [{ pull: { exporter: { prometheus: { host: "0.0.0.0", port: 8888 } } } }],
          },
        },
      },
      extensions: {
        healthcheckv2: { use_v2: true, http: { endpoint: "0.0.0.0:13133" } },
        jaeger_query: {
          storage: { traces: "memstore" },
          http: { endpoint: `0.0.0.0:${JAEGER_QUERY_PORT}` },
        },
        jaeger_storage: { backends: { memstore: { memory: { max_traces: t.maxTraces } } } },
      },
      receivers: { otlp: { protocols: { grpc: { endpoint: "0.0.0.0:4317" } } } },
      processors: { batch: {} },
      exporters: { jaeger_storage_exporter: { trace_storage: "memstore" } },
    },
    jaeger: {
      resources: CHART_RESOURCES.jaeger,
      podSecurityContext: podSecurity(JAEGER_UID),
      securityContext: containerSecurity(JAEGER_UID),
      serviceAccount: { automountServiceAccountToken: false },
    },
  };
}

/** The collector's whole configuration: OTLP in, tail sampling, Jaeger and Prometheus out. */
function collectorConfig(namespace: string, config: StackConfig, remoteWriteUrl: string) {
  const t = config.tracing;
  // The collector expands ${env:...} itself: the pod's IP, set by the chart.
  const podIp = ["$", "{env:MY_POD_IP}"].join("");
  return {
    extensions: { health_check: { endpoint: `${podIp}:13133` } },
    receivers: {
      otlp: { protocols: { http: { endpoint: `${podIp}:${OTLP_HTTP_PORT}` } } },
    },
    processors: {
      memory_limiter: { check_interval: "5s", limit_percentage: 80, spike_limit_percentage: 25 },
      // A trace is decided once its spans stop arriving for decision_wait.
      tail_sampling: {
        decision_wait: "10s",
        num_traces: 50_000,
        policies: [
          { name: "errors", type: "status_code", status_code: { status_codes: ["ERROR"] } },
          { name: "slow", type: "latency", latency: { threshold_ms: t.slowMs } },
          { name: "share", type: "probabilistic", probabilistic: { sampling_percentage: t.keepPercent } },
        ],
      },
      batch: {},
    },
    exporters: {
      otlp: { endpoint: `${JAEGER}.${namespace}.svc.cluster.local:4317`, tls: { insecure: true } },
      prometheusremotewrite: { endpoint: remoteWriteUrl },
    },
    service: {
      extensions: ["health_check"],
      telemetry: {
        metrics: {
          readers: [{ pull: { exporter: { prometheus: { host: podIp, port: 8888 } } } }],
        },
      },
      pipelines: {
        traces: {
          receivers: ["otlp"],
          processors: ["memory_limiter", "tail_sampling", "batch"],
          exporters: ["otlp"],
        },
        metrics: {
          receivers: ["otlp"],
          processors: ["memory_limiter", "batch"],
          exporters: ["prometheusremotewrite"],
        },
      },
    },
  };
}

function collectorValues(namespace: string, config: StackConfig, remoteWriteUrl: string) {
  const off = { enabled: false };
  return {
    fullnameOverride: OTEL_COLLECTOR,
    mode: "deployment",
    // The release the tracing tests build from source (tools/otelcol), so
    // the metric names the alerts read are the ones checked there.
    image: { repository: "otel/opentelemetry-collector-contrib", tag: "0.161.0" },
    command: { name: "otelcol-contrib" },
    // Our whole configuration, not merged with the chart's defaults (Jaeger/Zipkin receivers).
    alternateConfig: collectorConfig(namespace, config, remoteWriteUrl),
    ports: {
      otlp: off,
      "jaeger-compact": off,
      "jaeger-thrift": off,
      "jaeger-grpc": off,
      zipkin: off,
      metrics: { enabled: true },
    },
    serviceMonitor: {
      enabled: true,
      extraLabels: { ...PROMETHEUS_SELECTOR },
      metricsEndpoints: [{ port: "metrics", interval: "15s" }],
    },
    resources: CHART_RESOURCES.otelCollector,
    podSecurityContext: podSecurity(OTEL_UID),
    securityContext: containerSecurity(OTEL_UID),
  };
}
