// Secret rotation under mocks: a new keeper in golive:rotation changes the
// RandomPassword's inputs (so Pulumi replaces it), and — because the mock
// password is derived from the keepers, like the real provider's new value —
// the checksum annotation of exactly the pod templates that read that secret.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { startTestPostgres, type TestPostgres } from "../../test/support/postgres";
import { APPLY_PASSWORD_HOOK } from "../components/database";
import { SECRET_CHECKSUM_ANNOTATION } from "../components/secret-checksum";
import { parseStackConfig } from "../config";
import { type K8sObject, REDACTED, type Registered, runWithMocks, toObjects } from "../mock-runtime";
import { goLiveStack } from "../stack";
import { rawStackConfig, readStackFile } from "../stack-files";

type Any = Record<string, any>;
const STACK = "staging";
const NS = `golive-${STACK}`;

async function render(rotation: { postgres: string; grafana: string }) {
  const raw = { ...rawStackConfig(STACK), rotation };
  const cfg = parseStackConfig(raw);
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
  return { objects, resources, find, password };
}
type Render = Awaited<ReturnType<typeof render>>;

/** Pod templates that read a generated secret, plus the gateway, which reads none. */
const READERS = ["feed", "migrations", "backup", "retention", "postgres", "grafana"] as const;
const ALL = [...READERS, "gateway"] as const;
type TemplateName = (typeof ALL)[number];

/** The pod template of each workload, by what it is. */
function templates(r: Render): Record<TemplateName, Any> {
  return {
    feed: r.find("Deployment", "feed").spec.template,
    gateway: r.find("Deployment", "gateway").spec.template,
    migrations: (r.objects.find((o) => o.kind === "Job") as Any).spec.template,
    backup: r.find("CronJob", "backup").spec.jobTemplate.spec.template,
    retention: r.find("CronJob", "retention").spec.jobTemplate.spec.template,
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

describe("secret rotation (mocks)", () => {
  let base: Render;
  let again: Render;
  let postgresRotated: Render;
  let grafanaRotated: Render;
  before(async () => {
    base = await render({ postgres: "2026-01-01", grafana: "2026-01-01" });
    again = await render({ postgres: "2026-01-01", grafana: "2026-01-01" });
    postgresRotated = await render({ postgres: "2026-04-01", grafana: "2026-01-01" });
    grafanaRotated = await render({ postgres: "2026-01-01", grafana: "2026-04-01" });
  });

  it("each RandomPassword takes its keeper from golive:rotation", () => {
    assert.deepEqual(base.password("database-password").inputs.keepers, { rotation: "2026-01-01" });
    assert.deepEqual(base.password("grafana-admin").inputs.keepers, { rotation: "2026-01-01" });
    assert.deepEqual(postgresRotated.password("database-password").inputs.keepers, {
      rotation: "2026-04-01",
    });
    assert.deepEqual(postgresRotated.password("grafana-admin").inputs, base.password("grafana-admin").inputs);
  });

  it("every pod template that reads a generated secret carries a plain sha256 checksum; the gateway none", () => {
    const t = templates(base);
    for (const name of READERS) {
      assert.match(checksum(t[name]) ?? "", /^[a-f0-9]{64}$/, `${name} checksum (not ${REDACTED})`);
    }
    assert.equal(checksum(t.gateway), undefined, "the gateway reads no generated secret");
    assert.equal(checksum(t.feed), checksum(t.backup), "same Secret, same checksum");
    assert.notEqual(checksum(t.feed), checksum(t.postgres), "postgres reads its own credentials Secret");
  });

  it("the same keeper renders the same checksums (no spurious rollouts)", () => {
    const a = templates(base);
    const b = templates(again);
    for (const name of ALL) assert.equal(checksum(a[name]), checksum(b[name]), name);
  });

  it("a new postgres keeper rolls the feed and the database clients, and only the annotation changes", () => {
    const a = templates(base);
    const b = templates(postgresRotated);
    for (const name of READERS.filter((n) => n !== "grafana")) {
      assert.notEqual(checksum(a[name]), checksum(b[name]), `${name} rolls`);
      assert.deepEqual(withoutChecksum(a[name]), withoutChecksum(b[name]), `${name}: nothing else changes`);
    }
    assert.deepEqual(a.gateway, b.gateway);
    assert.equal(checksum(a.grafana), checksum(b.grafana));
  });

  it("a new grafana keeper rolls Grafana only", () => {
    const a = templates(base);
    const b = templates(grafanaRotated);
    assert.notEqual(checksum(a.grafana), checksum(b.grafana));
    assert.notDeepEqual(
      grafanaRotated.password("grafana-admin").inputs,
      base.password("grafana-admin").inputs,
    );
    for (const name of ALL.filter((n) => n !== "grafana")) {
      assert.deepEqual(a[name], b[name], `${name} unchanged`);
    }
  });

  it("the Postgres container applies the Secret's password on start (the image does so only at init)", () => {
    const c = base.find("StatefulSet", "postgres").spec.template.spec.containers[0];
    assert.deepEqual(c.lifecycle.postStart.exec.command, APPLY_PASSWORD_HOOK);
    assert.ok(c.envFrom.some((e: Any) => e.secretRef?.name === "postgres-credentials"));
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
