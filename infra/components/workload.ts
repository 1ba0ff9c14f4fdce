// One long-running service of ours (feed or gateway): Deployment, Service,
// optional headless Service for client-side gRPC balancing, HPA, PDB and a
// ServiceMonitor on the ops port, its dashboard and alert rules, and the
// NetworkPolicies for its own flows.
// The pod spec follows the Pod Security
// "restricted" profile with a read-only root and no service account token.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { RuleGroup } from "../../alerting/rule-files";
import type { Resources } from "../config";
import { appLabels, OPS_PORT, PROMETHEUS_SELECTOR } from "./labels";
import { grafanaDashboard } from "./monitoring";
import { networkPolicy, type PolicySpec } from "./network";
import { containerSecurity, podSecurity, tmpMount, tmpVolume } from "./pod-security";

type Probe = k8s.types.input.core.v1.Probe;
type EnvVar = k8s.types.input.core.v1.EnvVar;

export interface WorkloadPort {
  name: string;
  port: number;
}

export interface WorkloadProbes {
  startup: Probe;
  liveness: Probe;
  readiness: Probe;
}

export interface WorkloadArgs {
  namespace: string;
  image: string;
  /** Serving ports; the ops port (metrics, health) is added as "metrics". */
  ports: WorkloadPort[];
  /** Where Prometheus scrapes it (the port named "metrics"): by default our ops port and /metrics. */
  metrics?: { port: number; path: string };
  env: EnvVar[];
  /** Read-only volumes beside /tmp (the feature flag file). */
  files?: { volume: k8s.types.input.core.v1.Volume; mount: k8s.types.input.core.v1.VolumeMount }[];
  probes: WorkloadProbes;
  replicas: { min: number; max: number };
  resources: Resources;
  topologySpread: boolean;
  disruptionBudget: boolean;
  /** Name of a headless Service over the given port, for dns:/// round_robin clients. */
  headless?: { name: string; port: string };
  /** Pod template annotations, e.g. the checksum of the secrets the pods read. */
  podAnnotations?: Record<string, pulumi.Input<string>>;
  /** Seconds to let in-flight work drain after SIGTERM (SHUTDOWN_GRACE_MS plus margin). */
  terminationGraceSeconds: number;
  /** What installs the ServiceMonitor kind: the API server refuses the object before its CRD exists. */
  monitoringCrds: pulumi.Resource;
  /** Who may reach these pods and whom they may reach (policies `<name>-ingress`, `<name>-egress`). */
  network: PolicySpec;
  /** Its Grafana dashboard (a dashboards/*.json file, or generated JSON under that name) and where Grafana runs. */
  dashboard?: { file: string; json?: string; monitoringNamespace: string };
  /** Its alert rules (alerting/rule-files.ts serviceRules), as a PrometheusRule beside our others. */
  rules?: { groups: RuleGroup[]; monitoringNamespace: string };
}

export function httpProbe(
  path: string,
  periodSeconds: number,
  failureThreshold: number,
  port = "metrics",
): Probe {
  return { httpGet: { path, port }, periodSeconds, failureThreshold, timeoutSeconds: 2 };
}

export function grpcProbe(
  port: number,
  service: string,
  periodSeconds: number,
  failureThreshold: number,
): Probe {
  return { grpc: { port, service }, periodSeconds, failureThreshold, timeoutSeconds: 2 };
}

export class Workload extends pulumi.ComponentResource {
  readonly labels: Record<string, string>;
  readonly deployment: k8s.apps.v1.Deployment;
  readonly service: k8s.core.v1.Service;
  readonly headlessService?: k8s.core.v1.Service;

  constructor(name: string, args: WorkloadArgs, opts?: pulumi.ComponentResourceOptions) {
    super("golive:apps:Workload", name, {}, opts);
    const { namespace } = args;
    this.labels = appLabels(name);
    const part: Part = { parent: this, name, namespace, labels: this.labels };
    const ports = [...args.ports, { name: "metrics", port: args.metrics?.port ?? OPS_PORT }];

    const serviceAccount = new k8s.core.v1.ServiceAccount(
      name,
      { metadata: { name, namespace, labels: this.labels }, automountServiceAccountToken: false },
      { parent: this },
    );
    this.deployment = new k8s.apps.v1.Deployment(
      name,
      {
        metadata: { name, namespace, labels: this.labels },
        spec: {
          replicas: args.replicas.min,
          selector: { matchLabels: this.labels },
          strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
          template: podTemplate(part, args, ports, serviceAccount.metadata.name),
        },
      },
      // The HPA owns the count once the Deployment exists. Sending `replicas:
      // min` again made the first update after a scale-out fail (a
      // Server-Side Apply conflict with the HPA over .spec.replicas; the
      // real-pods lane scales the feed out and then deploys).
      { parent: this, ignoreChanges: ["spec.replicas"] },
    );
    this.service = new k8s.core.v1.Service(
      name,
      {
        metadata: { name, namespace, labels: this.labels },
        spec: {
          selector: this.labels,
          ports: ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.name, protocol: "TCP" })),
        },
      },
      { parent: this },
    );
    if (args.headless) this.headlessService = headlessService(part, args.headless, ports);
    scaling(part, args, this.deployment);
    observability(part, args, this.service);

    const { ingress, egress } = args.network;
    if (ingress) networkPolicy(this, `${name}-ingress`, namespace, this.labels, { ingress });
    if (egress) networkPolicy(this, `${name}-egress`, namespace, this.labels, { egress });
    this.registerOutputs({ service: this.service.metadata.name });
  }
}

/** What every part of one Workload shares: its component, name, namespace and pod labels. */
interface Part {
  parent: pulumi.Resource;
  name: string;
  namespace: string;
  labels: Record<string, string>;
}

/** Restricted pod: non-root, read-only root, no token, spread over zones and nodes when asked. */
function podTemplate(
  { name, labels }: Part,
  args: WorkloadArgs,
  ports: WorkloadPort[],
  serviceAccountName: pulumi.Input<string>,
): k8s.types.input.core.v1.PodTemplateSpec {
  return {
    metadata: { labels, annotations: args.podAnnotations },
    spec: {
      serviceAccountName,
      automountServiceAccountToken: false,
      securityContext: podSecurity(),
      terminationGracePeriodSeconds: args.terminationGraceSeconds,
      topologySpreadConstraints: args.topologySpread ? topologySpread(labels) : undefined,
      containers: [
        {
          name,
          image: args.image,
          ports: ports.map((p) => ({ name: p.name, containerPort: p.port, protocol: "TCP" })),
          env: args.env,
          resources: args.resources,
          securityContext: containerSecurity(),
          startupProbe: args.probes.startup,
          livenessProbe: args.probes.liveness,
          readinessProbe: args.probes.readiness,
          volumeMounts: [tmpMount, ...(args.files ?? []).map((f) => f.mount)],
        },
      ],
      volumes: [tmpVolume, ...(args.files ?? []).map((f) => f.volume)],
    },
  };
}

function topologySpread(labels: Record<string, string>): k8s.types.input.core.v1.TopologySpreadConstraint[] {
  return [
    {
      maxSkew: 1,
      topologyKey: "topology.kubernetes.io/zone",
      whenUnsatisfiable: "ScheduleAnyway",
      labelSelector: { matchLabels: labels },
    },
    {
      maxSkew: 1,
      topologyKey: "kubernetes.io/hostname",
      whenUnsatisfiable: "DoNotSchedule",
      labelSelector: { matchLabels: labels },
    },
  ];
}

/** A headless Service over one port, for clients that balance per call (dns:///). */
function headlessService(
  { parent, name, namespace, labels }: Part,
  headless: { name: string; port: string },
  ports: WorkloadPort[],
): k8s.core.v1.Service {
  const port = ports.find((p) => p.name === headless.port);
  if (!port) throw new Error(`${name}: headless port ${headless.port} is not a container port`);
  return new k8s.core.v1.Service(
    headless.name,
    {
      metadata: {
        name: headless.name,
        namespace,
        labels: { ...labels, "golive.dev/headless": "true" },
      },
      spec: {
        clusterIP: "None",
        // Clients resolve every pod IP and balance per call; only ready pods are listed.
        publishNotReadyAddresses: false,
        selector: labels,
        ports: [{ name: port.name, port: port.port, targetPort: port.name, protocol: "TCP" }],
      },
    },
    { parent },
  );
}

/** HPA on CPU between the stack's min and max, and a PDB where the stack asks for one. */
/**
 * The HPA's CPU target, a share of the pod's CPU request. What it means in
 * requests per second per replica is checked against the benchmark's curve
 * (infra/test/hpa-curve.test.ts, docs/benchmarks.md).
 */
export const HPA_CPU_TARGET_PERCENT = 70;

function scaling(
  { parent, name, namespace, labels }: Part,
  args: WorkloadArgs,
  deployment: pulumi.Resource,
): void {
  new k8s.autoscaling.v2.HorizontalPodAutoscaler(
    name,
    {
      metadata: { name, namespace, labels: labels },
      spec: {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name },
        minReplicas: args.replicas.min,
        maxReplicas: args.replicas.max,
        metrics: [
          {
            type: "Resource",
            resource: {
              name: "cpu",
              target: { type: "Utilization", averageUtilization: HPA_CPU_TARGET_PERCENT },
            },
          },
        ],
      },
    },
    { parent, dependsOn: [deployment] },
  );

  if (args.disruptionBudget) {
    new k8s.policy.v1.PodDisruptionBudget(
      name,
      {
        metadata: { name, namespace, labels: labels },
        spec: { maxUnavailable: 1, selector: { matchLabels: labels } },
      },
      { parent },
    );
  }
}

/** Scraped on the ops port (the Service name is the job label), its dashboard and its alert rules. */
function observability(
  { parent, name, namespace, labels }: Part,
  args: WorkloadArgs,
  service: pulumi.Resource,
): void {
  new k8s.apiextensions.CustomResource(
    `${name}-servicemonitor`,
    {
      apiVersion: "monitoring.coreos.com/v1",
      kind: "ServiceMonitor",
      metadata: { name, namespace, labels: { ...labels, ...PROMETHEUS_SELECTOR } },
      spec: {
        // The Service name becomes Prometheus' job label: job="feed" / job="gateway".
        selector: {
          matchLabels: labels,
          matchExpressions: [{ key: "golive.dev/headless", operator: "DoesNotExist" }],
        },
        namespaceSelector: { matchNames: [namespace] },
        endpoints: [
          { port: "metrics", path: args.metrics?.path ?? "/metrics", interval: "15s", scrapeTimeout: "10s" },
        ],
      },
    },
    { parent, dependsOn: [service, args.monitoringCrds] },
  );

  if (args.dashboard) {
    grafanaDashboard(parent, args.dashboard.monitoringNamespace, args.dashboard.file, args.dashboard.json);
  }
  if (args.rules) {
    const ruleName = `golive-service-${name}`;
    new k8s.apiextensions.CustomResource(
      ruleName,
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PrometheusRule",
        metadata: {
          name: ruleName,
          namespace: args.rules.monitoringNamespace,
          labels: { ...labels, ...PROMETHEUS_SELECTOR },
        },
        spec: { groups: args.rules.groups },
      },
      { parent, dependsOn: [args.monitoringCrds] },
    );
  }
}
