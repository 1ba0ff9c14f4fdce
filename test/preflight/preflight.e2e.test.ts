// The preflight end to end on loopback: `npm run preflight -- --stack local`
// with the local stack's own config (through the Automation API) against a
// real PostgreSQL login, a TLS server holding a certificate for the stack's
// host, and a DNS server answering for it; the alert receivers check against
// a real Alertmanager that notifies a webhook; the Job's entry with its
// environment; the metrics through a real OpenTelemetry Collector.
import assert from "node:assert/strict";
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { startDnsServer, type TestDnsServer } from "@golive/devkit/dns-server";
import { startStripeFake } from "@golive/devkit/payment-fakes/stripe";
import { freePort, startTestPostgres, type TestPostgres } from "@golive/devkit/postgres";
import { startMetricsCollector } from "@golive/devkit/trace-backends";
import { checkAlertReceivers, TEST_ALERT } from "@golive/preflight/checks/alert-receivers";
import { exportReport } from "@golive/preflight/metrics";
import { PROCESSOR_NAMES } from "@golive/preflight/payments/names";
import type { PreflightReport } from "@golive/preflight/report";
import YAML from "yaml";
import { selectStack } from "../../infra/automation";
import { rawStackConfig } from "../../infra/stack-files";

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, "../..");
const HOST = String(rawStackConfig("local").domain);

function certificate(dir: string, name: string, days: number) {
  const key = path.join(dir, `${name}.key`);
  const cert = path.join(dir, `${name}.pem`);
  execFileSync("openssl", [
    ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", String(days)],
    ...["-keyout", key, "-out", cert, "-subj", `/CN=${HOST}`, "-addext", `subjectAltName=DNS:${HOST}`],
  ]);
  return { key: fs.readFileSync(key), cert: fs.readFileSync(cert), certFile: cert };
}

async function tlsServer(tls: { key: Buffer; cert: Buffer }) {
  const port = await freePort();
  const server = https.createServer(tls, (_req, res) => res.end("ok"));
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

function preflightCli(args: string[], workDir: string) {
  return run(
    "bash",
    ["scripts/run-ts.sh", "scripts/preflight.ts", "--stack", "local", "--work-dir", workDir, ...args],
    {
      cwd: ROOT,
      env: { ...process.env, PULUMI_CONFIG_PASSPHRASE: "preflight-test" },
    },
  ).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({
      code: e.code,
      stdout: e.stdout,
      stderr: e.stderr,
    }),
  );
}

const line = (stdout: string, check: string) =>
  stdout.split("\n").find((l) => l.startsWith(`${check} `)) ?? "";

describe("preflight", () => {
  let dir: string;
  let pg: TestPostgres;
  let appLogin: string;
  let dns: TestDnsServer;
  let valid: { port: number; close(): Promise<void> };
  let expiring: { port: number; close(): Promise<void> };
  let caFile: string;
  let expiringCaFile: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "golive-preflight-"));
    // Passwords checked over TCP (SCRAM), as a deployed server does.
    pg = await startTestPostgres({ superuserPassword: "admin-secret" });
    // A login like the stack's (feed_a): not the admin.
    const admin = new URL(pg.url);
    execFileSync("psql", [pg.url, "-qc", "create role feed_a login password 'app-secret'"]);
    appLogin = `postgres://feed_a:app-secret@${admin.host}${admin.pathname}`;
    dns = await startDnsServer({ [HOST]: "127.0.0.1" });
    const good = certificate(dir, "valid", 90);
    caFile = good.certFile;
    valid = await tlsServer(good);
    const soon = certificate(dir, "expiring", 5);
    expiringCaFile = soon.certFile;
    expiring = await tlsServer(soon);
  });
  after(async () => {
    await Promise.all([dns?.close(), valid?.close(), expiring?.close()]);
    pg?.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("on the local stack: the local checks are ok, every processor is skipped for lack of keys, exit 0", async () => {
    const report = path.join(dir, "report.json");
    const { code, stdout, stderr } = await preflightCli(
      [
        ...["--database-url", appLogin, "--dns-server", dns.address, "--ca-file", caFile],
        ...["--tls-address", "127.0.0.1", "--tls-port", String(valid.port), "--json", report],
      ],
      path.join(dir, "workspace"),
    );
    assert.equal(code, 0, `${stdout}\n${stderr}`);
    assert.match(line(stdout, "dns"), new RegExp(`ok .* ${HOST.replace(/\./g, "\\.")} -> 127\\.0\\.0\\.1`));
    assert.match(line(stdout, "tls"), /ok .* valid (89|90) more days/);
    assert.match(line(stdout, "database"), /ok .* logged in as feed_a/);
    assert.match(line(stdout, "alert-receivers"), /skipped .* no Alertmanager URL given/);
    for (const name of PROCESSOR_NAMES)
      assert.match(line(stdout, `payment:${name}`), /skipped .* no key configured/);
    assert.match(stdout, /verdict: PASS \(3 ok, 0 failed, 8 skipped\)/);
    assert.doesNotMatch(stdout + stderr, /app-secret/, "the database password never reaches the output");
    const json = JSON.parse(fs.readFileSync(report, "utf8")) as PreflightReport;
    assert.equal(json.verdict, "pass");
    assert.equal(json.checks.length, 11);
  });

  test("a certificate that expires within minCertDays, a wrong password and an unknown host fail the verdict", async () => {
    const wrongLogin = appLogin.replace("app-secret", "wrong");
    const { code, stdout } = await preflightCli(
      [
        ...["--database-url", wrongLogin, "--dns-server", dns.address, "--ca-file", expiringCaFile],
        ...["--tls-address", "127.0.0.1", "--tls-port", String(expiring.port)],
      ],
      path.join(dir, "workspace"),
    );
    assert.equal(code, 1, stdout);
    assert.match(line(stdout, "tls"), /failed .* certificate expires in 4 days .* fewer than 14/);
    assert.match(line(stdout, "database"), /failed .* password authentication failed for user "feed_a"/);
    assert.match(stdout, /verdict: FAIL/);

    const other = await startDnsServer({});
    try {
      const res = await preflightCli(["--dns-server", other.address], path.join(dir, "workspace"));
      assert.match(line(res.stdout, "dns"), /failed .*ENOTFOUND/);
    } finally {
      await other.close();
    }
  });

  test("payment keys come from the stack's Pulumi secret; a void that fails after the authorization fails the run and says money may be held", async () => {
    const workDir = path.join(dir, "workspace-with-keys");
    const stack = await selectStack({ stack: "local", workDir, passphrase: "preflight-test" });
    const secretKey = "sk_test_preflightE2eKey";
    await stack.setConfig("golive:preflightPayments", {
      value: JSON.stringify({ stripe: { secretKey } }),
      secret: true,
    });
    const stripe = await startStripeFake("void-fails");
    try {
      const report = path.join(dir, "held.json");
      const { code, stdout, stderr } = await preflightCli(
        ["--payment-endpoint", `stripe=${stripe.url}`, "--dns-server", dns.address, "--json", report],
        workDir,
      );
      assert.equal(code, 1, stdout + stderr);
      assert.match(
        line(stdout, "payment:stripe"),
        /failed .*authorized 0\.50 USD \(pi_\w+\) but the void failed.*Money may be held/,
      );
      assert.match(line(stdout, "payment:paypal"), /skipped .* no key configured/);
      assert.match(stdout, /MONEY MAY BE HELD by payment:stripe/);
      assert.deepEqual((JSON.parse(fs.readFileSync(report, "utf8")) as PreflightReport).moneyMayBeHeld, [
        "payment:stripe",
      ]);
      assert.equal(
        stripe.requests.filter((r) => r.path === "/v1/payment_intents").length,
        1,
        "one authorization",
      );
      assert.match(
        String(stripe.requests[0]?.headers.authorization),
        new RegExp(secretKey),
        "the stack's key was used",
      );
      assert.doesNotMatch(stdout + stderr, new RegExp(secretKey), "the key never reaches the output");
    } finally {
      await stripe.close();
    }
  });

  test("a bad invocation exits 2 with the usage, before reading any stack", async () => {
    const noStack = await run("bash", ["scripts/run-ts.sh", "scripts/preflight.ts"], { cwd: ROOT }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal((noStack as { code: number }).code, 2);
    assert.match((noStack as { stderr: string }).stderr, /usage: npm run preflight -- --stack <name>/);
    const badPort = await preflightCli(["--tls-port", "99999"], path.join(dir, "never-made"));
    assert.equal(badPort.code, 2);
    assert.match(badPort.stderr, /--tls-port 99999: expected a port number/);
    assert.equal(fs.existsSync(path.join(dir, "never-made")), false, "no workspace was made");
  });

  test("an untrusted certificate fails unless its CA is given", async () => {
    const { code, stdout } = await preflightCli(
      ["--dns-server", dns.address, "--tls-address", "127.0.0.1", "--tls-port", String(valid.port)],
      path.join(dir, "workspace"),
    );
    assert.equal(code, 1);
    assert.match(line(stdout, "tls"), /failed .* self-signed certificate/);
  });

  test("the Job's entry: the report and its JSON in the log, exit 1 on a failure, 2 on a bad environment", async () => {
    const job = (env: Record<string, string>) =>
      run("bash", ["scripts/run-ts.sh", "apps/preflight/src/main.ts"], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? "", ...env },
      }).then(
        (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
        (e: { code: number; stdout: string; stderr: string }) => ({
          code: e.code,
          stdout: e.stdout,
          stderr: e.stderr,
        }),
      );
    const env = {
      PREFLIGHT_STACK: "local",
      PREFLIGHT_LIVE: "false",
      PREFLIGHT_PUBLIC_HOST: HOST,
      PREFLIGHT_DNS_SERVER: dns.address,
      PREFLIGHT_TLS_ADDRESS: "127.0.0.1",
      PREFLIGHT_TLS_PORT: String(valid.port),
      PREFLIGHT_TLS_SKIP_CHAIN_CHECK: "true",
      DATABASE_URL: appLogin,
      PREFLIGHT_PAYMENTS: JSON.stringify({ stripe: {} }),
    };
    const failed = await job(env);
    assert.equal(failed.code, 1, failed.stdout + failed.stderr);
    assert.match(line(failed.stdout, "tls"), /ok .*\(chain not verified: self-signed stack\)/);
    assert.match(line(failed.stdout, "payment:stripe"), /failed .* credentials: secretKey/);
    const json = failed.stdout.split("\n").find((l) => l.startsWith('{"preflightReport"')) ?? "{}";
    const report = (JSON.parse(json) as { preflightReport: PreflightReport }).preflightReport;
    assert.equal(report.verdict, "fail");
    assert.equal(report.checks.find((c) => c.name === "database")?.status, "ok");

    const bad = await job({ ...env, PREFLIGHT_LIVE: "yes" });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /PREFLIGHT_LIVE/);
  });

  test("alert receivers: the test alert reaches each severity's receivers through a real Alertmanager", async () => {
    const hooks: { receiver: string; alerts: { labels: Record<string, string> }[] }[] = [];
    const hookPort = await freePort();
    const hook = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c) => {
        body += c;
      });
      req.on("end", () => {
        hooks.push(JSON.parse(body));
        res.end();
      });
    });
    await new Promise<void>((resolve) => hook.listen(hookPort, "127.0.0.1", resolve));
    const port = await freePort();
    const configFile = path.join(dir, "alertmanager.yml");
    fs.writeFileSync(
      configFile,
      YAML.stringify({
        route: {
          receiver: "null",
          group_by: ["alertname", "service"],
          group_wait: "1s",
          routes: [{ receiver: "oncall", matchers: ['severity="critical"'] }],
        },
        receivers: [
          { name: "null" },
          { name: "oncall", webhook_configs: [{ url: `http://127.0.0.1:${hookPort}/` }] },
        ],
      }),
    );
    const am: ChildProcess = spawn(
      "prometheus-alertmanager",
      [
        `--config.file=${configFile}`,
        `--storage.path=${path.join(dir, "am-data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
        // No cluster: a lone peer would wait for gossip to settle before notifying.
        "--cluster.listen-address=",
      ],
      { stdio: "ignore" },
    );
    const url = `http://127.0.0.1:${port}`;
    try {
      for (let i = 0; i < 100; i++) {
        if (
          await fetch(`${url}/-/ready`).then(
            (r) => r.ok,
            () => false,
          )
        )
          break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const routed = await checkAlertReceivers({
        alertmanagerUrl: url,
        routes: { critical: ["oncall"], warning: [], info: [] },
        runId: "run-1",
        timeoutMs: 5_000,
      });
      assert.equal(routed.status, "ok", routed.reason);
      assert.match(routed.reason, /critical -> oncall/);
      // Alertmanager notifies after group_wait (1 s here).
      for (let i = 0; i < 50 && hooks.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal(hooks[0]?.receiver, "oncall");
      assert.equal(hooks[0]?.alerts[0]?.labels.alertname, TEST_ALERT);

      // The stack says warnings go to "team"; this Alertmanager drops them.
      const unrouted = await checkAlertReceivers({
        alertmanagerUrl: url,
        routes: { critical: [], warning: ["team"], info: [] },
        runId: "run-2",
        timeoutMs: 1_000,
      });
      assert.equal(unrouted.status, "failed");
      assert.match(unrouted.reason, /not routed within 1000 ms to team \(warning\)/);
    } finally {
      am.kill("SIGTERM");
      await new Promise<void>((resolve) => hook.close(() => resolve()));
    }
  });

  test("the report's metrics reach a real collector over OTLP: one status series per check and state", async () => {
    const collector = await startMetricsCollector();
    try {
      const report: PreflightReport = {
        stack: "local",
        runId: "run-3",
        startedAt: new Date("2026-12-01T00:00:00Z").toISOString(),
        verdict: "fail",
        moneyMayBeHeld: ["payment:stripe"],
        checks: [
          { name: "dns", status: "ok", latencyMs: 12, reason: "" },
          { name: "payment:stripe", status: "failed", latencyMs: 800, reason: "", moneyMayBeHeld: true },
        ],
      };
      await exportReport(report, collector.endpoint, 5_000);
      let gauges = collector.gauges();
      for (let i = 0; i < 50 && gauges.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        gauges = collector.gauges();
      }
      const value = (name: string, attributes: Record<string, string> = {}) =>
        gauges.find(
          (g) => g.name === name && Object.entries(attributes).every(([k, v]) => g.attributes[k] === v),
        )?.value;
      assert.equal(value("preflight_check_status", { check: "dns", status: "ok" }), 1);
      assert.equal(value("preflight_check_status", { check: "dns", status: "failed" }), 0);
      assert.equal(value("preflight_check_status", { check: "payment:stripe", status: "failed" }), 1);
      assert.equal(value("preflight_money_may_be_held", { check: "payment:stripe" }), 1);
      assert.equal(value("preflight_check_latency_seconds", { check: "payment:stripe" }), 0.8);
      assert.equal(value("preflight_passed"), 0);
      assert.equal(value("preflight_last_run_timestamp_seconds"), Date.parse(report.startedAt) / 1000);
    } finally {
      await collector.stop();
    }
  });
});
