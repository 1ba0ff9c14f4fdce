// One service descriptor (apps/<name>/src/app.ts) to its Workload: image,
// replicas and resources from the stack's per-app keys, environment (its own
// plus what every service gets), probes, and NetworkPolicies derived from the
// whole app list: who calls it, whom it calls, the edge, the drill, scrapes;
// and its alert rules (the standard set with its job, plus its own file).
import path from "node:path";
import {
  COMMON_SERVICE_ENV,
  type CommonServiceEnv,
  type EnvSource,
  type ProbeSpec,
  type ServiceDescriptor,
} from "@golive/shared/app-descriptor";
import { HEALTH_PATHS, OPS_PORT } from "@golive/shared/contract";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { serviceRules, withRunbookBaseUrl } from "../../alerting/rule-files";
import { otelHttpDashboard, renderDashboard } from "../../dashboards/build";
import { faultInjectionOf, forApp, type StackConfig } from "../config";
import { DATABASE_SECRET, DATABASE_URL_KEY } from "./database";
import { FLAGS_FILE_PATH, type FlagFileMount } from "./feature-flags";
import { ENVOY_PROXY_LABELS } from "./ingress";
import { appLabels } from "./labels";
import { LOADTEST_LABELS } from "./loadtest";
import { type EgressRule, type Peer, PROMETHEUS_PODS, podsIn, type Rule, tcp } from "./network";
import { checksumAnnotations, secretChecksum } from "./secret-checksum";
import { COLLECTOR_PODS, OTLP_HTTP_PORT } from "./tracing";
import { grpcProbe, httpProbe, Workload } from "./workload";

/** What a service's Workload needs from the rest of the stack. */
export interface ServiceContext {
  services: readonly ServiceDescriptor[];
  config: StackConfig;
  repoRoot: string;
  namespaces: { app: string; monitoring: string; gateway: string; loadtest: string };
  /** The values of the environment every service gets (COMMON_SERVICE_ENV). */
  commonEnv: Record<CommonServiceEnv, pulumi.Input<string>>;
  terminationGraceSeconds: number;
  database: { egress: EgressRule; checksum: pulumi.Input<string> };
  monitoringCrds: pulumi.Resource;
  /** The feature flag file's volume, mounted into the services whose env reads it. */
  flagFile: FlagFileMount;
}

/** The dns:/// target of a service port: the headless Service when the port has one (per-call balancing). */
export function serviceAddress(s: ServiceDescriptor, portName: string, namespace: string): string {
  const host = s.headless?.port === portName ? s.headless.name : s.name;
  return `dns:///${host}.${namespace}.svc.cluster.local:${portOf(s, portName)}`;
}

function byName(services: readonly ServiceDescriptor[], name: string): ServiceDescriptor {
  const s = services.find((x) => x.name === name);
  if (!s) throw new Error(`no service named ${name}`);
  return s;
}

function portOf(s: ServiceDescriptor, name: string): number {
  const port = s.ports.find((p) => p.name === name);
  if (!port) throw new Error(`${s.name} has no port ${name}`);
  return port.port;
}

function probe(spec: ProbeSpec, s: ServiceDescriptor): k8s.types.input.core.v1.Probe {
  if ("http" in spec) return httpProbe(HEALTH_PATHS[spec.http], spec.periodSeconds, spec.failureThreshold);
  if ("httpGet" in spec) {
    const port = spec.httpGet.port ?? "metrics";
    if (port !== "metrics") portOf(s, port);
    return httpProbe(spec.httpGet.path, spec.periodSeconds, spec.failureThreshold, port);
  }
  return grpcProbe(portOf(s, spec.grpc.port), spec.grpc.service, spec.periodSeconds, spec.failureThreshold);
}

/** Where Prometheus scrapes a service: our ops port, or the one its descriptor names. */
const metricsPortOf = (s: ServiceDescriptor) => s.metrics?.port ?? OPS_PORT;

/** Its dashboard: the descriptor's file, or the standard one for the OpenTelemetry HTTP metrics. */
function dashboardOf(s: ServiceDescriptor, ctx: ServiceContext) {
  const monitoringNamespace = ctx.namespaces.monitoring;
  if (s.dashboard) return { file: path.join(ctx.repoRoot, s.dashboard), monitoringNamespace };
  if (s.otelHttpMetrics) {
    const json = `${JSON.stringify(renderDashboard(otelHttpDashboard(s.name)), null, 2)}\n`;
    return { file: `${s.name}.json`, json, monitoringNamespace };
  }
  return undefined;
}

/** The Secret holding a service's generated values (EnvSource `generatedSecret`). */
export const generatedSecretName = (s: ServiceDescriptor) => `${s.name}-generated`;

function envVar(
  name: string,
  source: EnvSource,
  ctx: ServiceContext,
  generated: GeneratedSecret | undefined,
): k8s.types.input.core.v1.EnvVar {
  if (typeof source === "string") return { name, value: source };
  if ("databaseUrl" in source) {
    return { name, valueFrom: { secretKeyRef: { name: DATABASE_SECRET, key: DATABASE_URL_KEY } } };
  }
  if ("generatedSecret" in source) {
    if (!generated) throw new Error(`${name}: no generated Secret`);
    // The Secret's output name: the pods wait for the Secret.
    return {
      name,
      valueFrom: { secretKeyRef: { name: generated.secret.metadata.name, key: source.generatedSecret } },
    };
  }
  if ("flags" in source) {
    return { name, value: source.flags === "file" ? FLAGS_FILE_PATH : faultInjectionOf(ctx.config) };
  }
  return {
    name,
    value: serviceAddress(byName(ctx.services, source.addressOf), source.port, ctx.namespaces.app),
  };
}

const readsFlagFile = (s: ServiceDescriptor) =>
  Object.values(s.env).some((v) => typeof v === "object" && "flags" in v && v.flags === "file");

/** Ingress per serving port (callers, the edge, the drill), then Prometheus on the ops port. */
function ingressRules(s: ServiceDescriptor, ctx: ServiceContext): Rule[] {
  const { namespaces: ns, config } = ctx;
  const rules: Rule[] = [];
  for (const port of s.ports) {
    const from: Peer[] = ctx.services
      .filter((c) => c.calls?.some((call) => call.app === s.name && call.port === port.name))
      .map((c) => ({ podSelector: { matchLabels: appLabels(c.name) } }));
    const publicPort = s.public && port === s.ports[0];
    if (publicPort) from.push(podsIn(ns.gateway, ENVOY_PROXY_LABELS));
    // The drill calls this port itself, or aims at the public app alone (golive:loadtest.target).
    if (s.drillCalls === port.name || (publicPort && config.loadtest.target === "gateway")) {
      from.push(podsIn(ns.loadtest, LOADTEST_LABELS));
    }
    if (from.length > 0) rules.push({ from, ports: tcp(port.port) });
  }
  rules.push({ from: [podsIn(ns.monitoring, PROMETHEUS_PODS)], ports: tcp(metricsPortOf(s)) });
  return rules;
}

/** Egress: the database, the apps it calls, then spans to the collector. */
function egressRules(s: ServiceDescriptor, ctx: ServiceContext): EgressRule[] {
  return [
    ...(s.database ? [ctx.database.egress] : []),
    ...(s.calls ?? []).map((c) => ({
      to: [{ podSelector: { matchLabels: appLabels(c.app) } }],
      ports: tcp(portOf(byName(ctx.services, c.app), c.port)),
    })),
    { to: [podsIn(ctx.namespaces.monitoring, COLLECTOR_PODS)], ports: tcp(OTLP_HTTP_PORT) },
  ];
}

export function deployService(
  s: ServiceDescriptor,
  ctx: ServiceContext,
  opts: pulumi.ComponentResourceOptions,
): Workload {
  const { config } = ctx;
  const generated = generatedSecret(s, ctx, opts);
  const ownEnv = Object.entries(s.env).map(([name, source]) =>
    envVar(name, source as EnvSource, ctx, generated),
  );
  const commonEnv = COMMON_SERVICE_ENV.map((name) => ({ name, value: ctx.commonEnv[name] }));
  return new Workload(
    s.name,
    {
      namespace: ctx.namespaces.app,
      topologySpread: config.topologySpread,
      disruptionBudget: config.disruptionBudget,
      terminationGraceSeconds: ctx.terminationGraceSeconds,
      monitoringCrds: ctx.monitoringCrds,
      image: forApp(config.images, s.name),
      ports: [...s.ports],
      metrics: s.metrics,
      headless: s.headless,
      env: [...ownEnv, ...commonEnv],
      files: readsFlagFile(s) ? [ctx.flagFile] : [],
      probes: {
        startup: probe(s.probes.startup, s),
        liveness: probe(s.probes.liveness, s),
        readiness: probe(s.probes.readiness, s),
      },
      replicas: forApp(config.replicas, s.name),
      resources: forApp(config.resources, s.name),
      // A rotated database login or generated value rolls the pods that read it.
      podAnnotations: podChecksum(s, ctx, generated),
      dashboard: dashboardOf(s, ctx),
      network: { ingress: ingressRules(s, ctx), egress: egressRules(s, ctx) },
      rules: {
        groups: withRunbookBaseUrl(serviceRules(s).groups, config.runbookBaseUrl),
        monitoringNamespace: ctx.namespaces.monitoring,
      },
    },
    opts,
  );
}

function podChecksum(s: ServiceDescriptor, ctx: ServiceContext, generated: GeneratedSecret | undefined) {
  const parts = [...(s.database ? [ctx.database.checksum] : []), ...(generated ? [generated.checksum] : [])];
  if (parts.length === 0) return undefined;
  return checksumAnnotations(
    parts.length === 1 ? (parts[0] as pulumi.Input<string>) : pulumi.concat(...parts),
  );
}

/**
 * One Secret per service for the values the deployer generates (48 random
 * letters and digits each), once per stack; a new keeper in
 * `golive:rotation.generated.<key>` makes a new value (docs/secret-rotation.md).
 */
interface GeneratedSecret {
  secret: k8s.core.v1.Secret;
  /** Of the generated values themselves (a Secret's stringData is not read back from the cluster). */
  checksum: pulumi.Output<string>;
}

function generatedSecret(
  s: ServiceDescriptor,
  ctx: ServiceContext,
  opts: pulumi.ComponentResourceOptions,
): GeneratedSecret | undefined {
  const keys = Object.values(s.env as Record<string, EnvSource>).flatMap((source) =>
    typeof source === "object" && "generatedSecret" in source ? [source.generatedSecret] : [],
  );
  if (keys.length === 0) return undefined;
  const stringData = Object.fromEntries(
    keys.map((key) => [
      key,
      new random.RandomPassword(
        `${s.name}-${key}`,
        {
          length: 48,
          special: false,
          keepers: { rotation: ctx.config.rotation.generated[key] ?? "initial" },
        },
        { dependsOn: opts.dependsOn },
      ).result,
    ]),
  );
  const secret = new k8s.core.v1.Secret(
    generatedSecretName(s),
    {
      metadata: { name: generatedSecretName(s), namespace: ctx.namespaces.app, labels: appLabels(s.name) },
      type: "Opaque",
      stringData,
    },
    { dependsOn: opts.dependsOn },
  );
  return { secret, checksum: secretChecksum(stringData) };
}
