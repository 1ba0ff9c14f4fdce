// Runs the feed image's drizzle migrations once per image before any feed or
// gateway pod rolls. The Job name carries a hash of the image, so a new image
// gets a new Job; Pulumi waits for a Job to complete, so workloads that
// dependOn it only roll after the schema is in place.
// In-cluster, a first container (db-roles) applies the roles and the login
// passwords with the superuser's URL, and the migrations then run as the
// owner role. A rotated password changes the Secret's hash, which replaces the
// Job: the new password is set before the feed's DATABASE_URL names it.
import { createHash } from "node:crypto";
import { type DbRolesEnv, FEED_COMMANDS, type MigrateEnv } from "@golive/feed/contract";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Resources } from "../config";
import { appEnv } from "./app-env";
import { DATABASE_URL_KEY, LOGIN_PASSWORD_KEYS, type MigrationsAccess } from "./database";
import { appLabels } from "./labels";
import { type EgressRule, networkPolicy } from "./network";
import { containerSecurity, podSecurity, tmpMount, tmpVolume } from "./pod-security";
import { checksumAnnotations } from "./secret-checksum";

/** The migrations and roles entries of the feed image (its contract). */
export const MIGRATE_COMMAND = FEED_COMMANDS.migrate;
export const DB_ROLES_COMMAND = FEED_COMMANDS.dbRoles;

export interface MigrationsArgs {
  namespace: string;
  image: string;
  database: MigrationsAccess;
  resources: Resources;
  /** Its NetworkPolicy: to the database (Database.clientEgress), nothing else. */
  databaseEgress: EgressRule;
  /** The stack's golive:logLevel. */
  logLevel: string;
}

export class Migrations extends pulumi.ComponentResource {
  readonly job: k8s.batch.v1.Job;
  readonly podLabels = appLabels("feed-migrate");

  constructor(name: string, args: MigrationsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("golive:data:Migrations", name, {}, opts);
    const suffix = createHash("sha256").update(args.image).digest("hex").slice(0, 8);
    const jobName = `feed-migrate-${suffix}`;
    const { secret, roles } = args.database;
    const fromSecret = <Name extends string>(name: Name, key: string) => ({
      name,
      valueFrom: { secretKeyRef: { name: secret.metadata.name, key } },
    });
    // Both commands read these (a name outside either schema is a type error).
    const databaseUrl = appEnv<MigrateEnv & DbRolesEnv>([fromSecret("DATABASE_URL", DATABASE_URL_KEY)]);
    const logLevel = appEnv<MigrateEnv & DbRolesEnv>([{ name: "LOG_LEVEL", value: args.logLevel }]);
    const container = (name: string, command: string[], env: k8s.types.input.core.v1.EnvVar[]) => ({
      name,
      image: args.image,
      command,
      env: [...databaseUrl, ...env, ...logLevel],
      resources: args.resources,
      securityContext: containerSecurity(),
      volumeMounts: [tmpMount],
    });
    const rolesStep = roles
      ? [
          container(
            "db-roles",
            DB_ROLES_COMMAND,
            appEnv<DbRolesEnv>([
              fromSecret("FEED_A_PASSWORD", LOGIN_PASSWORD_KEYS.feed_a),
              fromSecret("FEED_B_PASSWORD", LOGIN_PASSWORD_KEYS.feed_b),
              { name: "FEED_LOGIN_ACTIVE", value: roles.active },
              { name: "FEED_LOGIN_GRACE_MINUTES", value: String(roles.graceMinutes) },
            ]),
          ),
        ]
      : undefined;
    const migrate = container(
      "migrate",
      MIGRATE_COMMAND,
      appEnv<MigrateEnv>(roles ? [{ name: "MIGRATIONS_ROLE", value: roles.owner }] : []),
    );
    this.job = new k8s.batch.v1.Job(
      jobName,
      {
        metadata: { name: jobName, namespace: args.namespace, labels: this.podLabels },
        spec: {
          backoffLimit: 3,
          activeDeadlineSeconds: 600,
          template: {
            metadata: { labels: this.podLabels, annotations: checksumAnnotations(args.database.checksum) },
            spec: {
              restartPolicy: "Never",
              automountServiceAccountToken: false,
              securityContext: podSecurity(),
              initContainers: rolesStep,
              containers: [migrate],
              volumes: [tmpVolume],
            },
          },
        },
      },
      { parent: this, dependsOn: [secret] },
    );
    networkPolicy(this, "migrations-egress", args.namespace, this.podLabels, {
      egress: [args.databaseEgress],
    });
    this.registerOutputs({ jobName });
  }
}
