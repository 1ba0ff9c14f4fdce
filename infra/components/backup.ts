// Database backups as a CronJob in the app namespace. The backup runs apps/jobs/src/backup.sh (mounted from a
// ConfigMap read from the repo at render time) in the stack's own postgres
// image, so pg_dump always matches the server's major version; dumps go to a
// PVC. With backup.offsite, backup.sh becomes the pod's init container and
// apps/jobs/src/offsite.sh (rclone image) then copies the dumps to a bucket.
// Contract: docs/backup-restore.md.
import { readFileSync } from "node:fs";
import path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Resources, StackConfig } from "../config";
import { CRON_DEFAULTS } from "./cron";
import { databaseUrlEnv, POSTGRES_UID } from "./database";
import { appLabels } from "./labels";
import { type EgressRule, networkPolicy, tcp } from "./network";
import { containerSecurity, podSecurity, tmpMount, tmpVolume } from "./pod-security";
import { checksumAnnotations } from "./secret-checksum";

/** The scripts' paths in the repository; their content becomes the ConfigMap. */
export const BACKUP_SCRIPT = path.join("apps", "jobs", "src", "backup.sh");
export const OFFSITE_SCRIPT = path.join("apps", "jobs", "src", "offsite.sh");
/** The rclone remote offsite.sh writes to; its settings are RCLONE_CONFIG_OFFSITE_* variables. */
const REMOTE = "offsite";
const remoteVar = (key: string) => `RCLONE_CONFIG_${REMOTE.toUpperCase()}_${key}`;
export const BACKUP_DIR = "/backups";
const SCRIPT_DIR = "/scripts";
const BACKUP_PREFIX = "golive";

export interface BackupArgs {
  namespace: string;
  repoRoot: string;
  backup: StackConfig["backup"];
  images: { postgres: string; rclone: string };
  /** Default folder in the off-site bucket. */
  environment: string;
  resources: Resources;
  /** Secret with DATABASE_URL (the database component's). */
  databaseSecret: k8s.core.v1.Secret;
  databaseChecksum: pulumi.Input<string>;
  /** Its NetworkPolicy: to the database (Database.clientEgress) and the off-site bucket. */
  databaseEgress: EgressRule;
}

export class Backup extends pulumi.ComponentResource {
  readonly backupLabels = appLabels("backup");
  readonly backupCronJob: k8s.batch.v1.CronJob;
  /** The bucket credentials (with backup.offsite). */
  readonly offsiteSecret?: k8s.core.v1.Secret;

  constructor(name: string, args: BackupArgs, opts?: pulumi.ComponentResourceOptions) {
    super("golive:data:Backup", name, {}, opts);
    const { namespace } = args;
    const annotations = checksumAnnotations(args.databaseChecksum);

    const { script, volume } = backupStorage(this, args, this.backupLabels);
    const dump = dumpContainer(args);
    const offsite = args.backup.offsite ? this.offsiteStep(args, args.backup.offsite) : undefined;
    this.offsiteSecret = offsite?.secret;
    const upload = offsite?.container;

    this.backupCronJob = new k8s.batch.v1.CronJob(
      "backup",
      {
        metadata: { name: "backup", namespace, labels: this.backupLabels },
        spec: {
          schedule: args.backup.schedule,
          ...CRON_DEFAULTS,
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
                  // Off-site: the dump first (init container), then the upload.
                  initContainers: upload ? [dump] : undefined,
                  containers: [upload ?? dump],
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
      {
        parent: this,
        dependsOn: [script, volume, args.databaseSecret, ...(this.offsiteSecret ? [this.offsiteSecret] : [])],
      },
    );

    const bucket = args.backup.offsite;
    networkPolicy(this, "backup-egress", args.namespace, this.backupLabels, {
      egress: [
        args.databaseEgress,
        // The off-site bucket's S3 API (HTTPS only).
        ...(bucket ? [{ to: [{ ipBlock: { cidr: bucket.cidr } }], ports: tcp(443) }] : []),
      ],
    });
    this.registerOutputs({ backup: "backup" });
  }

  /** rclone, reading the volume (read-only) and writing to the bucket with a key from a Secret. */
  private offsiteStep(args: BackupArgs, offsite: NonNullable<StackConfig["backup"]["offsite"]>) {
    const secretName = "backup-offsite";
    const secret = new k8s.core.v1.Secret(
      secretName,
      {
        metadata: { name: secretName, namespace: args.namespace, labels: this.backupLabels },
        type: "Opaque",
        stringData: {
          [remoteVar("ACCESS_KEY_ID")]: pulumi.secret(offsite.accessKeyId),
          [remoteVar("SECRET_ACCESS_KEY")]: pulumi.secret(offsite.secretAccessKey),
        },
      },
      { parent: this },
    );
    const folder = offsite.path ?? args.environment;
    const container = {
      name: "offsite",
      image: args.images.rclone,
      command: ["/bin/sh", `${SCRIPT_DIR}/offsite.sh`],
      env: [
        { name: "BACKUP_DIR", value: BACKUP_DIR },
        { name: "BACKUP_PREFIX", value: BACKUP_PREFIX },
        { name: "OFFSITE_REMOTE", value: `${REMOTE}:${offsite.bucket}/${folder}` },
        { name: "OFFSITE_KEEP", value: String(offsite.keep) },
        { name: remoteVar("TYPE"), value: "s3" },
        { name: remoteVar("PROVIDER"), value: offsite.provider },
        { name: remoteVar("REGION"), value: offsite.region },
        ...(offsite.endpoint ? [{ name: remoteVar("ENDPOINT"), value: offsite.endpoint }] : []),
        // The bucket exists; the key needs no CreateBucket right.
        { name: remoteVar("NO_CHECK_BUCKET"), value: "true" },
        { name: "HOME", value: "/tmp" },
      ],
      envFrom: [{ secretRef: { name: secretName } }],
      resources: args.resources,
      securityContext: containerSecurity(POSTGRES_UID),
      volumeMounts: [
        { name: "script", mountPath: SCRIPT_DIR, readOnly: true },
        { name: "backups", mountPath: BACKUP_DIR, readOnly: true },
        tmpMount,
      ],
    };
    return { secret, container };
  }
}

/** The script (a ConfigMap) and the volume the dumps land on. */
function backupStorage(parent: pulumi.Resource, args: BackupArgs, labels: Record<string, string>) {
  const { namespace } = args;
  const script = new k8s.core.v1.ConfigMap(
    "backup-script",
    {
      metadata: { name: "backup-script", namespace, labels: labels },
      data: {
        "backup.sh": readFileSync(path.join(args.repoRoot, BACKUP_SCRIPT), "utf8"),
        ...(args.backup.offsite
          ? { "offsite.sh": readFileSync(path.join(args.repoRoot, OFFSITE_SCRIPT), "utf8") }
          : {}),
      },
    },
    { parent },
  );
  const volume = new k8s.core.v1.PersistentVolumeClaim(
    "backups",
    {
      metadata: { name: "backups", namespace, labels: labels },
      spec: {
        // One Job at a time (Forbid), so a single-node volume is enough.
        accessModes: ["ReadWriteOnce"],
        storageClassName: args.backup.storageClassName,
        resources: { requests: { storage: `${args.backup.storageGi}Gi` } },
      },
    },
    { parent },
  );
  return { script, volume };
}

/** pg_dump in the stack's own postgres image: always the server's major version. */
function dumpContainer(args: BackupArgs): k8s.types.input.core.v1.Container {
  return {
    name: "backup",
    image: args.images.postgres,
    command: ["bash", `${SCRIPT_DIR}/backup.sh`],
    env: [
      databaseUrlEnv(args.databaseSecret),
      { name: "BACKUP_DIR", value: BACKUP_DIR },
      { name: "BACKUP_KEEP", value: String(args.backup.keep) },
      { name: "BACKUP_PREFIX", value: BACKUP_PREFIX },
      { name: "BACKUP_COMPRESS", value: "6" },
    ],
    resources: args.resources,
    securityContext: containerSecurity(POSTGRES_UID),
    volumeMounts: [
      { name: "script", mountPath: SCRIPT_DIR, readOnly: true },
      { name: "backups", mountPath: BACKUP_DIR },
      tmpMount,
    ],
  };
}
