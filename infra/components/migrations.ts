// Runs the feed image's drizzle migrations once per image before any feed or
// gateway pod rolls. The Job name carries a hash of the image, so a new image
// gets a new Job; Pulumi waits for a Job to complete, so workloads that
// dependOn it only roll after the schema is in place.
import { createHash } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Resources } from "../config";
import { DATABASE_URL_KEY } from "./database";
import { appLabels } from "./labels";
import { containerSecurity, podSecurity, tmpMount, tmpVolume } from "./pod-security";
import { checksumAnnotations } from "./secret-checksum";

/** The migrations entry of the feed image (apps/feed/src/migrate.ts, compiled). */
export const MIGRATE_COMMAND = ["/nodejs/bin/node", "dist/apps/feed/src/migrate.js"];

export interface MigrationsArgs {
  namespace: string;
  image: string;
  databaseSecret: k8s.core.v1.Secret;
  /** Hash of the database Secret: a rotated password makes a new pod template. */
  databaseChecksum: pulumi.Input<string>;
  resources: Resources;
}

export class Migrations extends pulumi.ComponentResource {
  readonly job: k8s.batch.v1.Job;
  readonly podLabels = appLabels("feed-migrate");

  constructor(name: string, args: MigrationsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("golive:data:Migrations", name, {}, opts);
    const suffix = createHash("sha256").update(args.image).digest("hex").slice(0, 8);
    const jobName = `feed-migrate-${suffix}`;
    this.job = new k8s.batch.v1.Job(
      jobName,
      {
        metadata: { name: jobName, namespace: args.namespace, labels: this.podLabels },
        spec: {
          backoffLimit: 3,
          activeDeadlineSeconds: 600,
          template: {
            metadata: { labels: this.podLabels, annotations: checksumAnnotations(args.databaseChecksum) },
            spec: {
              restartPolicy: "Never",
              automountServiceAccountToken: false,
              securityContext: podSecurity(),
              containers: [
                {
                  name: "migrate",
                  image: args.image,
                  command: MIGRATE_COMMAND,
                  env: [
                    {
                      name: DATABASE_URL_KEY,
                      valueFrom: {
                        secretKeyRef: { name: args.databaseSecret.metadata.name, key: DATABASE_URL_KEY },
                      },
                    },
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
      { parent: this, dependsOn: [args.databaseSecret] },
    );
    this.registerOutputs({ jobName });
  }
}
