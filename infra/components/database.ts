// Where the feed's Postgres lives. In-cluster: a single-replica StatefulSet
// with a PVC and a generated password. External: only the URL, kept secret.
// Either way the feed and the migrations Job read DATABASE_URL from one Secret.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { Resources, StackConfig } from "../config";
import { appLabels } from "./labels";
import { containerSecurity, podSecurity } from "./pod-security";

/** uid of the postgres user in the official image. */
const POSTGRES_UID = 999;
export const POSTGRES_PORT = 5432;
export const DATABASE_SECRET = "feed-database";
export const DATABASE_URL_KEY = "DATABASE_URL";

export interface DatabaseArgs {
  namespace: string;
  database: StackConfig["database"];
  image: string;
  resources: Resources;
}

export class Database extends pulumi.ComponentResource {
  /** Secret holding DATABASE_URL. */
  readonly secretName = DATABASE_SECRET;
  /** Pod labels of the in-cluster Postgres (absent for an external database). */
  readonly podLabels?: Record<string, string>;
  readonly secret: k8s.core.v1.Secret;

  constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("golive:data:Database", name, {}, opts);
    const { namespace } = args;
    let url: pulumi.Output<string>;
    const children: pulumi.Resource[] = [];

    if (args.database.mode === "external") {
      url = pulumi.secret(args.database.url);
    } else {
      const labels = appLabels("postgres");
      this.podLabels = labels;
      const password = new random.RandomPassword(
        `${name}-password`,
        { length: 32, special: false },
        { parent: this },
      );
      const credentials = new k8s.core.v1.Secret(
        "postgres-credentials",
        {
          metadata: { name: "postgres-credentials", namespace, labels },
          type: "Opaque",
          stringData: { POSTGRES_USER: "feed", POSTGRES_DB: "feed", POSTGRES_PASSWORD: password.result },
        },
        { parent: this },
      );
      const service = new k8s.core.v1.Service(
        "postgres",
        {
          metadata: { name: "postgres", namespace, labels },
          spec: {
            selector: labels,
            ports: [{ name: "postgres", port: POSTGRES_PORT, targetPort: "postgres" }],
          },
        },
        { parent: this },
      );
      const statefulSet = new k8s.apps.v1.StatefulSet(
        "postgres",
        {
          metadata: { name: "postgres", namespace, labels },
          spec: {
            serviceName: "postgres",
            replicas: 1,
            selector: { matchLabels: labels },
            template: {
              metadata: { labels },
              spec: {
                automountServiceAccountToken: false,
                securityContext: podSecurity(POSTGRES_UID),
                containers: [
                  {
                    name: "postgres",
                    image: args.image,
                    ports: [{ name: "postgres", containerPort: POSTGRES_PORT }],
                    envFrom: [{ secretRef: { name: "postgres-credentials" } }],
                    env: [{ name: "PGDATA", value: "/var/lib/postgresql/data/pgdata" }],
                    resources: args.resources,
                    securityContext: containerSecurity(POSTGRES_UID),
                    startupProbe: {
                      exec: { command: ["pg_isready", "-U", "feed", "-d", "feed"] },
                      periodSeconds: 5,
                      failureThreshold: 60,
                    },
                    livenessProbe: {
                      exec: { command: ["pg_isready", "-U", "feed", "-d", "feed"] },
                      periodSeconds: 10,
                    },
                    readinessProbe: {
                      exec: { command: ["pg_isready", "-U", "feed", "-d", "feed"] },
                      periodSeconds: 5,
                    },
                    volumeMounts: [
                      { name: "data", mountPath: "/var/lib/postgresql/data" },
                      // Writable paths the server needs under a read-only root.
                      { name: "run", mountPath: "/var/run/postgresql" },
                      { name: "tmp", mountPath: "/tmp" },
                    ],
                  },
                ],
                volumes: [
                  { name: "run", emptyDir: {} },
                  { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
                ],
              },
            },
            volumeClaimTemplates: [
              {
                metadata: { name: "data" },
                spec: {
                  accessModes: ["ReadWriteOnce"],
                  storageClassName: args.database.storageClassName,
                  resources: { requests: { storage: `${args.database.storageGi}Gi` } },
                },
              },
            ],
          },
        },
        { parent: this, dependsOn: [credentials] },
      );
      children.push(service, statefulSet);
      url = pulumi.secret(
        pulumi.interpolate`postgres://feed:${password.result}@postgres.${namespace}.svc.cluster.local:${POSTGRES_PORT}/feed`,
      );
    }

    this.secret = new k8s.core.v1.Secret(
      DATABASE_SECRET,
      {
        metadata: { name: DATABASE_SECRET, namespace, labels: appLabels("feed") },
        type: "Opaque",
        stringData: { [DATABASE_URL_KEY]: url },
      },
      { parent: this, dependsOn: children },
    );
    this.registerOutputs({ secretName: this.secretName });
  }
}
