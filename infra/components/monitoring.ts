// Metrics, alerts and dashboards: the Prometheus operator CRDs chart first,
// then kube-prometheus-stack with its own CRDs off. Prometheus selects our
// ServiceMonitors and PrometheusRules by one label, accepts remote writes (k6
// results), Grafana's admin password is generated into an existing Secret,
// and the repo's rule files become PrometheusRule objects. The rules are by
// job label, so they cover every service with a ServiceMonitor; dashboards
// are added by the component whose metrics they show (grafanaDashboard).
import { readFileSync } from "node:fs";
import path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import YAML from "yaml";
import { renderAlertmanagerConfig } from "../../alerting/alertmanager";
import { loadRuleFiles, withRunbookBaseUrl } from "../../alerting/rule-files";
import { CHARTS, chartSource } from "../charts";
import type { StackConfig } from "../config";
import { CHART_RESOURCES } from "./chart-resources";
import { ENVOY_METRICS_PORT, ENVOY_PROXY_LABELS } from "./ingress";
import { OPS_PORT, PROMETHEUS_SELECTOR } from "./labels";
import { LOKI_PORT } from "./logging";
import {
  GRAFANA_PODS,
  networkPolicy,
  nsSelector,
  type Peer,
  PROMETHEUS_PODS,
  platformNamespace,
  podsIn,
  tcp,
} from "./network";
import { podSecurity } from "./pod-security";
import { checksumAnnotations, secretChecksum } from "./secret-checksum";

export const KPS_RELEASE = "kube-prometheus-stack";
/** Service the chart creates for Prometheus (release name + "-prometheus"). */
export const PROMETHEUS_SERVICE = `${KPS_RELEASE}-prometheus`;
export const PROMETHEUS_PORT = 9090;
export const GRAFANA_SERVICE = `${KPS_RELEASE}-grafana`;
export const ALERTMANAGER_SECRET = "alertmanager-golive";
export const ALERTMANAGER_SERVICE = `${KPS_RELEASE}-alertmanager`;
export const ALERTMANAGER_PORT = 9093;
export const ALERTMANAGER_PODS = { "app.kubernetes.io/name": "alertmanager" };
export const GRAFANA_ADMIN_SECRET = "grafana-admin";

export function prometheusRemoteWriteUrl(monitoringNamespace: string): string {
  return `http://${PROMETHEUS_SERVICE}.${monitoringNamespace}.svc.cluster.local:${PROMETHEUS_PORT}/api/v1/write`;
}

/**
 * A Grafana dashboard (a JSON file of dashboards/) as the ConfigMap Grafana's
 * sidecar loads, in the monitoring namespace. Created by the component whose
 * metrics it shows; the alias is where it lived before (Monitoring).
 */
export function grafanaDashboard(
  parent: pulumi.Resource,
  monitoringNamespace: string,
  file: string,
  /** The dashboard's JSON when it is generated rather than read from `file` (its name still names the ConfigMap). */
  json?: string,
): void {
  const cmName = `dashboard-${objectName(path.basename(file, ".json"))}`;
  new k8s.core.v1.ConfigMap(
    cmName,
    {
      metadata: { name: cmName, namespace: monitoringNamespace, labels: { grafana_dashboard: "1" } },
      data: { [path.basename(file)]: json ?? readFileSync(file, "utf8") },
    },
    { parent, aliases: [{ parent: pulumi.createUrn("monitoring", "golive:observability:Monitoring") }] },
  );
}

/** Kubernetes object names: lowercase alphanumerics and dashes. */
export function objectName(file: string): string {
  return file
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "");
}

/** A volumeClaimTemplate for an operator-managed StatefulSet (Prometheus, Alertmanager). */
function claimTemplate(sizeGi: number, storageClassName?: string) {
  return {
    volumeClaimTemplate: {
      spec: {
        accessModes: ["ReadWriteOnce"],
        resources: { requests: { storage: `${sizeGi}Gi` } },
        ...(storageClassName ? { storageClassName } : {}),
      },
    },
  };
}

export interface MonitoringArgs {
  namespace: string;
  /** Namespace whose Loki backs the Grafana "Loki" datasource. */
  lokiUrl: string;
  /** Jaeger's query API: the "Jaeger" datasource, linked from logs and exemplars. */
  jaegerUrl: string;
  config: StackConfig;
  rulesDir: string;
  /** Where Prometheus and Grafana reach out to, and who may remote-write (the drill's k6). */
  network: { appNamespace: string; loggingNamespace: string; edgeNamespace: string; remoteWriters: Peer[] };
}

export class Monitoring extends pulumi.ComponentResource {
  readonly grafanaService = GRAFANA_SERVICE;
  readonly prometheusService = PROMETHEUS_SERVICE;
  readonly release: k8s.helm.v3.Release;
  /** The Prometheus operator CRDs: whatever creates a ServiceMonitor or PrometheusRule depends on it. */
  readonly crds: k8s.helm.v3.Release;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("golive:observability:Monitoring", name, {}, opts);
    const { namespace, config } = args;

    const crds = new k8s.helm.v3.Release(
      "prometheus-operator-crds",
      {
        name: "prometheus-operator-crds",
        namespace,
        ...chartSource(CHARTS.prometheusOperatorCrds, config.charts.mirror),
        values: {},
      },
      { parent: this },
    );
    this.crds = crds;
    const { grafanaAdmin, grafanaAdminData } = grafanaAdminSecret(this, args);
    const alertmanagerConfig = alertmanagerSecret(this, args);
    this.release = new k8s.helm.v3.Release(
      KPS_RELEASE,
      {
        name: KPS_RELEASE,
        namespace,
        ...chartSource(CHARTS.kubePrometheusStack, config.charts.mirror),
        skipCrds: true,
        values: {
          crds: { enabled: false },
          // Every object the chart creates carries our selector label, so its own
          // ServiceMonitors and rules are picked up by the same selectors as ours.
          commonLabels: { ...PROMETHEUS_SELECTOR },
          // node-exporter needs hostNetwork/hostPID, which "restricted" forbids.
          nodeExporter: { enabled: false },
          // Control-plane targets: managed clusters do not expose them, and the
          // Prometheus egress policy does not reach them; scraping them would
          // only keep TargetDown and the *Down alerts firing. Their alert
          // groups follow these switches in the chart.
          kubeScheduler: { enabled: false },
          kubeControllerManager: { enabled: false },
          kubeEtcd: { enabled: false },
          kubeProxy: { enabled: false },
          coreDns: { enabled: false },
          kubeDns: { enabled: false },
          // Subcharts do not take commonLabels: their ServiceMonitors need the
          // selector label themselves, or nothing scrapes them.
          "kube-state-metrics": {
            prometheus: { monitor: { additionalLabels: { ...PROMETHEUS_SELECTOR } } },
            resources: CHART_RESOURCES.kubeStateMetrics,
          },
          prometheusOperator: {
            resources: CHART_RESOURCES.prometheusOperator,
            admissionWebhooks: { patch: { resources: CHART_RESOURCES.hookJob } },
          },
          prometheus: prometheusValues(config),
          alertmanager: alertmanagerValues(config),
          grafana: grafanaValues(args, grafanaAdminData),
        },
      },
      { parent: this, dependsOn: [crds, grafanaAdmin, alertmanagerConfig] },
    );
    platformRules(this, args, crds);
    monitoringPolicies(this, args);
    this.registerOutputs({ grafanaService: this.grafanaService });
  }
}

/** Grafana's admin login, generated (and rotated by golive:rotation.grafana) into a Secret the chart reads. */
function grafanaAdminSecret(parent: pulumi.Resource, { namespace, config }: MonitoringArgs) {
  const grafanaPassword = new random.RandomPassword(
    "grafana-admin",
    { length: 24, special: false, keepers: { rotation: config.rotation.grafana } },
    { parent },
  );
  const grafanaAdminData = { "admin-user": "admin", "admin-password": grafanaPassword.result };
  const grafanaAdmin = new k8s.core.v1.Secret(
    GRAFANA_ADMIN_SECRET,
    {
      metadata: { name: GRAFANA_ADMIN_SECRET, namespace },
      type: "Opaque",
      stringData: grafanaAdminData,
    },
    { parent },
  );

  return { grafanaAdmin, grafanaAdminData };
}

function alertmanagerSecret(parent: pulumi.Resource, { namespace, config }: MonitoringArgs) {
  // Receivers carry webhook URLs and keys, so the whole file is a secret.
  const alertmanagerYaml = pulumi.secret(YAML.stringify(renderAlertmanagerConfig(config.alerting)));
  return new k8s.core.v1.Secret(
    ALERTMANAGER_SECRET,
    {
      metadata: { name: ALERTMANAGER_SECRET, namespace },
      type: "Opaque",
      stringData: { "alertmanager.yaml": alertmanagerYaml },
    },
    { parent },
  );
}

const selector = { matchLabels: { ...PROMETHEUS_SELECTOR } };
const restrictedPod = podSecurity(65534);

function prometheusValues(config: StackConfig) {
  return {
    prometheusSpec: {
      enableRemoteWriteReceiver: true,
      // Keeps the services' exemplars (trace ids on latency buckets).
      enableFeatures: ["exemplar-storage"],
      retention: `${config.retention.metricsDays}d`,
      serviceMonitorSelectorNilUsesHelmValues: false,
      serviceMonitorSelector: selector,
      serviceMonitorNamespaceSelector: {},
      podMonitorSelectorNilUsesHelmValues: false,
      podMonitorSelector: selector,
      podMonitorNamespaceSelector: {},
      probeSelectorNilUsesHelmValues: false,
      probeSelector: selector,
      probeNamespaceSelector: {},
      ruleSelectorNilUsesHelmValues: false,
      ruleSelector: selector,
      ruleNamespaceSelector: {},
      securityContext: restrictedPod,
      resources: CHART_RESOURCES.prometheus,
      // The retention window survives a pod moving to another node.
      storageSpec: claimTemplate(config.monitoring.prometheusStorageGi, config.monitoring.storageClassName),
    },
  };
}

function alertmanagerValues(config: StackConfig) {
  return {
    alertmanagerSpec: {
      useExistingSecret: true,
      configSecret: ALERTMANAGER_SECRET,
      securityContext: restrictedPod,
      resources: CHART_RESOURCES.alertmanager,
      // Silences and the notification log survive a restart.
      storage: claimTemplate(config.monitoring.alertmanagerStorageGi, config.monitoring.storageClassName),
    },
  };
}

function grafanaValues(args: MonitoringArgs, grafanaAdminData: Record<string, pulumi.Input<string>>) {
  return {
    // Rolls Grafana when the admin password rotates. The chart keeps no
    // persistent volume, so the new pod starts with a fresh database and
    // takes the new password (Grafana applies it only on first start).
    podAnnotations: checksumAnnotations(secretChecksum(grafanaAdminData)),
    resources: CHART_RESOURCES.grafana,
    serviceMonitor: { labels: { ...PROMETHEUS_SELECTOR } },
    admin: {
      existingSecret: GRAFANA_ADMIN_SECRET,
      userKey: "admin-user",
      passwordKey: "admin-password",
    },
    sidecar: {
      resources: CHART_RESOURCES.sidecar,
      // An exemplar on a latency panel opens its trace in Jaeger.
      datasources: {
        exemplarTraceIdDestinations: {
          datasourceUid: "jaeger",
          traceIdLabelName: "trace_id",
          urlDisplayLabel: "Open the trace",
        },
      },
      dashboards: {
        enabled: true,
        label: "grafana_dashboard",
        labelValue: "1",
        searchNamespace: "ALL",
      },
    },
    additionalDataSources: grafanaDataSources(args),
  };
}

/** Loki and Jaeger beside Prometheus, linked both ways by trace id. */
function grafanaDataSources(args: MonitoringArgs) {
  return [
    {
      name: "Loki",
      type: "loki",
      uid: "loki",
      access: "proxy",
      url: args.lokiUrl,
      isDefault: false,
      // A log line's trace_id opens its trace.
      jsonData: {
        derivedFields: [
          {
            name: "trace_id",
            matcherRegex: '"trace_id":"([0-9a-f]{32})"',
            datasourceUid: "jaeger",
            url: "$${__value.raw}",
          },
        ],
      },
    },
    {
      name: "Jaeger",
      type: "jaeger",
      uid: "jaeger",
      access: "proxy",
      url: args.jaegerUrl,
      isDefault: false,
      // A span opens the log lines of its trace.
      jsonData: {
        tracesToLogsV2: {
          datasourceUid: "loki",
          filterByTraceID: true,
          spanStartTimeShift: "-5m",
          spanEndTimeShift: "5m",
          customQuery: true,
          query: '{namespace=~".+"} |= "$${__trace.traceId}"',
        },
      },
    },
  ];
}

/** The platform's rule files (alerting/rules), one PrometheusRule each; services bring their own. */
function platformRules(
  parent: pulumi.Resource,
  { namespace, config, rulesDir }: MonitoringArgs,
  crds: pulumi.Resource,
) {
  for (const ruleFile of loadRuleFiles(rulesDir)) {
    const ruleName = `golive-${objectName(ruleFile.name)}`;
    new k8s.apiextensions.CustomResource(
      ruleName,
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PrometheusRule",
        metadata: { name: ruleName, namespace, labels: { ...PROMETHEUS_SELECTOR } },
        spec: { groups: withRunbookBaseUrl(ruleFile.groups, config.runbookBaseUrl) },
      },
      { parent, dependsOn: [crds] },
    );
  }
}

function monitoringPolicies(parent: pulumi.Resource, { namespace, config, network: net }: MonitoringArgs) {
  platformNamespace(parent, namespace, config.apiServerCidr);
  networkPolicy(parent, "prometheus-egress", namespace, PROMETHEUS_PODS, {
    egress: [
      { to: [{ podSelector: {}, ...nsSelector(net.appNamespace) }], ports: tcp(OPS_PORT) },
      // Loki's own metrics (LokiRequestErrors).
      { to: [podsIn(net.loggingNamespace, { "app.kubernetes.io/name": "loki" })], ports: tcp(LOKI_PORT) },
      // Envoy's stats (requests, WAF blocks, 429s).
      { to: [podsIn(net.edgeNamespace, ENVOY_PROXY_LABELS)], ports: tcp(ENVOY_METRICS_PORT) },
      // kubelet/cAdvisor metrics on the nodes.
      { to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: tcp(10250) },
    ],
  });
  networkPolicy(parent, "prometheus-remote-write", namespace, PROMETHEUS_PODS, {
    ingress: [{ from: net.remoteWriters, ports: tcp(PROMETHEUS_PORT) }],
  });
  networkPolicy(parent, "grafana-to-loki", namespace, GRAFANA_PODS, {
    egress: [{ to: [nsSelector(net.loggingNamespace)], ports: tcp(LOKI_PORT) }],
  });
  networkPolicy(parent, "alertmanager-receivers", namespace, ALERTMANAGER_PODS, {
    egress: [{ to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: tcp(443) }],
  });
}
