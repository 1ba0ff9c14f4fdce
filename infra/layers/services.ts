// The app layer: every service of the app list as a Workload
// (components/app-service.ts), and the two services the rest of the stack
// names: the public one behind the edge, and the one the drill calls directly.
import type { ServiceDescriptor } from "@golive/shared/app-descriptor";
import { OPS_PORT } from "@golive/shared/contract";
import { servicesOf } from "../apps";
import { deployService, type ServiceContext, serviceAddress } from "../components/app-service";
import { featureFlags } from "../components/feature-flags";
import type { Workload } from "../components/workload";
import { REPO_ROOT, type StackContext } from "./context";
import type { DataLayer } from "./data";
import type { ObservabilityLayer } from "./observability";

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

export function serviceLayer(
  { config, apps, ns }: StackContext,
  data: DataLayer,
  { monitoring, tracing }: ObservabilityLayer,
) {
  const services = servicesOf(apps);
  const context: ServiceContext = {
    services,
    config,
    repoRoot: REPO_ROOT,
    namespaces: {
      app: ns.names.app,
      monitoring: ns.names.monitoring,
      gateway: ns.names.gateway,
      loadtest: ns.names.loadtest,
    },
    commonEnv: {
      OPS_PORT: String(OPS_PORT),
      LOG_LEVEL: config.logLevel,
      SHUTDOWN_GRACE_MS: String(SHUTDOWN_GRACE_MS),
      SHUTDOWN_DRAIN_DELAY_MS: String(DRAIN_DELAY_MS),
      // Spans to the collector, sampled at the stack's ratio.
      OTEL_EXPORTER_OTLP_ENDPOINT: tracing.otlpEndpoint,
      OTEL_TRACES_SAMPLER_ARG: String(config.tracing.sampleRatio),
    },
    terminationGraceSeconds: GRACE_SECONDS,
    database: { egress: data.client.databaseEgress, checksum: data.client.databaseChecksum },
    monitoringCrds: monitoring.crds,
    flagFile: featureFlags(ns.names.app, config, { dependsOn: [ns.resources.app] }),
  };
  const afterMigrations = { dependsOn: [data.migrations.job, data.appDatabase.secret, ns.resources.app] };
  const workloads = new Map(services.map((s) => [s.name, deployService(s, context, afterMigrations)]));
  const workloadOf = (s: ServiceDescriptor) => workloads.get(s.name) as Workload;

  const publicApp = services.find((s) => s.public);
  const drillApp = services.find((s) => s.drillCalls);
  if (!publicApp || !drillApp) throw new Error("the app list needs a public app and one the drill calls");
  const drillPort = drillApp.ports.find((p) => p.name === drillApp.drillCalls)?.port;
  return {
    /** Labels of the services that read the app database (its allow list). */
    databaseClients: services.filter((s) => s.database).map((s) => workloadOf(s).labels),
    /** The edge's backend, also the drill's target when it skips the edge. */
    backend: {
      service: publicApp.name,
      port: publicApp.ports[0]?.port as number,
      labels: workloadOf(publicApp).labels,
    },
    /** What the drill's k6 calls directly (and the chaos step deletes pods of). */
    drillTarget: {
      address: serviceAddress(drillApp, drillApp.drillCalls as string, ns.names.app),
      grpcAddress: `${drillApp.name}.${ns.names.app}.svc.cluster.local:${drillPort}`,
      labels: workloadOf(drillApp).labels,
    },
  };
}

export type ServiceLayer = ReturnType<typeof serviceLayer>;
