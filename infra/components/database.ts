// Where the feed's Postgres lives, and the credentials to reach it.
// In-cluster: a single-replica StatefulSet with a PVC, a generated superuser
// password, and two generated login roles (feed_a, feed_b) that take turns as
// the feed's user, so rotating the app's password needs no restart and no
// downtime (apps/feed/src/db-roles.ts, docs/secret-rotation.md).
// External: only the URL, kept secret.
// The migrations Job reads its own Secret; the feed, backup and retention read
// DATABASE_URL from `feed-database`, which stack.ts creates after the Job has
// applied the roles and passwords that URL names.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { Resources, StackConfig } from "../config";
import { appLabels } from "./labels";
import { type EgressRule, networkPolicy, tcp } from "./network";
import { containerSecurity, podSecurity } from "./pod-security";
import { checksumAnnotations, secretChecksum } from "./secret-checksum";

/** uid of the postgres user in the official image. */
export const POSTGRES_UID = 999;

/**
 * The image sets POSTGRES_PASSWORD (the superuser's) only when it initialises
 * an empty data directory. After an admin rotation the StatefulSet rolls
 * (checksum annotation) and this hook applies the Secret's password to the
 * role over the local socket (trusted in the official image), so the new value
 * is the one that works. The login roles' passwords never restart anything:
 * the migrations Job sets them.
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

/** A container's DATABASE_URL, read from the database Secret's key. */
export function databaseUrlEnv(secret: k8s.core.v1.Secret) {
  return {
    name: "DATABASE_URL" as const,
    valueFrom: { secretKeyRef: { name: secret.metadata.name, key: DATABASE_URL_KEY } },
  };
}
/** The migrations Job's Secret: the superuser's URL (in-cluster) or the external URL. */
export const MIGRATIONS_SECRET = "feed-database-migrations";
/** The superuser of the in-cluster server; only the migrations Job and Postgres itself know its password. */
export const POSTGRES_ADMIN = "postgres";
export const DATABASE_NAME = "feed";
/** Roles of apps/feed/src/db-roles.ts (kept in step by infra/test/rotation.test.ts). */
export const OWNER_ROLE = "feed_owner";
export const LOGIN_ROLES = ["feed_a", "feed_b"] as const;
export const LOGIN_PASSWORD_KEYS = { feed_a: "FEED_A_PASSWORD", feed_b: "FEED_B_PASSWORD" } as const;

export interface DatabaseArgs {
  namespace: string;
  database: StackConfig["database"];
  image: string;
  resources: Resources;
  /** golive:rotation: a new keeper makes a new password. */
  rotation: StackConfig["rotation"];
}

/** What the migrations Job needs to reach the database and set it up. */
export interface MigrationsAccess {
  /** Holds DATABASE_URL for the Job and, in-cluster, the login roles' passwords. */
  secret: k8s.core.v1.Secret;
  /** sha256 of that Secret: a new password replaces the Job, which applies it. */
  checksum: pulumi.Output<string>;
  /** In-cluster only: the roles step (db-roles) and the role migrations run as. */
  roles?: { active: (typeof LOGIN_ROLES)[number]; graceMinutes: number; owner: string };
}

export class Database extends pulumi.ComponentResource {
  /** Pod labels of the in-cluster Postgres (absent for an external database). */
  readonly podLabels?: Record<string, string>;
  readonly migrations: MigrationsAccess;
  /** The feed's DATABASE_URL (a Pulumi secret): the active login role, or the external URL. */
  readonly appUrl: pulumi.Output<string>;
  /** The egress rule a database client's NetworkPolicy needs: to Postgres, on its port only. */
  readonly clientEgress: EgressRule;

  constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("golive:data:Database", name, {}, opts);
    const { namespace } = args;
    let migrationsData: Record<string, pulumi.Input<string>>;
    const children: pulumi.Resource[] = [];

    if (args.database.mode === "external") {
      this.clientEgress = { to: [{ ipBlock: { cidr: args.database.cidr } }], ports: tcp(POSTGRES_PORT) };
      this.appUrl = pulumi.secret(args.database.url);
      migrationsData = { [DATABASE_URL_KEY]: this.appUrl };
    } else {
      const server = inClusterPostgres(this, name, args);
      this.podLabels = server.labels;
      this.clientEgress = server.clientEgress;
      this.appUrl = server.appUrl;
      migrationsData = server.migrationsData;
      children.push(...server.children);
    }

    const secret = new k8s.core.v1.Secret(
      MIGRATIONS_SECRET,
      {
        metadata: { name: MIGRATIONS_SECRET, namespace, labels: appLabels("feed-migrate") },
        type: "Opaque",
        stringData: migrationsData,
      },
      { parent: this, dependsOn: children },
    );
    this.migrations = {
      secret,
      checksum: secretChecksum(migrationsData),
      roles:
        args.database.mode === "in-cluster"
          ? {
              active: args.rotation.postgresLogins.active,
              graceMinutes: args.rotation.postgresLogins.graceMinutes,
              owner: OWNER_ROLE,
            }
          : undefined,
    };
    this.registerOutputs({ migrationsSecret: MIGRATIONS_SECRET });
  }

  /**
   * In-cluster: lets exactly these client pods (same namespace) reach Postgres.
   * Called once every client component exists.
   */
  admit(namespace: string, clients: Record<string, string>[]): void {
    if (!this.podLabels) return;
    networkPolicy(this, "postgres-ingress", namespace, this.podLabels, {
      ingress: [
        {
          from: clients.map((labels) => ({ podSelector: { matchLabels: labels } })),
          ports: tcp(POSTGRES_PORT),
        },
      ],
    });
  }
}

/**
 * The feed's DATABASE_URL Secret and the hash its readers carry. Created after
 * the migrations Job (dependsOn), so a rotated URL only reaches a pod once the
 * Job has set the password it holds: a pod restarted mid-deploy never starts
 * with a login that does not work yet.
 */
export function appDatabaseSecret(
  namespace: string,
  url: pulumi.Output<string>,
  opts: pulumi.CustomResourceOptions,
): { secret: k8s.core.v1.Secret; checksum: pulumi.Output<string> } {
  const data = { [DATABASE_URL_KEY]: url };
  const secret = new k8s.core.v1.Secret(
    DATABASE_SECRET,
    {
      metadata: { name: DATABASE_SECRET, namespace, labels: appLabels("feed") },
      type: "Opaque",
      stringData: data,
    },
    opts,
  );
  return { secret, checksum: secretChecksum(data) };
}

/** Postgres in the cluster: generated passwords (rotated by golive:rotation), its Secret, Service and StatefulSet. */
function inClusterPostgres(parent: pulumi.Resource, name: string, args: DatabaseArgs) {
  if (args.database.mode !== "in-cluster") throw new Error("not an in-cluster database");
  const { namespace } = args;
  const labels = appLabels("postgres");
  const clientEgress = { to: [{ podSelector: { matchLabels: labels } }], ports: tcp(POSTGRES_PORT) };
  const host = `postgres.${namespace}.svc.cluster.local:${POSTGRES_PORT}`;
  const password = (resource: string, keeper: string) =>
    new random.RandomPassword(
      resource,
      { length: 32, special: false, keepers: { rotation: keeper } },
      { parent },
    ).result;
  const adminPassword = password(`${name}-admin-password`, args.rotation.postgresAdmin);
  const logins = args.rotation.postgresLogins;
  const loginPasswords = {
    feed_a: password(`${name}-password-feed-a`, logins.feed_a),
    feed_b: password(`${name}-password-feed-b`, logins.feed_b),
  };
  const serverData = {
    POSTGRES_USER: POSTGRES_ADMIN,
    POSTGRES_DB: DATABASE_NAME,
    POSTGRES_PASSWORD: adminPassword,
  };
  const credentials = new k8s.core.v1.Secret(
    "postgres-credentials",
    {
      metadata: { name: "postgres-credentials", namespace, labels },
      type: "Opaque",
      stringData: serverData,
    },
    { parent },
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
    { parent },
  );
  const statefulSet = postgresStatefulSet(parent, args, labels, serverData, credentials);
  const url = (user: string, pw: pulumi.Input<string>) =>
    pulumi.secret(pulumi.interpolate`postgres://${user}:${pw}@${host}/${DATABASE_NAME}`);
  const appUrl = url(logins.active, loginPasswords[logins.active]);
  const migrationsData = {
    [DATABASE_URL_KEY]: url(POSTGRES_ADMIN, adminPassword),
    [LOGIN_PASSWORD_KEYS.feed_a]: loginPasswords.feed_a,
    [LOGIN_PASSWORD_KEYS.feed_b]: loginPasswords.feed_b,
  };
  return { labels, clientEgress, appUrl, migrationsData, children: [service, statefulSet] };
}

/** One Postgres pod on its own volume: restricted, read-only root, probes by pg_isready. */
function postgresStatefulSet(
  parent: pulumi.Resource,
  args: DatabaseArgs,
  labels: Record<string, string>,
  serverData: Record<string, pulumi.Input<string>>,
  credentials: pulumi.Resource,
): k8s.apps.v1.StatefulSet {
  if (args.database.mode !== "in-cluster") throw new Error("not an in-cluster database");
  const { namespace } = args;
  const ready = ["pg_isready", "-U", POSTGRES_ADMIN, "-d", DATABASE_NAME];
  return new k8s.apps.v1.StatefulSet(
    "postgres",
    {
      metadata: { name: "postgres", namespace, labels },
      spec: {
        serviceName: "postgres",
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          // Only the superuser's password restarts the server; login roles rotate live.
          metadata: { labels, annotations: checksumAnnotations(secretChecksum(serverData)) },
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
                startupProbe: { exec: { command: ready }, periodSeconds: 5, failureThreshold: 60 },
                livenessProbe: { exec: { command: ready }, periodSeconds: 10 },
                readinessProbe: { exec: { command: ready }, periodSeconds: 5 },
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
    { parent, dependsOn: [credentials] },
  );
}
