// All stack configuration, parsed once through one zod schema. Anything the
// program needs from `Pulumi.<stack>.yaml` is declared here; an invalid stack
// fails before a single resource is registered, with the key and the reason.
import { existsSync } from "node:fs";
import path from "node:path";
import {
  DEFAULT_FLAGS,
  type FaultInjection,
  FLAG_KEYS,
  FLAGS,
  type FlagKey,
  isFault,
} from "@golive/flags/flags";
import { preflightPaymentsSchema } from "@golive/preflight/payments/credentials";
import type { AppDescriptor } from "@golive/shared/app-descriptor";
import { logLevelName } from "@golive/shared/env";
import { DEFAULT_SAMPLE_RATIO, sampleRatioSchema } from "@golive/tracing/env";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { alertmanagerSettingsSchema } from "../alerting/alertmanager";
import { APPS, servicesOf } from "./apps";
import { CHARTS, mirrorArchive } from "./charts";

/** Pulumi config namespace: keys are `golive:<key>` in Pulumi.<stack>.yaml. */
export const CONFIG_NAMESPACE = "golive";

const DIGEST = /@sha256:[a-f0-9]{64}$/;
const TAG = /^[\w][\w.-]{0,127}$/;

/**
 * An image reference that names exactly one build: `repo@sha256:<digest>` or
 * `repo:<tag>` where the tag is not `latest`. A registry port
 * (`localhost:5000/feed`) is not a tag: the tag is what follows the last
 * colon after the last slash.
 */
export const imageRef = z.string().superRefine((ref, ctx) => {
  if (DIGEST.test(ref)) return;
  const lastSlash = ref.lastIndexOf("/");
  const colon = ref.indexOf(":", lastSlash + 1);
  if (colon < 0) {
    ctx.addIssue({ code: "custom", message: `"${ref}" is untagged; pin it by tag or @sha256 digest` });
    return;
  }
  const tag = ref.slice(colon + 1);
  if (tag === "latest") {
    ctx.addIssue({
      code: "custom",
      message: `"${ref}" uses "latest", which is not a pin; use a version tag or digest`,
    });
  } else if (!TAG.test(tag)) {
    ctx.addIssue({ code: "custom", message: `"${ref}" has an invalid tag "${tag}"` });
  }
});

const quantityCpu = z.string().regex(/^\d+(\.\d+)?m?$/, "a CPU quantity such as 250m or 1");
const quantityMem = z.string().regex(/^\d+(Ki|Mi|Gi)$/, "a memory quantity such as 256Mi or 1Gi");

const resources = z.strictObject({
  requests: z.strictObject({ cpu: quantityCpu, memory: quantityMem }),
  limits: z.strictObject({ cpu: quantityCpu, memory: quantityMem }),
});
export type Resources = z.infer<typeof resources>;

const scaling = z
  .strictObject({ min: z.number().int().min(1).max(50), max: z.number().int().min(1).max(100) })
  .refine((s) => s.max >= s.min, { message: "max must be at least min", path: ["max"] });

const hostname = z
  .string()
  .regex(
    /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/,
    "a lowercase DNS name such as api.example.com",
  );

const LETS_ENCRYPT = {
  staging: "https://acme-staging-v02.api.letsencrypt.org/directory",
  prod: "https://acme-v02.api.letsencrypt.org/directory",
} as const;

export { LETS_ENCRYPT };

const tls = z.discriminatedUnion("issuer", [
  z.strictObject({
    issuer: z.literal("acme"),
    email: z.email("an e-mail address for ACME account notices"),
    server: z.url({ protocol: /^https$/, error: "an https ACME directory URL" }),
  }),
  // For kind/k3d on a laptop: no public DNS, so no ACME challenge can succeed.
  z.strictObject({ issuer: z.literal("selfSigned") }),
]);

const database = z.discriminatedUnion("mode", [
  z.strictObject({
    mode: z.literal("in-cluster"),
    storageGi: z.number().int().min(1).max(1000).default(10),
    storageClassName: z.string().min(1).optional(),
  }),
  z.strictObject({
    mode: z.literal("external"),
    /** Read from the secret key `golive:databaseUrl`; see loadStackConfig. */
    url: z
      .string()
      .regex(/^postgres(ql)?:\/\/[^\s]+$/, "a postgres:// URL (set it with pulumi config set --secret)"),
    /** Where the database lives, for the egress NetworkPolicy. */
    cidr: z.cidrv4().default("0.0.0.0/0"),
  }),
]);

/**
 * A Kubernetes CronJob schedule: five cron fields or one of the @macros the
 * CronJob controller understands. Checked here so a typo fails before deploy
 * rather than as a CronJob the API server rejects halfway through `pulumi up`.
 */
export const cronSchedule = z
  .string()
  .regex(
    /^(@(yearly|annually|monthly|weekly|daily|hourly)|([0-9A-Za-z*,/?-]+\s+){4}[0-9A-Za-z*,/?-]+)$/,
    'a cron schedule such as "0 */6 * * *" or @daily',
  );

/** Requests and limits of the backup and retention CronJobs when a stack does not set them. */
const DEFAULT_JOB_RESOURCES = {
  requests: { cpu: "50m", memory: "64Mi" },
  limits: { cpu: "500m", memory: "256Mi" },
};

/**
 * Off-site copies of the dumps in an S3-compatible bucket (apps/jobs/src/offsite.sh,
 * run by rclone after each dump). The keys come from the secret config keys
 * `golive:backupOffsiteAccessKeyId` and `golive:backupOffsiteSecretAccessKey`.
 */
const offsite = z.strictObject({
  /** rclone's S3 provider: AWS, GCS, Cloudflare, Minio, Ceph, Wasabi, Other, ... */
  provider: z
    .string()
    .regex(/^[A-Za-z0-9]+$/, "an rclone S3 provider name such as AWS")
    .default("AWS"),
  bucket: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "an S3 bucket name (3-63 lowercase characters)"),
  /** Folder inside the bucket; defaults to the environment, so stacks can share a bucket. */
  path: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]*(\/[a-z0-9][a-z0-9-]*)*$/, "a folder such as prod or golive/prod")
    .optional(),
  region: z.string().min(1),
  /** Only for non-AWS providers: the S3 API endpoint. */
  endpoint: z.url({ protocol: /^https$/, error: "an https URL" }).optional(),
  /** Dumps kept in the bucket; at least backup.keep (see the refinement below). */
  keep: z.number().int().min(1).max(99999).default(28),
  /** Where the endpoint lives, for the backup pod's egress NetworkPolicy (port 443). */
  cidr: z.cidrv4().default("0.0.0.0/0"),
  accessKeyId: z.string({ error: "is required with backup.offsite" }).min(1),
  secretAccessKey: z.string({ error: "is required with backup.offsite" }).min(1),
});

const backup = z
  .strictObject({
    /** When pg_dump runs; the interval is the RPO (docs/backup-restore.md). */
    schedule: cronSchedule.default("0 3 * * *"),
    /** How many complete dumps the volume keeps (BACKUP_KEEP). */
    keep: z.number().int().min(1).max(9999).default(7),
    storageGi: z.number().int().min(1).max(10000).default(10),
    storageClassName: z.string().min(1).optional(),
    offsite: offsite.optional(),
  })
  .superRefine((b, ctx) => {
    // Each run copies every dump on the volume the bucket lacks: a bucket that
    // keeps fewer than the volume would have its pruned dumps uploaded again.
    if (b.offsite && b.offsite.keep < b.keep) {
      ctx.addIssue({
        code: "custom",
        path: ["offsite", "keep"],
        message: `must be at least backup.keep (${b.keep}), or dumps pruned from the bucket are uploaded again`,
      });
    }
  })
  .default({ schedule: "0 3 * * *", keep: 7, storageGi: 10 });

/**
 * One keeper per generated secret. RandomPassword makes a new value only when
 * a keeper changes, so setting a new string (a date is the convention) is the
 * rotation; see docs/secret-rotation.md.
 */
const keeper = z.string().min(1, "a keeper string, e.g. the rotation date");
const rotation = z.strictObject({
  /** The in-cluster superuser: a rotation restarts Postgres (its postStart hook applies it). */
  postgresAdmin: keeper,
  /**
   * The feed's two login roles. DATABASE_URL uses `active`; a rotation gives
   * the other role a new keeper and makes it active in the same deploy, so no
   * pod ever holds a password that stopped working. The previous role keeps
   * accepting logins for `graceMinutes` (pods still rolling, jobs mid-run).
   */
  postgresLogins: z.strictObject({
    active: z.enum(["feed_a", "feed_b"], { error: "feed_a or feed_b: the login role DATABASE_URL uses" }),
    feed_a: keeper,
    feed_b: keeper,
    graceMinutes: z.number().int().min(0).max(10080).default(60),
  }),
  grafana: keeper,
  /**
   * The values services ask the deployer to generate (an app descriptor's
   * `generatedSecret` env), by key, e.g. `log-ip-hash-key`; a key not
   * listed keeps the keeper "initial".
   */
  generated: z.record(z.string(), keeper).default({}),
});

/**
 * Where the pinned charts come from when the upstream repositories cannot be
 * reached (air-gapped clusters, the real-engine tests): an OCI registry
 * (`oci://registry.example.com/charts`) or an absolute folder of packaged
 * charts named `<chart>-<version>.tgz`. A folder must hold every pinned chart,
 * so a missing one fails the preview here and not halfway through `up`.
 */
const charts = z
  .strictObject({
    mirror: z
      .string()
      .superRefine((mirror, ctx) => {
        if (/^oci:\/\/[^\s/]+(\/[^\s]*)?$/.test(mirror)) return;
        if (!path.isAbsolute(mirror)) {
          ctx.addIssue({
            code: "custom",
            message: `"${mirror}" is neither an oci:// URL nor an absolute folder`,
          });
          return;
        }
        const missing = Object.values(CHARTS)
          .map((pin) => mirrorArchive(mirror, pin))
          .filter((file) => !existsSync(file));
        if (missing.length > 0) {
          ctx.addIssue({
            code: "custom",
            message: `the mirror lacks ${missing.map((f) => path.basename(f)).join(", ")}`,
          });
        }
      })
      .optional(),
  })
  .default({});

/** Per-app values, keyed by app name; read them with forApp(). */
export type PerApp<V> = { readonly [app: string]: V | undefined };

/**
 * A strict object with one required entry per app of the list (keyed by the
 * app's name) beside fixed keys: a missing app is "required", a key that is
 * neither an app nor a fixed key is "unknown key (a typo?)".
 */
function perApp<T extends z.ZodType, S extends z.ZodRawShape = Record<never, never>>(
  names: readonly string[],
  value: T,
  fixed: S = {} as S,
) {
  const shape = { ...Object.fromEntries(names.map((n) => [n, value])), ...fixed };
  return z.strictObject(shape) as unknown as z.ZodType<
    z.output<z.ZodObject<S>> & PerApp<z.output<T>>,
    z.input<z.ZodObject<S>> & PerApp<z.input<T>>
  >;
}

/** The value for one app; the schema has made sure every listed app has one. */
export function forApp<V>(values: PerApp<V>, app: string): V {
  const v = values[app];
  if (v === undefined) throw new Error(`no value for app "${app}" (is it in infra/apps.ts?)`);
  return v;
}

const waf = z.strictObject({
  mode: z.enum(["detection", "blocking"]),
  /**
   * ext-authz (the default): the WAF service of ours (apps/waf-authz)
   * judges the whole request before Envoy sends it upstream; needs
   * golive:images.wafAuthz. wasm: Coraza as Envoy's Wasm filter, where a
   * bodiless request's phase 2 runs after the gateway answered (security/waf.md).
   */
  engine: z.enum(["wasm", "ext-authz"]).default("ext-authz"),
  /** CRS paranoia level: 1 (few false positives) to 4 (strictest). */
  paranoiaLevel: z.number().int().min(1).max(4).default(1),
  /** Inbound anomaly score at which a request is blocked (CRS: 5 = one critical match). */
  anomalyThreshold: z.number().int().min(1).max(100).default(5),
});

/**
 * Per Envoy replica: `requests` per `unit` for all clients together, and
 * `perClientRequests` per `unit` for each source address, so one abusive
 * client cannot use up everyone's quota.
 */
const rateLimit = z
  .strictObject({
    requests: z.number().int().min(1),
    unit: z.enum(["Second", "Minute", "Hour"]),
    perClientRequests: z.number().int().min(1).default(20),
  })
  .refine((r) => r.perClientRequests <= r.requests, {
    message: "must not exceed requests (the ceiling for all clients)",
    path: ["perClientRequests"],
  })
  .default({ requests: 100, unit: "Second", perClientRequests: 20 });

const retention = z.strictObject({
  logsDays: z.number().int().min(1).max(400),
  metricsDays: z.number().int().min(1).max(400),
  /** RETENTION_DAYS of the retention job: the undo window of a soft-deleted user. */
  deletedUsersDays: z.number().int().min(0).max(3650).default(30),
  /** When the GDPR/CCPA retention job runs. */
  jobSchedule: cronSchedule.default("0 4 * * *"),
});

const alerting = alertmanagerSettingsSchema.default({
  receivers: [],
  routes: { critical: [], warning: [], info: [] },
  groupBy: ["alertname", "namespace", "service"],
  groupWait: "30s",
  groupInterval: "5m",
  repeatInterval: "4h",
});

const runbookBaseUrl = z.url({
  protocol: /^https?$/,
  error: "an http(s) URL of the repository root under which docs/runbooks/*.md resolve",
});

/** Persistent volumes of Prometheus (sized for metricsDays of retention) and Alertmanager. */
const monitoring = z
  .strictObject({
    prometheusStorageGi: z.number().int().min(1).max(10000).default(50),
    alertmanagerStorageGi: z.number().int().min(1).max(100).default(1),
    storageClassName: z.string().min(1).optional(),
  })
  .default({ prometheusStorageGi: 50, alertmanagerStorageGi: 1 });

/**
 * Traces (docs/tracing.md): the services sample new traces with
 * probability sampleRatio (a caller's decision is kept); the collector then
 * keeps every sampled trace with an error or slower than slowMs (the
 * read latency SLO, 50 ms), and keepPercent of the others.
 */
const tracing = z
  .strictObject({
    sampleRatio: sampleRatioSchema.default(DEFAULT_SAMPLE_RATIO),
    keepPercent: z.number().min(0).max(100).default(100),
    slowMs: z.number().int().min(1).max(60_000).default(50),
    /** Traces the in-memory store holds (Jaeger all-in-one); older ones are dropped. */
    maxTraces: z.number().int().min(1000).max(1_000_000).default(50_000),
  })
  .default({ sampleRatio: DEFAULT_SAMPLE_RATIO, keepPercent: 100, slowMs: 50, maxTraces: 50_000 });

/** The go-live preflight (docs/preflight.md); payment keys are in the secret key preflightPayments. */
const preflight = z
  .strictObject({
    /** The TLS line fails when the public certificate expires sooner (CertificateExpiringSoon: 14). */
    minCertDays: z.number().int().min(0).max(365).default(14),
    /** Per call to anything outside (a processor, DNS, the database). */
    timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
    /** Send a test alert to every configured receiver (they are notified). */
    testNotification: z.boolean().default(true),
    /** processor -> its settings (currency and credentials), from preflightPayments. */
    payments: preflightPaymentsSchema.default({}),
  })
  .default({ minCertDays: 14, timeoutMs: 10_000, testNotification: true, payments: {} });

const loadtest = z
  .strictObject({
    profile: z.enum(["smoke", "load", "soak"]).default("smoke"),
    chaosDelaySeconds: z.number().int().min(0).max(3600).default(15),
    recoveryTimeoutSeconds: z.number().int().min(10).max(900).default(120),
    /**
     * Where the drill's HTTP and WebSocket flows go. edge: the public host
     * name, through TLS, the WAF and the rate limit, as users come in.
     * gateway: the gateway Service inside the cluster, for drilling the app
     * layer alone (no edge running, or to tell the edge's cost apart).
     */
    target: z.enum(["edge", "gateway"]).default("edge"),
    /** Replaces the profile's length (k6 duration: 90s, 5m), e.g. for a drill that spans rollouts. */
    duration: z
      .string()
      .regex(/^[1-9]\d*(s|m)$/, "a k6 duration in whole seconds or minutes, such as 90s or 5m")
      .optional(),
  })
  .default({ profile: "smoke", chaosDelaySeconds: 15, recoveryTimeoutSeconds: 120, target: "edge" });

/**
 * golive:flags, keyed as the flag file keys them (apps/shared/src/flags.ts):
 * the kill switches and the drills' faults. The deployer renders it into the
 * flag file the services reload without a restart (docs/operations.md).
 */
const flags = z
  .strictObject(
    Object.fromEntries(
      FLAG_KEYS.map((key) => {
        const def = FLAGS[key];
        const value =
          def.type === "boolean"
            ? z.boolean().default(def.default)
            : z.number().min(def.min).max(def.max).default(def.default);
        return [key, value];
      }),
    ) as {
      [K in FlagKey]: (typeof FLAGS)[K]["type"] extends "boolean"
        ? z.ZodDefault<z.ZodBoolean>
        : z.ZodDefault<z.ZodNumber>;
    },
  )
  .default(DEFAULT_FLAGS as never);

// Strict objects throughout: a misspelt key fails loudly instead of being
// dropped and silently replaced by a default. The per-app keys (images,
// replicas, resources) come from the app list (infra/apps.ts).
export function stackConfigSchemaFor(apps: readonly AppDescriptor[]) {
  const services = servicesOf(apps).map((s) => s.name);
  return z
    .strictObject({
      environment: z.enum(["staging", "prod", "local"]),
      /** Our apps' images (deploy.yml writes their digests), then the third-party ones. */
      images: perApp(
        apps.map((a) => a.name),
        imageRef,
        {
          postgres: imageRef,
          k6: imageRef,
          kubectl: imageRef,
          /** The backup's off-site step (rclone copy to the bucket), used with backup.offsite. */
          rclone: imageRef,
          corazaWasm: imageRef,
          /** The WAF service (apps/waf-authz), with golive:waf.engine ext-authz. */
          wafAuthz: imageRef.optional(),
          /** Synthetic monitoring's prober (infra/components/synthetic.ts). */
          blackboxExporter: imageRef,
        },
      ),
      replicas: perApp(services, scaling),
      resources: perApp(services, resources, {
        postgres: resources,
        migrations: resources,
        /** The backup and retention CronJobs. */
        jobs: resources.default(DEFAULT_JOB_RESOURCES),
      }),
      domain: hostname,
      tls,
      waf,
      rateLimit,
      retention,
      database,
      backup,
      rotation,
      alerting,
      runbookBaseUrl,
      /** Every service's and job's log level (LOG_LEVEL): more detail where traffic is synthetic. */
      logLevel: logLevelName.default("info"),
      /** Spread replicas over zones and nodes (needs a multi-node cluster). */
      topologySpread: z.boolean().default(false),
      /** PodDisruptionBudgets; off where a single replica would block every node drain. */
      disruptionBudget: z.boolean().default(false),
      charts,
      monitoring,
      tracing,
      /** Where the Kubernetes API server is reachable from pods, for the chaos step's egress. */
      apiServerCidr: z.cidrv4().default("0.0.0.0/0"),
      preflight,
      loadtest,
      flags,
      /** The second key prod needs before golive:flags may inject failures. */
      allowFaultInjection: z.boolean().default(false),
    })
    .superRefine((config, ctx) => {
      if (config.waf.engine === "ext-authz" && !config.images.wafAuthz) {
        ctx.addIssue({
          code: "custom",
          path: ["images", "wafAuthz"],
          message: "is required with golive:waf.engine ext-authz (the WAF service's image)",
        });
      }
      if (faultInjectionOf(config) === "allowed") return;
      for (const key of FLAG_KEYS) {
        if (isFault(key) && config.flags[key] !== FLAGS[key].default) {
          ctx.addIssue({
            code: "custom",
            path: ["flags", key],
            message: `failure injection is refused in prod: it needs golive:allowFaultInjection true as well`,
          });
        }
      }
    });
}

/** Whether the services may apply fault flags (FAULT_INJECTION): outside prod, or in prod with the second key. */
export function faultInjectionOf(config: {
  environment: string;
  allowFaultInjection: boolean;
}): FaultInjection {
  return config.environment !== "prod" || config.allowFaultInjection ? "allowed" : "refused";
}

export const stackConfigSchema = stackConfigSchemaFor(APPS);
export type StackConfig = z.output<typeof stackConfigSchema>;
export type StackConfigInput = z.input<typeof stackConfigSchema>;

export class StackConfigError extends Error {
  constructor(readonly issues: { key: string; reason: string }[]) {
    super(
      `invalid stack config:\n${issues
        .map((i) => `  ${i.key.includes(":") ? "" : `${CONFIG_NAMESPACE}:`}${i.key}: ${i.reason}`)
        .join("\n")}`,
    );
    this.name = "StackConfigError";
  }
}

/** Keys whose values must come from `pulumi config set --secret`. */
const SECRET_KEYS = [
  "databaseUrl",
  "backupOffsiteAccessKeyId",
  "backupOffsiteSecretAccessKey",
  "preflightPayments",
] as const;
/** Where each secret key's value lands in the parsed config, for error messages. */
const SECRET_PATHS: Record<string, (typeof SECRET_KEYS)[number]> = {
  "database.url": "databaseUrl",
  "backup.offsite.accessKeyId": "backupOffsiteAccessKeyId",
  "backup.offsite.secretAccessKey": "backupOffsiteSecretAccessKey",
  "preflight.payments": "preflightPayments",
};

/** A parsed path as the user configured it: what came from a secret key is named by that key. */
function asConfigured(key: string): string {
  const secretPath = Object.keys(SECRET_PATHS).find((p) => key === p || key.startsWith(`${p}.`));
  return secretPath ? `${SECRET_PATHS[secretPath]}${key.slice(secretPath.length)}` : key;
}

/**
 * Parses raw stack config (keys without the `golive:` prefix, values already
 * decoded from YAML/JSON). `secretKeys` lists the keys Pulumi holds as secrets;
 * a credential given in plain text is rejected rather than silently stored.
 */
export function parseStackConfig(
  raw: Record<string, unknown>,
  secretKeys: ReadonlySet<string> = new Set(),
  apps: readonly AppDescriptor[] = APPS,
): StackConfig {
  const issues: { key: string; reason: string }[] = [];
  for (const key of SECRET_KEYS) {
    if (raw[key] !== undefined && !secretKeys.has(key)) {
      issues.push({
        key,
        reason: `must be a secret: pulumi config set --secret ${CONFIG_NAMESPACE}:${key} <value>`,
      });
    }
  }
  const { databaseUrl, backupOffsiteAccessKeyId, backupOffsiteSecretAccessKey, preflightPayments, ...rest } =
    raw;
  const candidate: Record<string, unknown> = { ...rest };
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;
  // Credentials live in their own secret keys so the objects around them stay plain.
  if (isObject(candidate.database)) {
    const db = candidate.database;
    if (db.mode === "external") candidate.database = { ...db, url: databaseUrl };
  }
  const backupRaw = isObject(candidate.backup) ? candidate.backup : undefined;
  if (isObject(backupRaw?.offsite)) {
    candidate.backup = {
      ...backupRaw,
      offsite: {
        ...backupRaw.offsite,
        accessKeyId: backupOffsiteAccessKeyId,
        secretAccessKey: backupOffsiteSecretAccessKey,
      },
    };
  } else {
    for (const [key, value] of Object.entries({ backupOffsiteAccessKeyId, backupOffsiteSecretAccessKey })) {
      if (value !== undefined) issues.push({ key, reason: "is set but golive:backup.offsite is not" });
    }
  }
  if (preflightPayments !== undefined) {
    candidate.preflight = {
      ...(isObject(candidate.preflight) ? candidate.preflight : {}),
      payments: preflightPayments,
    };
  }
  const schema = apps === APPS ? stackConfigSchema : stackConfigSchemaFor(apps);
  const result = schema.safeParse(candidate);
  if (!result.success) {
    for (const issue of result.error.issues) {
      if (issue.code === "unrecognized_keys") {
        // One issue per key, named by its full path, so the message points at the typo.
        for (const extra of issue.keys) {
          issues.push({
            key: asConfigured([...issue.path.map(String), extra].join(".")),
            reason: "unknown key (a typo?)",
          });
        }
        continue;
      }
      const key = asConfigured(issue.path.map(String).join(".") || "(root)");
      const reason =
        issue.code === "invalid_type" && issue.input === undefined ? "is required" : issue.message;
      issues.push({ key, reason });
    }
  }
  if (issues.length > 0 || !result.success) throw new StackConfigError(issues);
  return result.data;
}

function decode(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

// The SDK implements this but keeps it out of its public typings.
const { isConfigSecret } = require("@pulumi/pulumi/runtime/config") as {
  isConfigSecret(key: string): boolean;
};

/** Reads every `golive:*` key of the current stack from the Pulumi runtime and parses it. */
export function loadStackConfig(): StackConfig {
  const all = pulumi.runtime.allConfig();
  return parseConfigMap(
    Object.fromEntries(
      Object.entries(all).map(([key, value]) => [key, { value, secret: isConfigSecret(key) }]),
    ),
  );
}

/**
 * Settings of the Kubernetes provider (the default one, configured by the
 * stack's `kubernetes:` keys) that the stack relies on, with why.
 */
export const PROVIDER_SETTINGS: Record<string, { value: string; why: string }> = {
  "kubernetes:enableSecretMutable": {
    value: "true",
    why:
      "a rotated password is then written into its Secret in place; without it the provider deletes the Secret " +
      "and creates it again, so a pod that starts in between fails, and an update stopped there leaves none",
  },
  "kubernetes:enableConfigMapMutable": {
    value: "true",
    why:
      "a flag flip is then written into golive-flags in place, where the kubelet swaps the mounted files; without it " +
      "the provider deletes the ConfigMap and creates it again, so a pod that starts in between cannot mount it",
  },
};

/** One issue per provider setting the stack's config lacks (PROVIDER_SETTINGS). */
function providerIssues(all: Record<string, { value: string }>): { key: string; reason: string }[] {
  return Object.entries(PROVIDER_SETTINGS)
    .filter(([key, want]) => all[key]?.value !== want.value)
    .map(([key, want]) => ({ key, reason: `must be ${want.value}: ${want.why}` }));
}

/**
 * Parses namespaced config as Pulumi holds it (`golive:key` -> text), e.g.
 * from the Automation API's getAllConfig, and checks the provider settings
 * the stack relies on; every issue of both is reported at once.
 */
export function parseConfigMap(all: Record<string, { value: string; secret?: boolean }>): StackConfig {
  const raw: Record<string, unknown> = {};
  const secretKeys = new Set<string>();
  const prefix = `${CONFIG_NAMESPACE}:`;
  for (const [fullKey, { value, secret }] of Object.entries(all)) {
    if (!fullKey.startsWith(prefix)) continue;
    const key = fullKey.slice(prefix.length);
    raw[key] = decode(value);
    if (secret) secretKeys.add(key);
  }
  const provider = providerIssues(all);
  let parsed: StackConfig;
  try {
    parsed = parseStackConfig(raw, secretKeys);
  } catch (err) {
    if (err instanceof StackConfigError) throw new StackConfigError([...err.issues, ...provider]);
    throw err;
  }
  if (provider.length > 0) throw new StackConfigError(provider);
  return parsed;
}
