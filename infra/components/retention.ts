// The GDPR/CCPA retention purge as a CronJob in the app namespace: the jobs
// image's entry (apps/jobs/src/retention.ts) deletes what is past its
// retention in batches. Contract: docs/backup-restore.md.

import { RETENTION_COMMAND, type RetentionEnv } from "@golive/jobs/contract";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Resources, StackConfig } from "../config";
import { appEnv } from "./app-env";
import { CRON_DEFAULTS } from "./cron";
import { databaseUrlEnv } from "./database";
import { appLabels } from "./labels";
import { type EgressRule, networkPolicy } from "./network";
import { containerSecurity, podSecurity, tmpMount, tmpVolume } from "./pod-security";
import { checksumAnnotations } from "./secret-checksum";

export { RETENTION_COMMAND };

export interface RetentionArgs {
  namespace: string;
  retention: StackConfig["retention"];
  logLevel: StackConfig["logLevel"];
  image: string;
  resources: Resources;
  /** Secret with DATABASE_URL (the database component's). */
  databaseSecret: k8s.core.v1.Secret;
  databaseChecksum: pulumi.Input<string>;
  /** Its NetworkPolicy: to the database (Database.clientEgress), nothing else. */
  databaseEgress: EgressRule;
  /** The component the CronJob belonged to before it had its own (the Backup). */
  formerParent?: pulumi.Resource;
}

export class Retention extends pulumi.ComponentResource {
  readonly labels = appLabels("retention");
  readonly cronJob: k8s.batch.v1.CronJob;

  constructor(name: string, args: RetentionArgs, opts?: pulumi.ComponentResourceOptions) {
    super("golive:data:Retention", name, {}, opts);
    const { namespace } = args;
    const databaseUrl = databaseUrlEnv(args.databaseSecret);
    const annotations = checksumAnnotations(args.databaseChecksum);

    this.cronJob = new k8s.batch.v1.CronJob(
      "retention",
      {
        metadata: { name: "retention", namespace, labels: this.labels },
        spec: {
          schedule: args.retention.jobSchedule,
          ...CRON_DEFAULTS,
          jobTemplate: {
            spec: {
              // Every batch re-selects what is due, so a retry finishes an interrupted run.
              backoffLimit: 2,
              activeDeadlineSeconds: 3600,
              template: {
                metadata: { labels: this.labels, annotations },
                spec: {
                  restartPolicy: "Never",
                  automountServiceAccountToken: false,
                  securityContext: podSecurity(),
                  containers: [
                    {
                      name: "retention",
                      image: args.image,
                      command: RETENTION_COMMAND,
                      env: appEnv<RetentionEnv>([
                        databaseUrl,
                        { name: "RETENTION_DAYS", value: String(args.retention.deletedUsersDays) },
                        { name: "LOG_LEVEL", value: args.logLevel },
                      ]),
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
      {
        parent: this,
        dependsOn: [args.databaseSecret],
        // It was the Backup component's child: existing stacks move it, not replace it.
        aliases: args.formerParent ? [{ parent: args.formerParent }] : [],
      },
    );

    networkPolicy(this, "retention-egress", args.namespace, this.labels, { egress: [args.databaseEgress] });
    this.registerOutputs({ retention: "retention" });
  }
}
