// The go-live preflight as a template: a suspended CronJob in the app
// namespace that never fires on its own; `kubectl create job --from` runs
// it (README, "Preflight"). The pod runs the preflight image
// (apps/preflight) with the app's database login, the payment keys from a
// Secret made of the stack's secret golive:preflightPayments, the edge
// Service to read the public certificate from, Alertmanager for the test
// notification, and the collector for its metrics.
import type { jobEnvSchema } from "@golive/preflight/plan";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import type { Resources, StackConfig } from "../config";
import { appEnv } from "./app-env";
import { TRIGGERED_ONLY } from "./cron";
import { databaseUrlEnv } from "./database";
import { appLabels } from "./labels";
import { ALERTMANAGER_PODS, ALERTMANAGER_PORT, ALERTMANAGER_SERVICE, grafanaDashboard } from "./monitoring";
import { type EgressRule, networkPolicy, podsIn, tcp } from "./network";
import { containerSecurity, podSecurity, tmpMount, tmpVolume } from "./pod-security";
import { checksumAnnotations } from "./secret-checksum";

export const PREFLIGHT_CRONJOB = "golive-preflight";
const PAYMENTS_KEY = "payments.json";

export interface PreflightArgs {
  namespace: string;
  config: StackConfig;
  image: string;
  resources: Resources;
  /** Secret with DATABASE_URL (the app's login) and its checksum. */
  databaseSecret: k8s.core.v1.Secret;
  databaseChecksum: pulumi.Input<string>;
  databaseEgress: EgressRule;
  /** The edge: TLS is read from its Service with the public host as SNI. */
  edge: {
    service: string;
    namespace: string;
    labels: Record<string, string>;
    /** The Service's HTTPS port (what the pod dials) and Envoy's (what the policy names). */
    servicePort: number;
    podPort: number;
    certificateTrusted: boolean;
  };
  monitoringNamespace: string;
  /** The collector's OTLP/HTTP URL and its pods (metrics of each run). */
  collector: { endpoint: string; pods: Record<string, string>; port: number };
  dashboardFile: string;
}

export class Preflight extends pulumi.ComponentResource {
  readonly labels = appLabels("preflight");
  readonly triggerCommand: string;

  constructor(name: string, args: PreflightArgs, opts?: pulumi.ComponentResourceOptions) {
    super("golive:ops:Preflight", name, {}, opts);
    const { namespace, config } = args;
    this.triggerCommand = `kubectl -n ${namespace} create job --from=cronjob/${PREFLIGHT_CRONJOB} preflight-$(date +%s)`;

    const payments = new k8s.core.v1.Secret(
      "preflight-payments",
      {
        metadata: { name: "preflight-payments", namespace, labels: this.labels },
        type: "Opaque",
        stringData: { [PAYMENTS_KEY]: pulumi.secret(JSON.stringify(config.preflight.payments)) },
      },
      { parent: this },
    );
    const env = preflightEnv(args, payments.metadata.name);

    new k8s.batch.v1.CronJob(
      PREFLIGHT_CRONJOB,
      {
        metadata: { name: PREFLIGHT_CRONJOB, namespace, labels: this.labels },
        spec: {
          ...TRIGGERED_ONLY,
          jobTemplate: {
            spec: {
              // No retry: a second run would authorize again (new keys); rerun by hand.
              backoffLimit: 0,
              activeDeadlineSeconds: 600,
              ttlSecondsAfterFinished: 86400,
              template: {
                metadata: { labels: this.labels, annotations: checksumAnnotations(args.databaseChecksum) },
                spec: {
                  restartPolicy: "Never",
                  automountServiceAccountToken: false,
                  securityContext: podSecurity(),
                  containers: [
                    {
                      name: "preflight",
                      image: args.image,
                      env: [...env, { name: "OTEL_EXPORTER_OTLP_ENDPOINT", value: args.collector.endpoint }],
                      resources: args.resources,
                      securityContext: containerSecurity(),
                      volumeMounts: [tmpMount],
                    },
                  ],
                  volumes: [tmpVolume],
                },
              },
            },
          },
        },
      },
      { parent: this, dependsOn: [args.databaseSecret, payments] },
    );

    preflightPolicies(this, args, this.labels);
    grafanaDashboard(this, args.monitoringNamespace, args.dashboardFile);
    this.registerOutputs({ cronJob: PREFLIGHT_CRONJOB, triggerCommand: this.triggerCommand });
  }
}

/** The Job's environment, names checked against its schema (apps/preflight/src/plan.ts). */
function preflightEnv(args: PreflightArgs, paymentsSecret: pulumi.Input<string>) {
  const { config } = args;
  return appEnv<keyof z.input<typeof jobEnvSchema>>([
    { name: "PREFLIGHT_STACK", value: pulumi.getStack() },
    { name: "PREFLIGHT_LIVE", value: String(config.environment === "prod") },
    { name: "PREFLIGHT_PUBLIC_HOST", value: config.domain },
    { name: "PREFLIGHT_TLS_ADDRESS", value: args.edge.service },
    { name: "PREFLIGHT_TLS_PORT", value: String(args.edge.servicePort) },
    // Staging's ACME staging CA and local's self-signed issuer are not publicly trusted.
    { name: "PREFLIGHT_TLS_SKIP_CHAIN_CHECK", value: String(!args.edge.certificateTrusted) },
    { name: "PREFLIGHT_MIN_CERT_DAYS", value: String(config.preflight.minCertDays) },
    { name: "PREFLIGHT_TIMEOUT_MS", value: String(config.preflight.timeoutMs) },
    databaseUrlEnv(args.databaseSecret),
    ...(config.preflight.testNotification
      ? [
          {
            name: "PREFLIGHT_ALERTMANAGER_URL" as const,
            value: `http://${ALERTMANAGER_SERVICE}.${args.monitoringNamespace}.svc.cluster.local:${ALERTMANAGER_PORT}`,
          },
          { name: "PREFLIGHT_ALERT_ROUTES" as const, value: JSON.stringify(config.alerting.routes) },
        ]
      : []),
    {
      name: "PREFLIGHT_PAYMENTS",
      valueFrom: { secretKeyRef: { name: paymentsSecret, key: PAYMENTS_KEY } },
    },
  ]);
}

/** Out to the database, the edge, Alertmanager, the collector and the processors' APIs; Alertmanager lets it in. */
function preflightPolicies(
  parent: pulumi.Resource,
  args: PreflightArgs,
  labels: Record<string, string>,
): void {
  const { namespace } = args;
  networkPolicy(parent, "preflight-egress", namespace, labels, {
    egress: [
      args.databaseEgress,
      { to: [podsIn(args.edge.namespace, args.edge.labels)], ports: tcp(args.edge.podPort) },
      { to: [podsIn(args.monitoringNamespace, ALERTMANAGER_PODS)], ports: tcp(ALERTMANAGER_PORT) },
      { to: [podsIn(args.monitoringNamespace, args.collector.pods)], ports: tcp(args.collector.port) },
      // The payment processors' APIs: HTTPS anywhere outside.
      { to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: tcp(443) },
    ],
  });
  networkPolicy(parent, "alertmanager-from-preflight", args.monitoringNamespace, ALERTMANAGER_PODS, {
    ingress: [{ from: [podsIn(namespace, labels)], ports: tcp(ALERTMANAGER_PORT) }],
  });
}
