// Secret rotation under mocks: a new keeper in golive:rotation changes the
// RandomPassword's inputs (so Pulumi replaces it), and — because the mock
// password is derived from the keepers, like the real provider's new value —
// the checksum annotation of exactly the pod templates that read that secret.
// The login rotation itself, on a real server under traffic, is tested in
// apps/feed/test/db-roles.test.ts.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { startTestPostgres, type TestPostgres } from "@golive/devkit/postgres";
import {
  LOGIN_ROLES as APP_LOGIN_ROLES,
  OWNER_ROLE as APP_OWNER_ROLE,
  dbRolesConfigSchema,
} from "@golive/feed/db-roles";
import {
  APPLY_PASSWORD_HOOK,
  DATABASE_SECRET,
  LOGIN_ROLES,
  MIGRATIONS_SECRET,
  OWNER_ROLE,
} from "../components/database";
import { DB_ROLES_COMMAND } from "../components/migrations";
import { PREFLIGHT_CRONJOB } from "../components/preflight";
import { SECRET_CHECKSUM_ANNOTATION } from "../components/secret-checksum";
import { parseStackConfig, type StackConfig, stackConfigSchema } from "../config";
import { REDACTED, type Registered, runWithMocks, toObjects } from "../render/mock-runtime";
import { goLiveStack } from "../stack";
import { rawStackConfig, readStackFile } from "../stack-files";

type Any = Record<string, any>;
const STACK = "staging";
const NS = `golive-${STACK}`;
const DAY0 = "2026-01-01";
const DAY1 = "2026-04-01";

type Rotation = StackConfig["rotation"];
const BASE: Rotation = {
  postgresAdmin: DAY0,
  postgresLogins: { active: "feed_a", feed_a: DAY0, feed_b: DAY0, graceMinutes: 60 },
  grafana: DAY0,
  generated: {},
};

async function render(rotation: Rotation, database?: Record<string, unknown>) {
  const raw: Record<string, unknown> = { ...rawStackConfig(STACK), rotation };
  const secretKeys = new Set<string>();
  if (database) {
    raw.database = database;
    raw.databaseUrl = "postgres://app:pw@db.example.com:5432/feed";
    secretKeys.add("databaseUrl");
  }
  const cfg = parseStackConfig(raw, secretKeys);
  const { resources } = await runWithMocks(STACK, readStackFile(STACK).config, () => goLiveStack(cfg));
  const objects = toObjects(resources);
  const find = (kind: string, name: string) => {
    const hit = objects.find((o) => o.kind === kind && o.metadata.name === name);
    if (!hit) throw new Error(`no ${kind} ${name}`);
    return hit as Any;
  };
  const password = (name: string) =>
    resources.find(
      (r) => r.type === "random:index/randomPassword:RandomPassword" && r.name === name,
    ) as Registered;
  const job = () => objects.find((o) => o.kind === "Job") as Any;
  return { objects, resources, find, password, job };
}
type Render = Awaited<ReturnType<typeof render>>;

/** Pod templates that read a generated secret (the gateway: its log key, gateway-generated). */
const READERS = [
  "feed",
  "migrations",
  "backup",
  "retention",
  "preflight",
  "postgres",
  "grafana",
  "gateway",
] as const;
const ALL = READERS;
/** The readers of the feed's DATABASE_URL. */
const URL_READERS = ["feed", "backup", "retention", "preflight"] as const;
type TemplateName = (typeof ALL)[number];

/** The pod template of each workload, by what it is. */
function templates(r: Render): Record<TemplateName, Any> {
  return {
    feed: r.find("Deployment", "feed").spec.template,
    gateway: r.find("Deployment", "gateway").spec.template,
    migrations: r.job().spec.template,
    backup: r.find("CronJob", "backup").spec.jobTemplate.spec.template,
    retention: r.find("CronJob", "retention").spec.jobTemplate.spec.template,
    preflight: r.find("CronJob", PREFLIGHT_CRONJOB).spec.jobTemplate.spec.template,
    postgres: r.find("StatefulSet", "postgres").spec.template,
    grafana: {
      metadata: {
        annotations: r.find("Release", "kube-prometheus-stack").spec.values.grafana.podAnnotations,
      },
    },
  };
}
const checksum = (t: Any): string | undefined => t.metadata.annotations?.[SECRET_CHECKSUM_ANNOTATION];
const withoutChecksum = (t: Any) => {
  const copy = structuredClone(t);
  delete copy.metadata.annotations;
  return copy;
};
const env = (container: Any, name: string) => container.env.find((e: Any) => e.name === name);

/** Asserts which templates roll (checksum changes) between two renders; the rest stay identical. */
function assertRolls(a: Render, b: Render, rolling: readonly TemplateName[]) {
  const ta = templates(a);
  const tb = templates(b);
  for (const name of ALL) {
    if (rolling.includes(name)) assert.notEqual(checksum(ta[name]), checksum(tb[name]), `${name} rolls`);
    else assert.deepEqual(ta[name], tb[name], `${name} unchanged`);
  }
}

describe("secret rotation (mocks)", () => {
  let base: Render;
  let again: Render;
  let loginRotated: Render;
  let inactiveOnly: Render;
  let adminRotated: Render;
  let grafanaRotated: Render;
  let logKeyRotated: Render;
  before(async () => {
    base = await render(BASE);
    again = await render(BASE);
    // The documented login rotation: the idle role gets a new password and becomes active.
    loginRotated = await render({
      ...BASE,
      postgresLogins: { ...BASE.postgresLogins, active: "feed_b", feed_b: DAY1 },
    });
    inactiveOnly = await render({ ...BASE, postgresLogins: { ...BASE.postgresLogins, feed_b: DAY1 } });
    adminRotated = await render({ ...BASE, postgresAdmin: DAY1 });
    grafanaRotated = await render({ ...BASE, grafana: DAY1 });
    logKeyRotated = await render({ ...BASE, generated: { "log-ip-hash-key": DAY1 } });
  });

  it("each RandomPassword takes its keeper from golive:rotation", () => {
    const keepers = (r: Render, name: string) => r.password(name).inputs.keepers;
    for (const name of [
      "database-admin-password",
      "database-password-feed-a",
      "database-password-feed-b",
      "grafana-admin",
    ]) {
      assert.deepEqual(keepers(base, name), { rotation: DAY0 }, name);
    }
    assert.deepEqual(keepers(loginRotated, "database-password-feed-b"), { rotation: DAY1 });
    assert.deepEqual(keepers(loginRotated, "database-password-feed-a"), { rotation: DAY0 });
    assert.deepEqual(keepers(adminRotated, "database-admin-password"), { rotation: DAY1 });
  });

  it("every pod template that reads a generated secret carries a plain sha256 checksum", () => {
    const t = templates(base);
    for (const name of READERS) {
      assert.match(checksum(t[name]) ?? "", /^[a-f0-9]{64}$/, `${name} checksum (not ${REDACTED})`);
    }
    assert.notEqual(checksum(t.gateway), checksum(t.feed), "the gateway reads its own Secret");
    for (const name of URL_READERS) assert.equal(checksum(t[name]), checksum(t.feed), `${name}: same Secret`);
    assert.notEqual(checksum(t.feed), checksum(t.migrations), "the Job reads its own Secret");
    assert.notEqual(checksum(t.feed), checksum(t.postgres), "postgres reads its own credentials Secret");
  });

  it("the same keepers render the same checksums (no spurious rollouts)", () => {
    assertRolls(base, again, []);
  });

  it("a login rotation rolls the feed, the jobs (backup, retention, preflight) and the migrations Job, and never restarts Postgres", () => {
    assertRolls(base, loginRotated, [...URL_READERS, "migrations"]);
    const a = templates(base);
    const b = templates(loginRotated);
    for (const name of URL_READERS) {
      assert.deepEqual(withoutChecksum(a[name]), withoutChecksum(b[name]), `${name}: only the hash changes`);
    }
    const roles = (r: Render) => r.job().spec.template.spec.initContainers[0];
    assert.equal(env(roles(base), "FEED_LOGIN_ACTIVE").value, "feed_a");
    assert.equal(env(roles(loginRotated), "FEED_LOGIN_ACTIVE").value, "feed_b");
  });

  it("a new password for the idle login only reruns the Job: no pod changes its URL", () => {
    assertRolls(base, inactiveOnly, ["migrations"]);
  });

  it("an admin rotation restarts Postgres and reruns the Job, and leaves the feed alone", () => {
    assertRolls(base, adminRotated, ["postgres", "migrations"]);
  });

  it("a new grafana keeper rolls Grafana only", () => {
    assertRolls(base, grafanaRotated, ["grafana"]);
    assert.notDeepEqual(
      grafanaRotated.password("grafana-admin").inputs,
      base.password("grafana-admin").inputs,
    );
  });

  it("a generated value of a service's takes its keeper from golive:rotation.generated and rolls that service only", () => {
    assertRolls(base, logKeyRotated, ["gateway"]);
    const keepers = (r: Render) => r.password("gateway-log-ip-hash-key").inputs.keepers;
    assert.deepEqual(keepers(base), { rotation: "initial" }, "a key not listed");
    assert.deepEqual(keepers(logKeyRotated), { rotation: DAY1 });
  });

  it("the feed's URL is written only after the Job has applied the roles, which run before the migrations", () => {
    const job = base.job();
    const urlSecret = base.resources.find(
      (r) => r.type === "kubernetes:core/v1:Secret" && r.name === DATABASE_SECRET,
    );
    assert.ok(urlSecret?.dependsOn.includes(job.metadata.name), urlSecret?.dependsOn.join(","));
    const pod = job.spec.template.spec;
    assert.deepEqual(
      pod.initContainers.map((c: Any) => [c.name, c.command]),
      [["db-roles", DB_ROLES_COMMAND]],
    );
    const [roles] = pod.initContainers;
    const [migrate] = pod.containers;
    for (const c of [roles, migrate]) {
      assert.deepEqual(env(c, "DATABASE_URL").valueFrom.secretKeyRef, {
        name: MIGRATIONS_SECRET,
        key: "DATABASE_URL",
      });
      assert.equal(c.securityContext.readOnlyRootFilesystem, true, c.name);
    }
    assert.equal(env(roles, "FEED_LOGIN_GRACE_MINUTES").value, "60");
    assert.equal(env(roles, "FEED_A_PASSWORD").valueFrom.secretKeyRef.name, MIGRATIONS_SECRET);
    assert.equal(env(migrate, "MIGRATIONS_ROLE").value, OWNER_ROLE);
    assert.equal(env(migrate, "FEED_A_PASSWORD"), undefined, "the migrate step never sees login passwords");
    const feed = base.find("Deployment", "feed").spec.template.spec.containers[0];
    assert.deepEqual(env(feed, "DATABASE_URL").valueFrom.secretKeyRef, {
      name: DATABASE_SECRET,
      key: "DATABASE_URL",
    });
  });

  it("the role names and the settings' variables match the feed's db-roles entry", () => {
    assert.equal(OWNER_ROLE, APP_OWNER_ROLE);
    assert.deepEqual([...LOGIN_ROLES], [...APP_LOGIN_ROLES]);
    const [roles] = base.job().spec.template.spec.initContainers;
    const names = roles.env.map((e: Any) => e.name).sort();
    assert.deepEqual(names, Object.keys(dbRolesConfigSchema.shape).sort());
    assert.deepEqual(stackConfigSchema.shape.rotation.shape.postgresLogins.shape.active.options, [
      ...APP_LOGIN_ROLES,
    ]);
  });

  it("an external database has no roles step: the Job migrates with the given URL", async () => {
    const external = await render(BASE, { mode: "external" });
    const pod = external.job().spec.template.spec;
    assert.equal(pod.initContainers, undefined);
    assert.equal(env(pod.containers[0], "MIGRATIONS_ROLE"), undefined);
    assert.equal(external.objects.filter((o) => o.kind === "StatefulSet").length, 0);
    assert.deepEqual(
      external.resources
        .filter((r) => r.type === "random:index/randomPassword:RandomPassword")
        .map((r) => r.name)
        .sort(),
      ["drill-token", "gateway-log-ip-hash-key", "grafana-admin"],
      "no database password is generated (the others are the drill's, the gateway's log key and Grafana's)",
    );
  });

  it("the Postgres container applies the superuser's password on start (the image does so only at init)", () => {
    const c = base.find("StatefulSet", "postgres").spec.template.spec.containers[0];
    assert.deepEqual(c.lifecycle.postStart.exec.command, APPLY_PASSWORD_HOOK);
    assert.ok(c.envFrom.some((e: Any) => e.secretRef?.name === "postgres-credentials"));
    assert.ok(base.find("Secret", "postgres-credentials").metadata.namespace === NS);
  });
});

describe("the Postgres password hook on a real server", () => {
  let pg: TestPostgres;
  const bin = (() => {
    const root = "/usr/lib/postgresql";
    const version = fs.readdirSync(root).find((v) => fs.existsSync(path.join(root, v, "bin", "psql")));
    return path.join(root, version ?? "", "bin");
  })();
  before(async () => {
    pg = await startTestPostgres();
    execFileSync(path.join(bin, "psql"), [pg.url, "-qc", "CREATE ROLE feed LOGIN"]);
  });
  after(() => pg?.destroy());

  it("sets the role's password to exactly the Secret's value, quotes and all", () => {
    // md5 verifiers are md5(password || user): checkable without a second server.
    for (const password of ["first-Password-1", `it's "quoted" $(not run) \\ ;`]) {
      assert.equal(APPLY_PASSWORD_HOOK[0], "bash");
      const run = spawnSync("bash", APPLY_PASSWORD_HOOK.slice(1), {
        encoding: "utf8",
        timeout: 30_000,
        env: {
          PATH: `${bin}:${process.env.PATH}`,
          PGHOST: "127.0.0.1",
          PGPORT: String(pg.port),
          PGOPTIONS: "-c password_encryption=md5",
          POSTGRES_USER: "feed",
          POSTGRES_DB: "postgres",
          POSTGRES_PASSWORD: password,
        },
      });
      assert.equal(run.status, 0, run.stderr);
      const stored = execFileSync(path.join(bin, "psql"), [
        pg.url,
        "-Atc",
        "SELECT rolpassword FROM pg_authid WHERE rolname = 'feed'",
      ])
        .toString()
        .trim();
      assert.equal(stored, `md5${createHash("md5").update(`${password}feed`).digest("hex")}`);
    }
  });
});
