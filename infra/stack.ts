// The bill of materials: every part of one environment, in the order it
// comes up. Each line is one component; the logic lives in components/.
import path from "node:path";
import type { AppDescriptor, ServiceDescriptor } from "@golive/shared/app-descriptor";
import { OPS_PORT } from "@golive/shared/contract";
import * as random from "@pulumi/random";
import { APPS, checkApps, servicesOf } from "./apps";
import { deployService, type ServiceContext, serviceAddress } from "./components/app-service";
import { Backup } from "./components/backup";
import { appDatabaseSecret, Database } from "./components/database";
import { ENVOY_HTTPS_PORT, ENVOY_PROXY_LABELS, edgeCertificateTrusted, Ingress } from "./components/ingress";
import { appLabels } from "./components/labels";
import { LOADTEST_LABELS, LoadTest } from "./components/loadtest";
import { Logging, lokiUrl } from "./components/logging";
import { Migrations } from "./components/migrations";
import { Monitoring, prometheusRemoteWriteUrl } from "./components/monitoring";
import { Namespaces } from "./components/namespaces";
import { podsIn } from "./components/network";
import { NetworkPolicies } from "./components/network-policies";
import { Preflight } from "./components/preflight";
import { Retention } from "./components/retention";
import { Synthetic } from "./components/synthetic";
import { COLLECTOR_PODS, jaegerQueryUrl, OTLP_HTTP_PORT, Tracing } from "./components/tracing";
import type { Workload } from "./components/workload";
import { forApp, type StackConfig } from "./config";

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
  /** Every app's image as deployed (deploy.yml records it as prod's rollback target). */
  images: Record<string, string>;
}

export function goLiveStack(config: StackConfig, apps: readonly AppDescriptor[] = APPS): StackOutputs {
  checkApps(apps);
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
      image: forApp(config.images, "feed"),
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
      image: forApp(config.images, "jobs"),
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
      // Every service, and the preflight Job.
      senders: [
        ...servicesOf(apps).map((s) => podsIn(app, appLabels(s.name))),
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
  // The app list's services: Deployment, Services, HPA, PDB, ServiceMonitor,
  // dashboard and NetworkPolicies each (components/app-service.ts).
  const services = servicesOf(apps);
  const serviceContext: ServiceContext = {
    services,
    config,
    repoRoot: REPO_ROOT,
    namespaces: {
      app,
      monitoring: ns.names.monitoring,
      gateway: ns.names.gateway,
      loadtest: ns.names.loadtest,
    },
    commonEnv: {
      OPS_PORT: String(OPS_PORT),
      SHUTDOWN_GRACE_MS: String(SHUTDOWN_GRACE_MS),
      SHUTDOWN_DRAIN_DELAY_MS: String(DRAIN_DELAY_MS),
      // Spans to the collector, sampled at the stack's ratio.
      OTEL_EXPORTER_OTLP_ENDPOINT: tracing.otlpEndpoint,
      OTEL_TRACES_SAMPLER_ARG: String(config.tracing.sampleRatio),
    },
    terminationGraceSeconds: GRACE_SECONDS,
    database: { egress: database.clientEgress, checksum: databaseChecksum },
    monitoringCrds: monitoring.crds,
  };
  const afterMigrations = { dependsOn: [migrations.job, appDatabase.secret, ns.resources.app] };
  const workloads = new Map(services.map((s) => [s.name, deployService(s, serviceContext, afterMigrations)]));
  const workloadOf = (s: ServiceDescriptor) => workloads.get(s.name) as Workload;
  // The edge routes to the public app; the drill's k6 also calls one app directly.
  const publicApp = services.find((s) => s.public);
  const drillApp = services.find((s) => s.drillCalls);
  if (!publicApp || !drillApp) throw new Error("the app list needs a public app and one the drill calls");
  const backend = {
    service: publicApp.name,
    port: publicApp.ports[0]?.port as number,
    labels: workloadOf(publicApp).labels,
  };
  const drillPort = drillApp.drillCalls as string;
  const feedAddress = serviceAddress(drillApp, drillPort, app);

  // Shared by the edge (which exempts it from the per-client limit) and the drill.
  const drillToken = new random.RandomPassword("drill-token", { length: 32, special: false });
  const ingress = new Ingress(
    "ingress",
    {
      config,
      gatewayNamespace: ns.names.gateway,
      certManagerNamespace: ns.names.certManager,
      appNamespace: app,
      backend,
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
      gateway: backend,
      drillToken: drillToken.result,
      feedGrpcAddress: `${drillApp.name}.${app}.svc.cluster.local:${drillApp.ports.find((p) => p.name === drillPort)?.port}`,
      feedSelector: workloadOf(drillApp).labels,
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
      image: forApp(config.images, "preflight"),
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
    ...services.filter((s) => s.database).map((s) => workloadOf(s).labels),
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
    images: Object.fromEntries(apps.map((a) => [a.name, forApp(config.images, a.name)])),
  };
}
