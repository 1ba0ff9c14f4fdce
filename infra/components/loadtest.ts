// The in-cluster go-live drill as a template: a suspended CronJob that never
// fires on its own; `npm run loadtest:trigger` creates a Job from it. The pod
// runs k6 (results by Prometheus remote write to the in-cluster Prometheus)
// beside a chaos container whose ServiceAccount may only get/list/watch/delete
// pods in the app namespace, and only feed pods pass the admission policy.
// k6 sends the HTTP and WebSocket flows to the public host name, which an
// init step resolves to the edge Service: the drill crosses TLS, the WAF and
// the rate limit as users do. With golive:loadtest.target "gateway" they go
// to the gateway Service instead (the app layer alone, no edge on the path).
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { FEED_GRPC_PORT } from "@golive/feed/contract";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { DrillEnvName } from "../../loadtest/drill-env";
import type { StackConfig } from "../config";
import { type AppEnvVar, appEnv } from "./app-env";
import { TRIGGERED_ONLY } from "./cron";
import { ENVOY_HTTPS_PORT, ENVOY_PROXY_LABELS } from "./ingress";
import { appLabels } from "./labels";
import { grafanaDashboard, PROMETHEUS_PORT } from "./monitoring";
import { API_SERVER_PORTS, networkPolicy, PROMETHEUS_PODS, podsIn, tcp } from "./network";
import { containerSecurity, podSecurity, tmpMount, tmpVolume } from "./pod-security";

export const DRILL_CRONJOB = "golive-drill";
export const CHAOS_VERBS = ["get", "list", "watch", "delete"] as const;
export const SCRIPTS_MOUNT = "/scripts";
const CHAOS_TOKEN_VOLUME = "chaos-token";
/** Where kubectl's in-cluster config looks for the token, CA and namespace. */
const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";
/** Where the init step leaves the edge Service's address for k6 (on the shared /tmp volume). */
const EDGE_ADDR_FILE = "/tmp/edge-addr";

export interface ScriptFile {
  /** ConfigMap key: keys cannot hold slashes. */
  key: string;
  /** Path under the mount. */
  path: string;
  content: string;
}

/** The files the drill needs: loadtest/*.js (what exists now), the protos, and the chaos and edge scripts. */
export function collectScripts(repoRoot: string): ScriptFile[] {
  const files: ScriptFile[] = [];
  const add = (abs: string, rel: string) =>
    files.push({ key: rel.replace(/\//g, "__"), path: rel, content: readFileSync(abs, "utf8") });
  const loadtestDir = path.join(repoRoot, "loadtest");
  for (const f of safeList(loadtestDir).filter((f) => f.endsWith(".js"))) add(path.join(loadtestDir, f), f);
  const walk = (dir: string, rel: string) => {
    for (const f of safeList(dir)) {
      const abs = path.join(dir, f);
      if (statSync(abs).isDirectory()) walk(abs, `${rel}/${f}`);
      else if (f.endsWith(".proto")) add(abs, `${rel}/${f}`);
    }
  };
  walk(path.join(repoRoot, "proto"), "proto");
  for (const f of ["chaos.sh", "resolve-edge.sh"]) add(path.join(repoRoot, "infra", "loadtest", f), f);
  return files;
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

export interface LoadTestArgs {
  namespace: string;
  appNamespace: string;
  config: StackConfig;
  remoteWriteUrl: string;
  /** The public URL and the in-cluster Service of the edge that the drill goes through. */
  edge: { url: string; service: string; namespace: string; certificateTrusted: boolean };
  /** The gateway Service and its pods: the drill's target when config.loadtest.target is "gateway". */
  gateway: { service: string; port: number; labels: Record<string, string> };
  /** Where Prometheus runs: k6 remote-writes its results there. */
  monitoringNamespace: string;
  /** Lifts the per-client rate limit for the drill's requests (see Ingress). */
  drillToken: pulumi.Input<string>;
  feedGrpcAddress: string;
  feedSelector: Record<string, string>;
  repoRoot: string;
}

/** The drill pods (k6 and chaos): Prometheus admits their remote writes. */
export const LOADTEST_LABELS = appLabels("loadtest");

export class LoadTest extends pulumi.ComponentResource {
  readonly cronJobName = DRILL_CRONJOB;
  readonly podLabels = LOADTEST_LABELS;
  readonly triggerCommand: string;

  constructor(name: string, args: LoadTestArgs, opts?: pulumi.ComponentResourceOptions) {
    super("golive:drill:LoadTest", name, {}, opts);
    const { namespace } = args;
    this.triggerCommand = `npm run loadtest:trigger -- ${args.config.environment}`;
    const scripts = collectScripts(args.repoRoot);

    const scriptsMap = new k8s.core.v1.ConfigMap(
      "loadtest-scripts",
      {
        metadata: { name: "loadtest-scripts", namespace, labels: this.podLabels },
        data: Object.fromEntries(scripts.map((s) => [s.key, s.content])),
      },
      { parent: this },
    );
    const drillToken = new k8s.core.v1.Secret(
      "drill-token",
      {
        metadata: { name: "drill-token", namespace, labels: this.podLabels },
        type: "Opaque",
        stringData: { token: args.drillToken },
      },
      { parent: this },
    );
    const serviceAccount = chaosIdentity(this, args);
    chaosFeedOnly(this, args);
    drillCronJob(this, args, {
      serviceAccount: serviceAccount.metadata.name,
      drillTokenSecret: drillToken.metadata.name,
      scriptsMap: scriptsMap.metadata.name,
      scripts,
    });
    drillPolicies(this, args);
    // The drill's results (k6 remote write) on their own dashboard.
    grafanaDashboard(this, args.monitoringNamespace, path.join(args.repoRoot, "dashboards", "drill.json"));
    this.registerOutputs({ cronJob: DRILL_CRONJOB, triggerCommand: this.triggerCommand });
  }
}

/** The chaos container's ServiceAccount, allowed CHAOS_VERBS on pods of the app namespace. */
function chaosIdentity(parent: pulumi.Resource, args: LoadTestArgs): k8s.core.v1.ServiceAccount {
  const { namespace } = args;
  const labels = LOADTEST_LABELS;
  const serviceAccount = new k8s.core.v1.ServiceAccount(
    "loadtest-chaos",
    { metadata: { name: "loadtest-chaos", namespace, labels } },
    { parent },
  );
  const role = new k8s.rbac.v1.Role(
    "pod-chaos",
    {
      metadata: { name: "pod-chaos", namespace: args.appNamespace, labels },
      rules: [{ apiGroups: [""], resources: ["pods"], verbs: [...CHAOS_VERBS] }],
    },
    { parent },
  );
  new k8s.rbac.v1.RoleBinding(
    "pod-chaos",
    {
      metadata: { name: "pod-chaos", namespace: args.appNamespace, labels },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "pod-chaos" },
      subjects: [{ kind: "ServiceAccount", name: "loadtest-chaos", namespace }],
    },
    { parent, dependsOn: [role, serviceAccount] },
  );

  return serviceAccount;
}

/**
 * RBAC cannot scope a verb by label: the Role allows deleting any pod in the
 * app namespace. This policy narrows the chaos identity's deletions to feed
 * pods (Postgres, the gateway and the jobs are off limits).
 */
function chaosFeedOnly(parent: pulumi.Resource, args: LoadTestArgs): void {
  const { namespace } = args;
  const labels = LOADTEST_LABELS;
  const chaosUser = `system:serviceaccount:${namespace}:loadtest-chaos`;
  const policyName = `${args.appNamespace}-chaos-feed-only`;
  const feedOnly = new k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
    "chaos-feed-only",
    {
      metadata: { name: policyName, labels },
      spec: {
        failurePolicy: "Fail",
        matchConstraints: {
          resourceRules: [
            { apiGroups: [""], apiVersions: ["v1"], operations: ["DELETE"], resources: ["pods"] },
          ],
        },
        matchConditions: [
          { name: "chaos-identity", expression: `request.userInfo.username == "${chaosUser}"` },
        ],
        validations: [
          {
            expression: [
              "has(oldObject.metadata.labels)",
              ...Object.entries(args.feedSelector).map(
                ([k, v]) => `oldObject.metadata.labels[${JSON.stringify(k)}] == ${JSON.stringify(v)}`,
              ),
            ].join(" && "),
            message: "the chaos step may delete feed pods only",
            reason: "Forbidden",
          },
        ],
      },
    },
    { parent },
  );
  new k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
    "chaos-feed-only",
    {
      metadata: { name: policyName, labels },
      spec: {
        policyName,
        validationActions: ["Deny"],
        matchResources: {
          namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": args.appNamespace } },
        },
      },
    },
    { parent, dependsOn: [feedOnly] },
  );
}

/** The suspended CronJob that `npm run loadtest:trigger` starts a Job from. */
function drillCronJob(
  parent: pulumi.Resource,
  args: LoadTestArgs,
  refs: {
    serviceAccount: pulumi.Input<string>;
    drillTokenSecret: pulumi.Input<string>;
    scriptsMap: pulumi.Input<string>;
    scripts: ScriptFile[];
  },
): void {
  const { namespace, config } = args;
  const viaEdge = config.loadtest.target === "edge";
  new k8s.batch.v1.CronJob(
    DRILL_CRONJOB,
    {
      metadata: { name: DRILL_CRONJOB, namespace, labels: LOADTEST_LABELS },
      spec: {
        ...TRIGGERED_ONLY,
        jobTemplate: {
          spec: {
            backoffLimit: 0,
            activeDeadlineSeconds: 3600,
            ttlSecondsAfterFinished: 86400,
            template: {
              metadata: { labels: LOADTEST_LABELS },
              spec: {
                restartPolicy: "Never",
                serviceAccountName: refs.serviceAccount,
                // Only the chaos container gets the token (its own projected
                // volume below); k6 needs none.
                automountServiceAccountToken: false,
                securityContext: podSecurity(),
                initContainers: viaEdge ? [resolveEdgeContainer(args)] : undefined,
                containers: [k6Container(args, refs.drillTokenSecret), chaosContainer(args)],
                volumes: drillVolumes(refs.scriptsMap, refs.scripts),
              },
            },
          },
        },
      },
    },
    { parent },
  );
}

/** Resolves the public host to the edge Service, so k6 crosses TLS, the WAF and the limits. */
function resolveEdgeContainer(args: LoadTestArgs): k8s.types.input.core.v1.Container {
  const { config } = args;
  return {
    name: "resolve-edge",
    image: config.images.kubectl,
    command: ["/bin/sh", `${SCRIPTS_MOUNT}/resolve-edge.sh`],
    env: [
      { name: "EDGE_SERVICE_HOST", value: args.edge.service },
      { name: "EDGE_ADDR_FILE", value: EDGE_ADDR_FILE },
    ],
    resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "100m", memory: "64Mi" } },
    securityContext: containerSecurity(),
    volumeMounts: [{ name: "scripts", mountPath: SCRIPTS_MOUNT, readOnly: true }, tmpMount],
  };
}

/** Where k6 sends the HTTP and WebSocket flows: the edge by its public name, or the gateway Service. */
function drillTargetEnv(args: LoadTestArgs): AppEnvVar<K6EnvName>[] {
  const { config } = args;
  const viaEdge = config.loadtest.target === "edge";
  return viaEdge
    ? [
        { name: "GATEWAY_URL", value: args.edge.url },
        { name: "EDGE_ADDR_FILE", value: EDGE_ADDR_FILE },
        { name: "WAF_MODE", value: config.waf.mode },
        { name: "WAF_ENGINE", value: config.waf.engine },
        // Staging's ACME staging CA and local's self-signed issuer are not publicly trusted.
        ...(args.edge.certificateTrusted
          ? []
          : [{ name: "K6_INSECURE_SKIP_TLS_VERIFY" as const, value: "true" }]),
      ]
    : [
        {
          name: "GATEWAY_URL",
          value: `http://${args.gateway.service}.${args.appNamespace}.svc.cluster.local:${args.gateway.port}`,
        },
        { name: "WAF_MODE", value: "none" },
      ];
}

/** What k6 reads: the drill's variables (loadtest/drill-env.ts) and k6's own options. */
type K6EnvName =
  | DrillEnvName
  | "K6_PROMETHEUS_RW_SERVER_URL"
  | "K6_PROMETHEUS_RW_TREND_STATS"
  | "K6_INSECURE_SKIP_TLS_VERIFY";

function k6Container(
  args: LoadTestArgs,
  drillTokenSecret: pulumi.Input<string>,
): k8s.types.input.core.v1.Container {
  const { config } = args;
  const limits = { requests: { cpu: "250m", memory: "256Mi" }, limits: { cpu: "2", memory: "1Gi" } };
  return {
    name: "k6",
    image: config.images.k6,
    // --quiet: no progress bar (a line a second in the Job's log).
    args: ["run", "--out", "experimental-prometheus-rw", "--quiet", `${SCRIPTS_MOUNT}/drill.js`],
    env: appEnv<K6EnvName>([
      { name: "K6_PROMETHEUS_RW_SERVER_URL", value: args.remoteWriteUrl },
      { name: "K6_PROMETHEUS_RW_TREND_STATS", value: "p(95),p(99),avg,max" },
      ...drillTargetEnv(args),
      {
        name: "DRILL_TOKEN",
        valueFrom: { secretKeyRef: { name: drillTokenSecret, key: "token" } },
      },
      { name: "FEED_GRPC_ADDRS", value: args.feedGrpcAddress },
      { name: "PROTO_DIR", value: `${SCRIPTS_MOUNT}/proto` },
      { name: "PROFILE", value: config.loadtest.profile },
      ...(config.loadtest.duration ? [{ name: "DURATION" as const, value: config.loadtest.duration }] : []),
    ]),
    resources: limits,
    securityContext: containerSecurity(),
    volumeMounts: [{ name: "scripts", mountPath: SCRIPTS_MOUNT, readOnly: true }, tmpMount],
  };
}

function chaosContainer(args: LoadTestArgs): k8s.types.input.core.v1.Container {
  const { config } = args;
  const selector = Object.entries(args.feedSelector)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  return {
    name: "chaos",
    image: config.images.kubectl,
    command: ["/bin/sh", `${SCRIPTS_MOUNT}/chaos.sh`],
    env: [
      { name: "TARGET_NAMESPACE", value: args.appNamespace },
      { name: "TARGET_SELECTOR", value: selector },
      { name: "CHAOS_DELAY_SECONDS", value: String(config.loadtest.chaosDelaySeconds) },
      {
        name: "RECOVERY_TIMEOUT_SECONDS",
        value: String(config.loadtest.recoveryTimeoutSeconds),
      },
      // kubectl writes its discovery cache under $HOME.
      { name: "HOME", value: "/tmp" },
    ],
    resources: {
      requests: { cpu: "10m", memory: "32Mi" },
      limits: { cpu: "200m", memory: "128Mi" },
    },
    securityContext: containerSecurity(),
    volumeMounts: [
      { name: "scripts", mountPath: SCRIPTS_MOUNT, readOnly: true },
      tmpMount,
      { name: CHAOS_TOKEN_VOLUME, mountPath: SERVICE_ACCOUNT_DIR, readOnly: true },
    ],
  };
}

function drillVolumes(
  scriptsMap: pulumi.Input<string>,
  scripts: ScriptFile[],
): k8s.types.input.core.v1.Volume[] {
  return [
    {
      name: "scripts",
      configMap: {
        name: scriptsMap,
        items: scripts.map((s) => ({ key: s.key, path: s.path })),
      },
    },
    tmpVolume,
    // What automounting would give, for the chaos container alone.
    {
      name: CHAOS_TOKEN_VOLUME,
      projected: {
        sources: [
          { serviceAccountToken: { path: "token", expirationSeconds: 3600 } },
          {
            configMap: {
              name: "kube-root-ca.crt",
              items: [{ key: "ca.crt", path: "ca.crt" }],
            },
          },
          {
            downwardAPI: {
              items: [{ path: "namespace", fieldRef: { fieldPath: "metadata.namespace" } }],
            },
          },
        ],
      },
    },
  ];
}

/** k6 to the edge (as users come in) or the gateway, the feed's gRPC port and Prometheus; chaos to the API server. */
function drillPolicies(parent: pulumi.Resource, args: LoadTestArgs): void {
  const { namespace, config } = args;
  const viaEdge = config.loadtest.target === "edge";
  networkPolicy(parent, "k6-egress", namespace, LOADTEST_LABELS, {
    egress: [
      viaEdge
        ? { to: [podsIn(args.edge.namespace, ENVOY_PROXY_LABELS)], ports: tcp(ENVOY_HTTPS_PORT) }
        : { to: [podsIn(args.appNamespace, args.gateway.labels)], ports: tcp(args.gateway.port) },
      { to: [podsIn(args.appNamespace, args.feedSelector)], ports: tcp(FEED_GRPC_PORT) },
      { to: [podsIn(args.monitoringNamespace, PROMETHEUS_PODS)], ports: tcp(PROMETHEUS_PORT) },
      { to: [{ ipBlock: { cidr: config.apiServerCidr } }], ports: tcp(...API_SERVER_PORTS) },
    ],
  });
}
