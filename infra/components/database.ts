// Where the feed's Postgres lives. In-cluster: a single-replica StatefulSet
// with a PVC and a generated password. External: only the URL, kept secret.
// Either way the feed and the migrations Job read DATABASE_URL from one Secret.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { Resources, StackConfig } from "../config";
import { appLabels } from "./labels";
import { containerSecurity, podSecurity } from "./pod-security";
import { checksumAnnotations, secretChecksum } from "./secret-checksum";

/** uid of the postgres user in the official image. */
export const POSTGRES_UID = 999;

/**
 * The image sets POSTGRES_PASSWORD only when it initialises an empty data
 * directory. After a rotation the StatefulSet rolls (checksum annotation) and
 * this hook applies the Secret's password to the role over the local socket
 * (trusted in the official image), so the new value is the one that works.
 * Bounded wait: the startup probe allows 300 s, the hook gives up after 290.
 */
export const APPLY_PASSWORD_HOOK = [
  "bash",
  "-c",
  [
    'for _ in $(seq 1 290); do pg_isready -q -U "$POSTGRES_USER" -d "$POSTGRES_DB" && break; sleep 1; done',
    'psql -q -v ON_ERROR_STOP=1 -v pw="$POSTGRES_PASSWORD" -U "$POSTGRES_USER" -d "$POSTGRES_DB" <<<"ALTER ROLE \\"$POSTGRES_USER\\" PASSWORD :\'pw\'"',
  ].join("; "),
];
export const POSTGRES_PORT = 5432;
export const DATABASE_SECRET = "feed-database";
export const DATABASE_URL_KEY = "DATABASE_URL";

export interface DatabaseArgs {
  namespace: string;
  database: StackConfig["database"];
  image: string;
  resources: Resources;
  /** golive:rotation.postgres: a new value makes a new password. */
  rotationKeeper: string;
}

export class Database extends pulumi.ComponentResource {
  /** Secret holding DATABASE_URL. */
  readonly secretName = DATABASE_SECRET;
  /** Pod labels of the in-cluster Postgres (absent for an external database). */
  readonly podLabels?: Record<string, string>;
  readonly secret: k8s.core.v1.Secret;
  /** sha256 of the DATABASE_URL Secret's data, for the pod templates that read it. */
  readonly secretChecksum: pulumi.Output<string>;

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
        { length: 32, special: false, keepers: { rotation: args.rotationKeeper } },
        { parent: this },
      );
      const credentialsData = {
        POSTGRES_USER: "feed",
        POSTGRES_DB: "feed",
        POSTGRES_PASSWORD: password.result,
      };
      const credentials = new k8s.core.v1.Secret(
        "postgres-credentials",
        {
          metadata: { name: "postgres-credentials", namespace, labels },
          type: "Opaque",
          stringData: credentialsData,
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
              metadata: { labels, annotations: checksumAnnotations(secretChecksum(credentialsData)) },
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
                    lifecycle: { postStart: { exec: { command: APPLY_PASSWORD_HOOK } } },
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

    const data = { [DATABASE_URL_KEY]: url };
    this.secretChecksum = secretChecksum(data);
    this.secret = new k8s.core.v1.Secret(
      DATABASE_SECRET,
      {
        metadata: { name: DATABASE_SECRET, namespace, labels: appLabels("feed") },
        type: "Opaque",
        stringData: data,
      },
      { parent: this, dependsOn: children },
    );
    this.registerOutputs({ secretName: this.secretName });
  }
}
