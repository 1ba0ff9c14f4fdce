// Database backups and the GDPR/CCPA retention purge, both as CronJobs in the
// app namespace. The backup runs apps/jobs/src/backup.sh (mounted from a
// ConfigMap read from the repo at render time) in the stack's own postgres
// image, so pg_dump always matches the server's major version; dumps go to a
// PVC. The retention job runs the jobs image's entry (apps/jobs/Dockerfile).
// Contract: docs/backup-restore.md.
import { readFileSync } from "node:fs";
import path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Resources, StackConfig } from "../config";
import { DATABASE_URL_KEY, POSTGRES_UID } from "./database";
import { appLabels } from "./labels";
import { containerSecurity, podSecurity, tmpMount, tmpVolume } from "./pod-security";
import { checksumAnnotations } from "./secret-checksum";

/** The script's path in the repository; its content becomes the ConfigMap. */
export const BACKUP_SCRIPT = path.join("apps", "jobs", "src", "backup.sh");
/** The retention entry of the jobs image (CMD of apps/jobs/Dockerfile, run by distroless node). */
export const RETENTION_COMMAND = ["/nodejs/bin/node", "dist/apps/jobs/src/retention.js"];
export const BACKUP_DIR = "/backups";
const SCRIPT_DIR = "/scripts";

export interface BackupArgs {
  namespace: string;
  repoRoot: string;
  backup: StackConfig["backup"];
  retention: StackConfig["retention"];
  images: { postgres: string; jobs: string };
  resources: Resources;
  /** Secret with DATABASE_URL (the database component's). */
  databaseSecret: k8s.core.v1.Secret;
  databaseChecksum: pulumi.Input<string>;
}

export class Backup extends pulumi.ComponentResource {
  readonly backupLabels = appLabels("backup");
  readonly retentionLabels = appLabels("retention");
  readonly backupCronJob: k8s.batch.v1.CronJob;
  readonly retentionCronJob: k8s.batch.v1.CronJob;

  constructor(name: string, args: BackupArgs, opts?: pulumi.ComponentResourceOptions) {
    super("golive:data:Backup", name, {}, opts);
    const { namespace } = args;
    const databaseUrl = {
      name: DATABASE_URL_KEY,
      valueFrom: { secretKeyRef: { name: args.databaseSecret.metadata.name, key: DATABASE_URL_KEY } },
    };
    const annotations = checksumAnnotations(args.databaseChecksum);
    // One run at a time, a missed run may still start within the hour, and
    // a few finished Jobs stay for their logs.
    const cronDefaults = {
      concurrencyPolicy: "Forbid",
      startingDeadlineSeconds: 3600,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
    };

    const script = new k8s.core.v1.ConfigMap(
      "backup-script",
      {
        metadata: { name: "backup-script", namespace, labels: this.backupLabels },
        data: { "backup.sh": readFileSync(path.join(args.repoRoot, BACKUP_SCRIPT), "utf8") },
      },
      { parent: this },
    );
    const volume = new k8s.core.v1.PersistentVolumeClaim(
      "backups",
      {
        metadata: { name: "backups", namespace, labels: this.backupLabels },
        spec: {
          // One Job at a time (Forbid), so a single-node volume is enough.
          accessModes: ["ReadWriteOnce"],
          storageClassName: args.backup.storageClassName,
          resources: { requests: { storage: `${args.backup.storageGi}Gi` } },
        },
      },
      { parent: this },
    );

    this.backupCronJob = new k8s.batch.v1.CronJob(
      "backup",
      {
        metadata: { name: "backup", namespace, labels: this.backupLabels },
        spec: {
          schedule: args.backup.schedule,
          ...cronDefaults,
          jobTemplate: {
            spec: {
              backoffLimit: 2,
              activeDeadlineSeconds: 3 * 3600,
              template: {
                metadata: { labels: this.backupLabels, annotations },
                spec: {
                  restartPolicy: "Never",
                  automountServiceAccountToken: false,
                  // The image's postgres user: non-root, and fsGroup makes the volume writable to it.
                  securityContext: podSecurity(POSTGRES_UID),
                  containers: [
                    {
                      name: "backup",
                      image: args.images.postgres,
                      command: ["bash", `${SCRIPT_DIR}/backup.sh`],
                      env: [
                        databaseUrl,
                        { name: "BACKUP_DIR", value: BACKUP_DIR },
                        { name: "BACKUP_KEEP", value: String(args.backup.keep) },
                        { name: "BACKUP_PREFIX", value: "golive" },
                        { name: "BACKUP_COMPRESS", value: "6" },
                      ],
                      resources: args.resources,
                      securityContext: containerSecurity(POSTGRES_UID),
                      volumeMounts: [
                        { name: "script", mountPath: SCRIPT_DIR, readOnly: true },
                        { name: "backups", mountPath: BACKUP_DIR },
                        tmpMount,
                      ],
                    },
                  ],
                  volumes: [
                    { name: "script", configMap: { name: script.metadata.name, defaultMode: 0o444 } },
                    { name: "backups", persistentVolumeClaim: { claimName: volume.metadata.name } },
                    tmpVolume,
                  ],
                },
              },
            },
          },
        },
      },
      { parent: this, dependsOn: [script, volume, args.databaseSecret] },
    );

    this.retentionCronJob = new k8s.batch.v1.CronJob(
      "retention",
      {
        metadata: { name: "retention", namespace, labels: this.retentionLabels },
        spec: {
          schedule: args.retention.jobSchedule,
          ...cronDefaults,
          jobTemplate: {
            spec: {
              // Every batch re-selects what is due, so a retry finishes an interrupted run.
              backoffLimit: 2,
              activeDeadlineSeconds: 3600,
              template: {
                metadata: { labels: this.retentionLabels, annotations },
                spec: {
                  restartPolicy: "Never",
                  automountServiceAccountToken: false,
                  securityContext: podSecurity(),
                  containers: [
                    {
                      name: "retention",
                      image: args.images.jobs,
                      command: RETENTION_COMMAND,
                      env: [
                        databaseUrl,
                        { name: "RETENTION_DAYS", value: String(args.retention.deletedUsersDays) },
                        { name: "LOG_LEVEL", value: "info" },
                      ],
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
      { parent: this, dependsOn: [args.databaseSecret] },
    );

    this.registerOutputs({ backup: "backup", retention: "retention" });
  }
}
