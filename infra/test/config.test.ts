import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { forApp, PROVIDER_SETTINGS, parseConfigMap, parseStackConfig, StackConfigError } from "../config";
import { rawStackConfig, readStackFile } from "../stack-files";

const staging = () => rawStackConfig("staging");
/** A stack file's config as Pulumi holds it (what parseConfigMap reads). */
const configMapOf = (stack: string) =>
  Object.fromEntries(Object.entries(readStackFile(stack).config).map(([k, value]) => [k, { value }]));

function rejects(
  mutate: (raw: Record<string, any>) => void,
  key: string,
  reason: RegExp,
  secrets: string[] = [],
) {
  const raw = structuredClone(staging());
  mutate(raw);
  assert.throws(
    () => parseStackConfig(raw, new Set(secrets)),
    (err: unknown) => {
      assert.ok(err instanceof StackConfigError, `expected StackConfigError, got ${String(err)}`);
      const issue = err.issues.find((i) => i.key === key);
      assert.ok(issue, `no issue for ${key}: ${err.message}`);
      assert.match(issue.reason, reason);
      assert.match(err.message, new RegExp(`golive:${key.replace(/\./g, "\\.")}:`));
      return true;
    },
  );
}

describe("stack config", () => {
  for (const stack of ["staging", "prod", "local"]) {
    it(`accepts the committed ${stack} stack`, () => {
      const cfg = parseStackConfig(rawStackConfig(stack));
      assert.equal(cfg.environment, stack);
    });
  }

  it("every committed stack sets the provider settings the stack relies on (Secrets written in place)", () => {
    for (const stack of ["staging", "prod", "local"]) {
      const map = configMapOf(stack);
      for (const [key, want] of Object.entries(PROVIDER_SETTINGS))
        assert.equal(map[key]?.value, want.value, stack);
      assert.equal(parseConfigMap(map).environment, stack);
    }
  });

  it("a stack without a provider setting fails with the key and why, beside its other issues", () => {
    const map = configMapOf("staging");
    for (const bad of [undefined, "false"]) {
      const without = { ...map };
      if (bad === undefined) delete without["kubernetes:enableSecretMutable"];
      else without["kubernetes:enableSecretMutable"] = { value: bad };
      assert.throws(
        () => parseConfigMap(without),
        (err: unknown) => {
          assert.ok(err instanceof StackConfigError);
          assert.match(err.message, /^ {2}kubernetes:enableSecretMutable: must be true: a rotated password/m);
          return true;
        },
      );
    }
    // With a golive: issue too, both are reported at once.
    const both: Record<string, { value: string }> = { ...map, "golive:replicas": { value: "{}" } };
    delete both["kubernetes:enableSecretMutable"];
    assert.throws(
      () => parseConfigMap(both),
      (err: unknown) => {
        assert.ok(err instanceof StackConfigError);
        assert.ok(err.issues.some((i) => i.key === "kubernetes:enableSecretMutable"));
        assert.ok(
          err.issues.some((i) => i.key.startsWith("replicas")),
          err.message,
        );
        return true;
      },
    );
  });

  it("fills defaults that a stack may omit", () => {
    const cfg = parseStackConfig(rawStackConfig("local"));
    assert.deepEqual(cfg.rateLimit, { requests: 100, unit: "Second", perClientRequests: 20 });
    assert.equal(cfg.alerting.receivers.length, 0);
    assert.equal(cfg.topologySpread, false);
  });

  it("keeps the jobs image deploy.yml pins, and the backup, retention and rotation settings", () => {
    const prod = parseStackConfig(rawStackConfig("prod"));
    assert.match(forApp(prod.images, "jobs"), /jobs/);
    assert.equal(prod.backup.schedule, "0 */6 * * *");
    assert.equal(parseStackConfig(rawStackConfig("staging")).backup.schedule, "0 3 * * *");
    assert.equal(prod.retention.deletedUsersDays, 30);
    assert.ok(prod.rotation.postgresAdmin && prod.rotation.grafana);
    assert.equal(prod.rotation.postgresLogins.active, "feed_a");
    assert.equal(prod.rotation.postgresLogins.graceMinutes, 60);
    const raw = staging();
    delete raw.backup;
    const defaults = parseStackConfig(raw);
    assert.deepEqual(defaults.backup, { schedule: "0 3 * * *", keep: 7, storageGi: 10 });
    assert.deepEqual(defaults.resources.jobs.limits, { cpu: "500m", memory: "256Mi" });
  });

  it("accepts images pinned by digest and registries with ports", () => {
    const raw = staging();
    (raw.images as Record<string, string>).feed = `ghcr.io/golive/feed@sha256:${"a".repeat(64)}`;
    (raw.images as Record<string, string>).gateway = "localhost:5000/golive/gateway:1.2.3";
    assert.doesNotThrow(() => parseStackConfig(raw));
  });

  it("takes the external database URL only from a secret key", () => {
    const raw = { ...staging(), database: { mode: "external" }, databaseUrl: "postgres://u:p@db:5432/feed" };
    const cfg = parseStackConfig(raw, new Set(["databaseUrl"]));
    assert.equal(cfg.database.mode, "external");
    assert.ok(cfg.database.mode === "external" && cfg.database.url.startsWith("postgres://"));
  });

  it("takes the payment processors' keys only from a secret key, beside the plain preflight settings", () => {
    const raw = {
      ...staging(),
      preflight: { minCertDays: 21 },
      preflightPayments: {
        stripe: { secretKey: "sk_test_abc" },
        mollie: { apiKey: "test_abc", currency: "EUR" },
      },
    };
    const cfg = parseStackConfig(raw, new Set(["preflightPayments"]));
    assert.equal(cfg.preflight.minCertDays, 21);
    assert.equal(cfg.preflight.payments.stripe?.secretKey, "sk_test_abc");
    assert.equal(cfg.preflight.payments.mollie?.currency, "EUR");
    assert.equal(cfg.preflight.payments.paypal, undefined);
  });

  const table: [string, (raw: Record<string, any>) => void, string, RegExp, string[]?][] = [
    ["latest tag", (r) => (r.images.feed = "ghcr.io/golive/feed:latest"), "images.feed", /latest/],
    [
      "a per-client rate above the ceiling",
      (r) => (r.rateLimit = { requests: 10, unit: "Second", perClientRequests: 50 }),
      "rateLimit.perClientRequests",
      /must not exceed requests/,
    ],
    ["paranoia level 5", (r) => (r.waf.paranoiaLevel = 5), "waf.paranoiaLevel", /4/],
    ["untagged image", (r) => (r.images.gateway = "ghcr.io/golive/gateway"), "images.gateway", /untagged/],
    ["port is not a tag", (r) => (r.images.k6 = "localhost:5000/k6"), "images.k6", /untagged/],
    ["missing image", (r) => delete r.images.postgres, "images.postgres", /required/],
    ["max below min", (r) => (r.replicas.feed = { min: 3, max: 2 }), "replicas.feed.max", /at least min/],
    ["zero replicas", (r) => (r.replicas.gateway.min = 0), "replicas.gateway.min", /1/],
    ["bad cpu", (r) => (r.resources.feed.limits.cpu = "lots"), "resources.feed.limits.cpu", /CPU quantity/],
    [
      "bad memory",
      (r) => (r.resources.gateway.requests.memory = "1GB"),
      "resources.gateway.requests.memory",
      /memory/,
    ],
    ["bad domain", (r) => (r.domain = "Not A Domain"), "domain", /DNS name/],
    ["bad ACME email", (r) => (r.tls.email = "nobody"), "tls.email", /e-mail/],
    ["http ACME server", (r) => (r.tls.server = "http://acme.example.com/dir"), "tls.server", /https/],
    ["unknown issuer", (r) => (r.tls = { issuer: "vault" }), "tls.issuer", /./],
    ["WAF mode", (r) => (r.waf.mode = "off"), "waf.mode", /detection|blocking/],
    ["retention", (r) => (r.retention.logsDays = 0), "retention.logsDays", /1/],
    ["database mode", (r) => (r.database = { mode: "sqlite" }), "database.mode", /./],
    ["external without URL", (r) => (r.database = { mode: "external" }), "databaseUrl", /required/],
    [
      "plaintext database URL",
      (r) => {
        r.database = { mode: "external" };
        r.databaseUrl = "postgres://u:p@db/feed";
      },
      "databaseUrl",
      /must be a secret/,
    ],
    [
      "alert route to unknown receiver",
      (r) => (r.alerting = { routes: { critical: ["pager"] } }),
      "alerting.routes.critical.0",
      /unknown receiver/,
    ],
    ["typo in alerting", (r) => (r.alerting = { groupwait: "10s" }), "alerting.groupwait", /unknown key/],
    [
      "typo in a receiver",
      (r) =>
        (r.alerting = {
          receivers: [{ type: "slack", name: "team", apiUrl: "https://hooks.example.com/x", chanel: "#ops" }],
        }),
      "alerting.receivers.0.chanel",
      /unknown key/,
    ],
    [
      "off-site bucket keeping fewer dumps than the volume",
      (r) => {
        r.backup.offsite = { bucket: "golive-backups", region: "eu-west-1", keep: 3 };
        r.backupOffsiteAccessKeyId = "id";
        r.backupOffsiteSecretAccessKey = "key";
      },
      "backup.offsite.keep",
      /at least backup.keep/,
      ["backupOffsiteAccessKeyId", "backupOffsiteSecretAccessKey"],
    ],
    [
      "off-site without its secret key",
      (r) => {
        r.backup.offsite = { bucket: "golive-backups", region: "eu-west-1" };
        r.backupOffsiteAccessKeyId = "id";
      },
      "backupOffsiteSecretAccessKey",
      /is required/,
      ["backupOffsiteAccessKeyId"],
    ],
    [
      "off-site key in plain text",
      (r) => {
        r.backup.offsite = { bucket: "golive-backups", region: "eu-west-1" };
        r.backupOffsiteAccessKeyId = "id";
        r.backupOffsiteSecretAccessKey = "key";
      },
      "backupOffsiteSecretAccessKey",
      /must be a secret/,
      ["backupOffsiteAccessKeyId"],
    ],
    [
      "off-site key without off-site",
      (r) => (r.backupOffsiteAccessKeyId = "id"),
      "backupOffsiteAccessKeyId",
      /backup.offsite is not/,
      ["backupOffsiteAccessKeyId"],
    ],
    [
      "off-site endpoint over http",
      (r) => {
        r.backup.offsite = { bucket: "golive-backups", region: "x", endpoint: "http://minio:9000" };
        r.backupOffsiteAccessKeyId = "id";
        r.backupOffsiteSecretAccessKey = "key";
      },
      "backup.offsite.endpoint",
      /https/,
      ["backupOffsiteAccessKeyId", "backupOffsiteSecretAccessKey"],
    ],
    [
      "payment keys in plain text",
      (r) => (r.preflightPayments = { stripe: { secretKey: "sk_test_x" } }),
      "preflightPayments",
      /must be a secret/,
    ],
    [
      "an unknown payment processor",
      (r) => (r.preflightPayments = { strype: { secretKey: "sk_test_x" } }),
      "preflightPayments.strype",
      /./,
      ["preflightPayments"],
    ],
    [
      "a Stripe key that is not one",
      (r) => (r.preflightPayments = { stripe: { secretKey: "pk_test_publishable" } }),
      "preflightPayments.stripe.secretKey",
      /secret or restricted key/,
      ["preflightPayments"],
    ],
    [
      "a misspelt credential field",
      (r) => (r.preflightPayments = { mollie: { apikey: "test_x" } }),
      "preflightPayments.mollie.apikey",
      /unknown key/,
      ["preflightPayments"],
    ],
    [
      "a payment currency in lower case",
      (r) => (r.preflightPayments = { mollie: { apiKey: "test_x1", currency: "eur" } }),
      "preflightPayments.mollie.currency",
      /ISO 4217/,
      ["preflightPayments"],
    ],
    [
      "a preflight timeout under 100 ms",
      (r) => (r.preflight = { timeoutMs: 5 }),
      "preflight.timeoutMs",
      /100/,
    ],
    ["runbook URL", (r) => (r.runbookBaseUrl = "docs/runbooks"), "runbookBaseUrl", /URL/],
    ["typo key", (r) => (r.replica = 3), "replica", /unknown key/],
    ["nested typo key", (r) => (r.images.feeed = "ghcr.io/x/feed:1.0.0"), "images.feeed", /unknown key/],
    ["typo in backup", (r) => (r.backup.shedule = "0 3 * * *"), "backup.shedule", /unknown key/],
    [
      "typo in resources",
      (r) => (r.resources.feed.limits.cpus = "1"),
      "resources.feed.limits.cpus",
      /unknown/,
    ],
    ["extra TLS key", (r) => (r.tls.mail = "a@b.c"), "tls.mail", /unknown key/],
    ["missing jobs image", (r) => delete r.images.jobs, "images.jobs", /required/],
    ["jobs image latest", (r) => (r.images.jobs = "ghcr.io/x/jobs:latest"), "images.jobs", /latest/],
    ["bad backup schedule", (r) => (r.backup.schedule = "every 6 hours"), "backup.schedule", /cron/],
    ["zero backups kept", (r) => (r.backup.keep = 0), "backup.keep", /1/],
    ["bad retention schedule", (r) => (r.retention.jobSchedule = "daily"), "retention.jobSchedule", /cron/],
    ["missing rotation keepers", (r) => delete r.rotation, "rotation", /required/],
    ["empty rotation keeper", (r) => (r.rotation.postgresAdmin = ""), "rotation.postgresAdmin", /keeper/],
    [
      "unknown active login",
      (r) => (r.rotation.postgresLogins.active = "feed"),
      "rotation.postgresLogins.active",
      /feed_a or feed_b/,
    ],
    [
      "missing login keeper",
      (r) => delete r.rotation.postgresLogins.feed_b,
      "rotation.postgresLogins.feed_b",
      /required/,
    ],
    [
      "negative grace",
      (r) => (r.rotation.postgresLogins.graceMinutes = -5),
      "rotation.postgresLogins.graceMinutes",
      />=0|0/,
    ],
    ["old single keeper", (r) => (r.rotation.postgres = "2026-01-01"), "rotation.postgres", /unknown key/],
    ["environment", (r) => (r.environment = "qa"), "environment", /staging/],
    ["load profile", (r) => (r.loadtest.profile = "stress"), "loadtest.profile", /smoke/],
  ];
  for (const [name, mutate, key, reason, secrets] of table) {
    it(`rejects ${name} naming ${key}`, () => rejects(mutate, key, reason, secrets));
  }
});
