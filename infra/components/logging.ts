// Logs: Loki in monolithic (SingleBinary) mode on a filesystem PVC with
// retention enforced by the compactor, and Grafana Alloy tailing pod logs
// through the Kubernetes API (loki.source.kubernetes), which needs no hostPath
// mounts and so runs under the "restricted" Pod Security profile.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { CHARTS, chartSource } from "../charts";
import { CHART_RESOURCES } from "./chart-resources";
import { PROMETHEUS_SELECTOR } from "./labels";
import { GRAFANA_PODS, networkPolicy, PROMETHEUS_PODS, platformNamespace, podsIn, tcp } from "./network";
import { containerSecurity, podSecurity } from "./pod-security";

export const LOKI_SERVICE = "loki";
export const LOKI_PORT = 3100;

export function lokiUrl(namespace: string): string {
  return `http://${LOKI_SERVICE}.${namespace}.svc.cluster.local:${LOKI_PORT}`;
}

/** Alloy pipeline: discover pods, keep useful labels, tail through the API, push to Loki. */
export function alloyConfig(lokiPushUrl: string): string {
  return `discovery.kubernetes "pods" {
  role = "pod"
}

discovery.relabel "pods" {
  targets = discovery.kubernetes.pods.targets
  rule {
    source_labels = ["__meta_kubernetes_namespace"]
    target_label  = "namespace"
  }
  rule {
    source_labels = ["__meta_kubernetes_pod_name"]
    target_label  = "pod"
  }
  rule {
    source_labels = ["__meta_kubernetes_pod_container_name"]
    target_label  = "container"
  }
  rule {
    source_labels = ["__meta_kubernetes_pod_label_app_kubernetes_io_name"]
    target_label  = "app"
  }
}

loki.source.kubernetes "pods" {
  targets    = discovery.relabel.pods.output
  forward_to = [loki.write.default.receiver]
}

loki.write "default" {
  endpoint {
    url = "${lokiPushUrl}"
  }
}
`;
}

export interface LoggingArgs {
  namespace: string;
  retentionDays: number;
  storageGi: number;
  /** golive:charts.mirror, when the charts come from a mirror. */
  chartMirror?: string;
  /** Where Grafana and Prometheus run: the only callers Loki admits from outside its namespace. */
  monitoringNamespace: string;
  apiServerCidr: string;
}

/** The uid of the loki image's own user (the chart's default). */
const LOKI_UID = 10001;
/** The uid of the `alloy` user in the Grafana Alloy image. */
const ALLOY_UID = 473;
/** Alloy keeps its write-ahead state here (the chart's alloy.storagePath). */
const ALLOY_STORAGE = "/tmp/alloy";

export class Logging extends pulumi.ComponentResource {
  readonly lokiUrl: string;

  constructor(name: string, args: LoggingArgs, opts?: pulumi.ComponentResourceOptions) {
    super("golive:observability:Logging", name, {}, opts);
    const { namespace } = args;
    this.lokiUrl = lokiUrl(namespace);

    const loki = new k8s.helm.v3.Release(
      "loki",
      {
        name: "loki",
        namespace,
        ...chartSource(CHARTS.loki, args.chartMirror),
        values: lokiValues(args),
      },
      { parent: this },
    );

    new k8s.helm.v3.Release(
      "alloy",
      {
        name: "alloy",
        namespace,
        ...chartSource(CHARTS.alloy, args.chartMirror),
        values: alloyValues(this.lokiUrl),
      },
      { parent: this, dependsOn: [loki] },
    );

    platformNamespace(this, args.namespace, args.apiServerCidr);
    networkPolicy(
      this,
      "loki-ingress",
      args.namespace,
      { "app.kubernetes.io/name": "loki" },
      {
        // Grafana queries logs; Prometheus scrapes /metrics on the same port.
        ingress: [
          {
            from: [
              podsIn(args.monitoringNamespace, GRAFANA_PODS),
              podsIn(args.monitoringNamespace, PROMETHEUS_PODS),
            ],
            ports: tcp(LOKI_PORT),
          },
        ],
      },
    );
    this.registerOutputs({ lokiUrl: this.lokiUrl });
  }
}

/** Loki as one binary on a volume, keeping logs for the stack's retention. */
function lokiValues(args: LoggingArgs) {
  return {
    fullnameOverride: LOKI_SERVICE,
    deploymentMode: "SingleBinary",
    loki: {
      // The namespace enforces "restricted": the chart's defaults lack the seccomp profile.
      podSecurityContext: { ...podSecurity(LOKI_UID), fsGroupChangePolicy: "OnRootMismatch" },
      containerSecurityContext: containerSecurity(LOKI_UID),
      auth_enabled: false,
      commonConfig: { replication_factor: 1 },
      storage: { type: "filesystem" },
      schemaConfig: {
        configs: [
          {
            from: "2024-04-01",
            store: "tsdb",
            object_store: "filesystem",
            schema: "v13",
            index: { prefix: "loki_index_", period: "24h" },
          },
        ],
      },
      limits_config: { retention_period: `${args.retentionDays * 24}h` },
      compactor: { retention_enabled: true, delete_request_store: "filesystem" },
    },
    singleBinary: {
      replicas: 1,
      persistence: { enabled: true, size: `${args.storageGi}Gi` },
      resources: CHART_RESOURCES.loki,
    },
    sidecar: { resources: CHART_RESOURCES.sidecar },
    // Scraped like everything else, so LokiRequestErrors can fire.
    monitoring: { serviceMonitor: { enabled: true, labels: { ...PROMETHEUS_SELECTOR } } },
    // SingleBinary: the scalable targets and the nginx gateway are not used.
    read: { replicas: 0 },
    write: { replicas: 0 },
    backend: { replicas: 0 },
    gateway: { enabled: false },
    chunksCache: { enabled: false },
    resultsCache: { enabled: false },
    lokiCanary: { enabled: false },
    test: { enabled: false },
  };
}

/** Alloy as a Deployment reading pod logs through the API server, pushing to Loki. */
function alloyValues(lokiUrl: string) {
  return {
    controller: {
      type: "deployment",
      replicas: 1,
      volumes: { extra: [{ name: "storage", emptyDir: { sizeLimit: "1Gi" } }] },
    },
    global: {
      // The chart sets no security context at all; "restricted" refuses such pods.
      podSecurityContext: podSecurity(ALLOY_UID),
    },
    alloy: {
      configMap: { create: true, content: alloyConfig(`${lokiUrl}/loki/api/v1/push`) },
      securityContext: containerSecurity(ALLOY_UID),
      resources: CHART_RESOURCES.alloy,
      // A read-only root: the write-ahead state goes to its own volume.
      storagePath: ALLOY_STORAGE,
      // Logs come through the API server, not from node files.
      mounts: {
        varlog: false,
        dockercontainers: false,
        extra: [{ name: "storage", mountPath: ALLOY_STORAGE }],
      },
    },
    configReloader: {
      securityContext: containerSecurity(ALLOY_UID),
      resources: CHART_RESOURCES.configReloader,
    },
    // The PodLogs CRD is not used (pods are discovered directly), and
    // Helm never deletes the CRDs it installs.
    crds: { create: false },
  };
}
