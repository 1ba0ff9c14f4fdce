// The data layer: Postgres (or an external database), the migrations Job, the
// app's DATABASE_URL Secret, the backup and the GDPR/CCPA retention CronJobs.
import { jobsApp } from "@golive/jobs/app";
import { Backup } from "../components/backup";
import { appDatabaseSecret, Database } from "../components/database";
import { Migrations } from "../components/migrations";
import { Retention } from "../components/retention";
import { forApp } from "../config";
import { REPO_ROOT, type StackContext } from "./context";

export function dataLayer({ config, apps, ns, after }: StackContext) {
  const namespace = ns.names.app;
  const database = new Database(
    "database",
    {
      namespace,
      database: config.database,
      image: config.images.postgres,
      resources: config.resources.postgres,
      rotation: config.rotation,
    },
    after("app"),
  );
  // The app whose image carries the migrations (its descriptor says so).
  const owner = apps.find((a) => a.kind === "service" && a.migrations);
  if (!owner) throw new Error("no app of the list carries the database migrations (migrations: true)");
  const migrations = new Migrations(
    "migrations",
    {
      namespace,
      image: forApp(config.images, owner.name),
      database: database.migrations,
      resources: config.resources.migrations,
      databaseEgress: database.clientEgress,
      logLevel: config.logLevel,
    },
    after("app"),
  );
  // DATABASE_URL for the services and the jobs, written once the Job has set
  // up what it names. Every pod template that reads it carries its hash, so a
  // rotated login rolls them.
  const appDatabase = appDatabaseSecret(namespace, database.appUrl, {
    dependsOn: [migrations.job, ns.resources.app],
  });
  const client = {
    databaseSecret: appDatabase.secret,
    databaseChecksum: appDatabase.checksum,
    databaseEgress: database.clientEgress,
  };
  const backup = new Backup(
    "backup",
    {
      namespace,
      repoRoot: REPO_ROOT,
      backup: config.backup,
      images: { postgres: config.images.postgres, rclone: config.images.rclone },
      environment: config.environment,
      resources: config.resources.jobs,
      ...client,
    },
    after("app"),
  );
  const retention = new Retention(
    "retention",
    {
      namespace,
      retention: config.retention,
      logLevel: config.logLevel,
      image: forApp(config.images, jobsApp.name),
      resources: config.resources.jobs,
      ...client,
      formerParent: backup,
    },
    after("app"),
  );
  return { database, migrations, appDatabase, backup, retention, client };
}

export type DataLayer = ReturnType<typeof dataLayer>;
