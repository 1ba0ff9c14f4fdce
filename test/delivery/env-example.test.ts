// .env.example must list exactly the variables each process reads, with
// values its schema accepts and, unless noted, the schema's own defaults.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { feedConfigSchema } from "@golive/feed/config";
import { dbRolesConfigSchema } from "@golive/feed/db-roles";
import { migrateConfigSchema } from "@golive/feed/migrate";
import { gatewayEnvSchema } from "@golive/gateway/config";
import { retentionConfigSchema } from "@golive/jobs/retention";
import { jobEnvSchema } from "@golive/preflight/plan";
import type { z } from "zod";

const ROOT = path.resolve(__dirname, "../..");

/** Sections start at a `# [name]` comment; values are KEY=VALUE lines. */
function readSections(): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const line of fs.readFileSync(path.join(ROOT, ".env.example"), "utf8").split("\n")) {
    const header = /^# \[([a-z-]+)\]/.exec(line);
    if (header?.[1]) {
      current = new Map();
      sections.set(header[1], current);
      continue;
    }
    const pair = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!pair?.[1]) continue;
    assert.ok(current, `${pair[1]} is outside a section`);
    assert.ok(!current.has(pair[1]), `${pair[1]} twice in one section`);
    current.set(pair[1], pair[2] ?? "");
  }
  return sections;
}

const sections = readSections();
const section = (name: string) => {
  const s = sections.get(name);
  assert.ok(s, `.env.example has no [${name}] section`);
  return s;
};

const schemas: [string, z.ZodObject, Set<string>][] = [
  // The collector address has no default (tracing off): the value shown is a local collector.
  ["feed", feedConfigSchema, new Set(["OTEL_EXPORTER_OTLP_ENDPOINT"])],
  // MIGRATIONS_ROLE has no default: the value shown is what the Job sets in-cluster.
  ["migrate", migrateConfigSchema, new Set(["MIGRATIONS_ROLE"])],
  ["db-roles", dbRolesConfigSchema, new Set()],
  // Locally the gateway's ops port moves so it can run beside the feed; the log key is left empty (unset).
  ["gateway", gatewayEnvSchema, new Set(["OPS_PORT", "OTEL_EXPORTER_OTLP_ENDPOINT", "LOG_IP_HASH_KEY"])],
  ["retention", retentionConfigSchema, new Set()],
  // The optional ones are left empty (unset); the JSON ones default to {} (shown as text).
  [
    "preflight",
    jobEnvSchema,
    new Set([
      "PREFLIGHT_DNS_SERVER",
      "PREFLIGHT_TLS_ADDRESS",
      "PREFLIGHT_CA_FILE",
      "DATABASE_URL",
      "PREFLIGHT_ALERTMANAGER_URL",
      "PREFLIGHT_ALERT_ROUTES",
      "PREFLIGHT_PAYMENTS",
      "PREFLIGHT_PAYMENT_ENDPOINTS",
      "OTEL_EXPORTER_OTLP_ENDPOINT",
    ]),
  ],
];

for (const [name, schema, deviations] of schemas) {
  test(`[${name}] lists exactly the schema's variables, with valid values and its defaults`, () => {
    const env = section(name);
    assert.deepEqual([...env.keys()].sort(), Object.keys(schema.shape).sort());
    // Credentials are left empty on purpose (last test); parse with a stand-in.
    const values = Object.fromEntries(
      [...env].map(([k, v]) => [k, /PASSWORD$/.test(k) && v === "" ? "x".repeat(32) : v]),
    );
    const parsed = schema.safeParse(values);
    assert.ok(parsed.success, parsed.success ? "" : parsed.error.message);
    for (const [key, field] of Object.entries(schema.shape)) {
      const byDefault = (field as z.ZodType).safeParse(undefined);
      if (!byDefault.success || deviations.has(key)) continue;
      // An optional variable with no default is listed empty (unset).
      const expected = byDefault.data === undefined ? "" : String(byDefault.data);
      assert.equal(env.get(key), expected, `${key} differs from the schema default`);
    }
  });
}

for (const [name, script] of [
  ["backup", "apps/jobs/src/backup.sh"],
  ["offsite", "apps/jobs/src/offsite.sh"],
  ["restore", "apps/jobs/src/restore.sh"],
] as const) {
  test(`[${name}] lists exactly what ${script} reads, with its defaults`, () => {
    const source = fs.readFileSync(path.join(ROOT, script), "utf8");
    const read = new Map<string, string | undefined>();
    for (const m of source.matchAll(/\$\{([A-Z][A-Z0-9_]*)(?::-([^}]*))?\}/g)) {
      const key = m[1] as string;
      if (!read.has(key) || m[2]) read.set(key, m[2] || undefined);
    }
    const env = section(name);
    assert.deepEqual([...env.keys()].sort(), [...read.keys()].sort());
    for (const [key, fallback] of read) if (fallback) assert.equal(env.get(key), fallback, key);
  });
}

test("every process.env read in the apps is listed", () => {
  const listed = new Set([...sections.values()].flatMap((s) => [...s.keys()]));
  const walk = (dir: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) return e.name === "generated" ? [] : walk(p);
      return e.name.endsWith(".ts") ? [p] : [];
    });
  for (const app of fs.readdirSync(path.join(ROOT, "apps"))) {
    const src = path.join(ROOT, "apps", app, "src");
    if (!fs.existsSync(src)) continue;
    for (const file of walk(src)) {
      const text = fs.readFileSync(file, "utf8");
      for (const m of text.matchAll(/process\.env(?:\.([A-Z][A-Z0-9_]*)|\[["']([A-Z][A-Z0-9_]*)["']\])/g)) {
        const key = m[1] ?? m[2];
        assert.ok(key && listed.has(key), `${path.relative(ROOT, file)} reads ${key}, not in .env.example`);
      }
    }
  }
});

test("the example holds no credentials", () => {
  for (const [name, env] of sections) {
    for (const [key, value] of env) {
      if (/URL$/.test(key)) assert.ok(!new URL(value).password, `[${name}] ${key} carries a password`);
      if (/(PASSWORD|SECRET|TOKEN)/.test(key)) assert.equal(value, "", `[${name}] ${key} must be empty`);
    }
  }
});
