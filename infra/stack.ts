// The bill of materials: every part of one environment, in the order it
// comes up. Each line is one component; the logic lives in components/.
import path from "node:path";
import { FEED_GRPC_PORT, FEED_SERVICE_NAME, type FeedEnv } from "@golive/feed/contract";
import { GATEWAY_HTTP_PORT, type GatewayEnv } from "@golive/gateway/contract";
import { OPS_PORT } from "@golive/shared/contract";
import * as random from "@pulumi/random";
import { appEnv } from "./components/app-env";
import { Backup } from "./components/backup";
import { appDatabaseSecret, DATABASE_SECRET, DATABASE_URL_KEY, Database } from "./components/database";
import { ENVOY_HTTPS_PORT, ENVOY_PROXY_LABELS, edgeCertificateTrusted, Ingress } from "./components/ingress";
import { appLabels } from "./components/labels";
import { LOADTEST_LABELS, LoadTest } from "./components/loadtest";
import { Logging, lokiUrl } from "./components/logging";
import { Migrations } from "./components/migrations";
import { Monitoring, prometheusRemoteWriteUrl } from "./components/monitoring";
import { Namespaces } from "./components/namespaces";
import { PROMETHEUS_PODS, podsIn, tcp } from "./components/network";
import { NetworkPolicies } from "./components/network-policies";
import { Preflight } from "./components/preflight";
import { Retention } from "./components/retention";
import { checksumAnnotations } from "./components/secret-checksum";
import { Synthetic } from "./components/synthetic";
import { COLLECTOR_PODS, jaegerQueryUrl, OTLP_HTTP_PORT, Tracing } from "./components/tracing";
import { grpcProbe, httpProbe, Workload } from "./components/workload";
import type { StackConfig } from "./config";

const REPO_ROOT = path.resolve(__dirname, "..");
/**
 * After SIGTERM each service keeps serving this long with readiness off, so
 * endpoints (kube-proxy, Envoy, gRPC resolvers) drop the pod before it stops
 * accepting: a rollout then refuses no request.
 */
const DRAIN_DELAY_MS = 5000;
/** Then in-flight work has SHUTDOWN_GRACE_MS to finish. */
const SHUTDOWN_GRACE_MS = 20_000;
/** The kubelet's SIGKILL comes after both, with margin. */
const GRACE_SECONDS = Math.ceil((DRAIN_DELAY_MS + SHUTDOWN_GRACE_MS) / 1000) + 5;

export interface StackOutputs {
  namespaces: Record<string, string>;
  gatewayUrl: string;
  grafanaPortForward: string;
  loadTestTrigger: string;
  /** Starts the go-live preflight Job (docs/preflight.md). */
  preflightTrigger: string;
  feedAddress: string;
}

export function goLiveStack(config: StackConfig): StackOutputs {
  const ns = new Namespaces("namespaces", { environment: config.environment });
  const opts = (...roles: (keyof Namespaces["resources"])[]) => ({
    dependsOn: roles.map((r) => ns.resources[r]),
  });
  const app = ns.names.app;

  const database = new Database(
    "database",
    {
      namespace: app,
      database: config.database,
      image: config.images.postgres,
      resources: config.resources.postgres,
      rotation: config.rotation,
    },
    opts("app"),
  );
  const migrations = new Migrations(
    "migrations",
    {
      namespace: app,
      image: config.images.feed,
      database: database.migrations,
      resources: config.resources.migrations,
      databaseEgress: database.clientEgress,
    },
    opts("app"),
  );
  // DATABASE_URL for the feed and the jobs, written once the Job has set up
  // what it names. Every pod template that reads it carries its hash, so a
  // rotated login rolls them.
  const appDatabase = appDatabaseSecret(app, database.appUrl, {
    dependsOn: [migrations.job, ns.resources.app],
  });
  const databaseChecksum = appDatabase.checksum;
  const backup = new Backup(
    "backup",
    {
      namespace: app,
      repoRoot: REPO_ROOT,
      backup: config.backup,
      images: { postgres: config.images.postgres, rclone: config.images.rclone },
      environment: config.environment,
      resources: config.resources.jobs,
      databaseSecret: appDatabase.secret,
      databaseChecksum,
      databaseEgress: database.clientEgress,
    },
    opts("app"),
  );
  const retention = new Retention(
    "retention",
    {
      namespace: app,
      retention: config.retention,
      image: config.images.jobs,
      resources: config.resources.jobs,
      databaseSecret: appDatabase.secret,
      databaseChecksum,
      databaseEgress: database.clientEgress,
      formerParent: backup,
    },
    opts("app"),
  );

  const monitoring = new Monitoring(
    "monitoring",
    {
      namespace: ns.names.monitoring,
      lokiUrl: lokiUrl(ns.names.logging),
      jaegerUrl: jaegerQueryUrl(ns.names.monitoring),
      config,
      rulesDir: path.join(REPO_ROOT, "alerting", "rules"),
      network: {
        appNamespace: app,
        loggingNamespace: ns.names.logging,
        edgeNamespace: ns.names.gateway,
        remoteWriters: [podsIn(ns.names.loadtest, LOADTEST_LABELS)],
      },
    },
    opts("monitoring"),
  );
  new Synthetic(
    "synthetic",
    { namespace: ns.names.monitoring, config, monitoringCrds: monitoring.crds },
    opts("monitoring"),
  );
  const tracing = new Tracing(
    "tracing",
    {
      namespace: ns.names.monitoring,
      config,
      remoteWriteUrl: prometheusRemoteWriteUrl(ns.names.monitoring),
      senders: [
        podsIn(app, appLabels("feed")),
        podsIn(app, appLabels("gateway")),
        podsIn(app, appLabels("preflight")),
      ],
      monitoringCrds: monitoring.crds,
      dashboardFile: path.join(REPO_ROOT, "dashboards", "tracing.json"),
    },
    opts("monitoring"),
  );
  new Logging(
    "logging",
    {
      namespace: ns.names.logging,
      retentionDays: config.retention.logsDays,
      storageGi: 10,
      chartMirror: config.charts.mirror,
      monitoringNamespace: ns.names.monitoring,
      apiServerCidr: config.apiServerCidr,
    },
    // The Loki chart adds its ServiceMonitor only when the kind exists at install time.
    { dependsOn: [ns.resources.logging, monitoring.crds] },
  );
  const feedAddress = `dns:///feed-grpc.${app}.svc.cluster.local:${FEED_GRPC_PORT}`;
  const common = {
    namespace: app,
    topologySpread: config.topologySpread,
    disruptionBudget: config.disruptionBudget,
    terminationGraceSeconds: GRACE_SECONDS,
    monitoringCrds: monitoring.crds,
  };
  const dashboard = (name: string) => ({
    file: path.join(REPO_ROOT, "dashboards", `${name}.json`),
    monitoringNamespace: ns.names.monitoring,
  });
  const afterMigrations = { dependsOn: [migrations.job, appDatabase.secret, ns.resources.app] };
  // The request path: edge -> gateway -> feed -> Postgres; Prometheus scrapes
  // both on the ops port; the drill's k6 also calls the feed directly.
  const labels = { feed: appLabels("feed"), gateway: appLabels("gateway") };
  const prometheus = podsIn(ns.names.monitoring, PROMETHEUS_PODS);
  const scrape = { from: [prometheus], ports: tcp(OPS_PORT) };
  // Spans to the collector, sampled at the stack's ratio.
  const toCollector = { to: [podsIn(ns.names.monitoring, COLLECTOR_PODS)], ports: tcp(OTLP_HTTP_PORT) };
  const tracingEnv = [
    { name: "OTEL_EXPORTER_OTLP_ENDPOINT", value: tracing.otlpEndpoint },
    { name: "OTEL_TRACES_SAMPLER_ARG", value: String(config.tracing.sampleRatio) },
  ] as const;
  const feed = new Workload(
    "feed",
    {
      ...common,
      image: config.images.feed,
      ports: [{ name: "grpc", port: FEED_GRPC_PORT }],
      headless: { name: "feed-grpc", port: "grpc" },
      env: appEnv<FeedEnv>([
        {
          name: "DATABASE_URL",
          valueFrom: { secretKeyRef: { name: DATABASE_SECRET, key: DATABASE_URL_KEY } },
        },
        { name: "GRPC_PORT", value: String(FEED_GRPC_PORT) },
        { name: "OPS_PORT", value: String(OPS_PORT) },
        { name: "SHUTDOWN_GRACE_MS", value: String(SHUTDOWN_GRACE_MS) },
        { name: "SHUTDOWN_DRAIN_DELAY_MS", value: String(DRAIN_DELAY_MS) },
        ...tracingEnv,
      ]),
      probes: {
        startup: grpcProbe(FEED_GRPC_PORT, "", 2, 30),
        liveness: httpProbe("/health/live", 10, 3),
        readiness: grpcProbe(FEED_GRPC_PORT, FEED_SERVICE_NAME, 5, 2),
      },
      replicas: config.replicas.feed,
      resources: config.resources.feed,
      podAnnotations: checksumAnnotations(databaseChecksum),
      dashboard: dashboard("feed"),
      network: {
        ingress: [
          {
            from: [
              { podSelector: { matchLabels: labels.gateway } },
              podsIn(ns.names.loadtest, LOADTEST_LABELS),
            ],
            ports: tcp(FEED_GRPC_PORT),
          },
          scrape,
        ],
        egress: [database.clientEgress, toCollector],
      },
    },
    afterMigrations,
  );
  const gateway = new Workload(
    "gateway",
    {
      ...common,
      image: config.images.gateway,
      ports: [{ name: "http", port: GATEWAY_HTTP_PORT }],
      env: appEnv<GatewayEnv>([
        { name: "FEED_ADDRESS", value: feedAddress },
        { name: "HTTP_PORT", value: String(GATEWAY_HTTP_PORT) },
        { name: "OPS_PORT", value: String(OPS_PORT) },
        { name: "SHUTDOWN_GRACE_MS", value: String(SHUTDOWN_GRACE_MS) },
        { name: "SHUTDOWN_DRAIN_DELAY_MS", value: String(DRAIN_DELAY_MS) },
        ...tracingEnv,
      ]),
      probes: {
        startup: httpProbe("/health/live", 2, 30),
        liveness: httpProbe("/health/live", 10, 3),
        readiness: httpProbe("/health/ready", 5, 2),
      },
      replicas: config.replicas.gateway,
      resources: config.resources.gateway,
      dashboard: dashboard("gateway"),
      network: {
        ingress: [
          {
            from: [
              podsIn(ns.names.gateway, ENVOY_PROXY_LABELS),
              // The drill aimed at the app layer alone (golive:loadtest.target).
              ...(config.loadtest.target === "gateway" ? [podsIn(ns.names.loadtest, LOADTEST_LABELS)] : []),
            ],
            ports: tcp(GATEWAY_HTTP_PORT),
          },
          scrape,
        ],
        egress: [
          { to: [{ podSelector: { matchLabels: labels.feed } }], ports: tcp(FEED_GRPC_PORT) },
          toCollector,
        ],
      },
    },
    afterMigrations,
  );

  // Shared by the edge (which exempts it from the per-client limit) and the drill.
  const drillToken = new random.RandomPassword("drill-token", { length: 32, special: false });
  const ingress = new Ingress(
    "ingress",
    {
      config,
      gatewayNamespace: ns.names.gateway,
      certManagerNamespace: ns.names.certManager,
      appNamespace: app,
      backend: { service: "gateway", port: GATEWAY_HTTP_PORT, labels: gateway.labels },
      monitoringNamespace: ns.names.monitoring,
      monitoringCrds: monitoring.crds,
      drillToken: drillToken.result,
    },
    opts("gateway", "certManager", "app"),
  );
  const loadTest = new LoadTest(
    "loadtest",
    {
      namespace: ns.names.loadtest,
      appNamespace: app,
      config,
      remoteWriteUrl: prometheusRemoteWriteUrl(ns.names.monitoring),
      edge: {
        url: ingress.url,
        service: ingress.edgeService,
        namespace: ns.names.gateway,
        certificateTrusted: edgeCertificateTrusted(config),
      },
      gateway: { service: "gateway", port: GATEWAY_HTTP_PORT, labels: gateway.labels },
      drillToken: drillToken.result,
      feedGrpcAddress: `feed.${app}.svc.cluster.local:${FEED_GRPC_PORT}`,
      feedSelector: feed.labels,
      repoRoot: REPO_ROOT,
      monitoringNamespace: ns.names.monitoring,
    },
    opts("loadtest", "app"),
  );
  const preflight = new Preflight(
    "preflight",
    {
      namespace: app,
      config,
      image: config.images.preflight,
      resources: config.resources.jobs,
      databaseSecret: appDatabase.secret,
      databaseChecksum,
      databaseEgress: database.clientEgress,
      edge: {
        service: ingress.edgeService,
        namespace: ns.names.gateway,
        labels: ENVOY_PROXY_LABELS,
        servicePort: 443,
        podPort: ENVOY_HTTPS_PORT,
        certificateTrusted: edgeCertificateTrusted(config),
      },
      monitoringNamespace: ns.names.monitoring,
      collector: { endpoint: tracing.otlpEndpoint, pods: COLLECTOR_PODS, port: OTLP_HTTP_PORT },
      dashboardFile: path.join(REPO_ROOT, "dashboards", "preflight.json"),
    },
    opts("app", "monitoring"),
  );
  database.admit(app, [
    feed.labels,
    migrations.podLabels,
    backup.backupLabels,
    retention.labels,
    preflight.labels,
  ]);
  // Last, so that every allow rule above exists before anything is denied.
  new NetworkPolicies(
    "network-policies",
    { names: ns.names },
    opts("app", "loadtest", "monitoring", "logging", "gateway", "certManager"),
  );

  return {
    namespaces: { ...ns.names },
    gatewayUrl: ingress.url,
    grafanaPortForward: `kubectl -n ${ns.names.monitoring} port-forward svc/${monitoring.grafanaService} 3000:80`,
    loadTestTrigger: loadTest.triggerCommand,
    preflightTrigger: preflight.triggerCommand,
    feedAddress,
  };
}
