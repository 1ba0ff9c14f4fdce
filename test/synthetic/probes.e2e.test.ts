// Synthetic monitoring with the real blackbox exporter (Debian's, from `npm
// run setup`) and the probe modules the cluster uses (alerting/blackbox.ts):
// against the local stack (gateway and feed processes, real PostgreSQL) the
// feed page and the WebSocket upgrade succeed, and fail once the gateway is
// gone; over TLS the exporter reports the certificate's expiry, which the
// CertificateExpiringSoon rule reads (its thresholds: promtool tests).
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { startFeedProcess, waitFor } from "@golive/devkit/feed-process";
import { type GatewayProcess, prepareDatabase, startGatewayProcess } from "@golive/devkit/gateway-process";
import { freePort, startTestPostgres, type TestPostgres } from "@golive/devkit/postgres";
import type { ServiceProcess } from "@golive/devkit/service-process";
import YAML from "yaml";
import { blackboxConfig, PROBES, type ProbeModule } from "../../alerting/blackbox";

const EXPORTER = "/usr/bin/prometheus-blackbox-exporter";

async function startExporter(config: Record<string, unknown>, dir: string) {
  const port = await freePort();
  const file = path.join(dir, `blackbox-${port}.yml`);
  fs.writeFileSync(file, YAML.stringify(config));
  const child: ChildProcess = spawn(
    EXPORTER,
    [`--config.file=${file}`, `--web.listen-address=127.0.0.1:${port}`],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  child.stderr?.on("data", (c) => {
    out += c;
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    `the blackbox exporter (${out.slice(-500)})`,
    async () => (await fetch(`${url}/-/healthy`)).ok,
    10_000,
  );
  /** One probe, as Prometheus would run it: the exporter's metrics for it. */
  const probe = async (module: ProbeModule | string, target: string) => {
    const text = await (
      await fetch(`${url}/probe?module=${module}&target=${encodeURIComponent(target)}`)
    ).text();
    const value = (name: string) => {
      const line = text.split("\n").find((l) => l.startsWith(`${name} `));
      return line === undefined ? undefined : Number(line.split(" ")[1]);
    };
    return { success: value("probe_success"), certExpiry: value("probe_ssl_earliest_cert_expiry"), text };
  };
  return { probe, stop: () => child.kill("SIGTERM") };
}

describe("synthetic probes with the real blackbox exporter", { timeout: 120_000 }, () => {
  let pg: TestPostgres;
  let gw: GatewayProcess;
  const procs: ServiceProcess[] = [];
  let dir: string;
  let exporter: Awaited<ReturnType<typeof startExporter>>;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "golive-probes-"));
    pg = await startTestPostgres();
    await prepareDatabase(pg.url);
    const feed = await startFeedProcess(
      { DATABASE_URL: pg.url, LOG_LEVEL: "warn" },
      { grpc: await freePort(), ops: await freePort() },
    );
    procs.push(feed);
    gw = await startGatewayProcess(
      { FEED_ADDRESS: `127.0.0.1:${feed.grpcPort}`, LOG_LEVEL: "warn" },
      { http: await freePort(), ops: await freePort() },
    );
    procs.push(gw);
    // The local stack has no TLS: the same modules, HTTP allowed.
    exporter = await startExporter(blackboxConfig({ tls: false }), dir);
  });

  after(async () => {
    exporter?.stop();
    for (const p of procs) {
      p.child.kill("SIGTERM");
      await p.exited;
    }
    pg?.destroy();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test("the feed page and the WebSocket upgrade succeed on a healthy stack", async () => {
    for (const module of Object.keys(PROBES) as ProbeModule[]) {
      const result = await exporter.probe(module, `${gw.url}${PROBES[module]}`);
      console.log(
        module,
        result.text
          .split("\n")
          .filter((l) => /^probe_(duration|http_status|success)/.test(l))
          .join(" | "),
      );
      assert.equal(result.success, 1, `${module}:\n${result.text}`);
    }
  });

  test("a module that requires TLS fails on plain HTTP (the cluster's modules do)", async () => {
    const strict = await startExporter(blackboxConfig({ tls: true }), dir);
    try {
      const result = await strict.probe("public_feed", `${gw.url}${PROBES.public_feed}`);
      assert.equal(result.success, 0);
    } finally {
      strict.stop();
    }
  });

  test("over TLS the probe reports the certificate's expiry", async () => {
    const key = path.join(dir, "key.pem");
    const cert = path.join(dir, "cert.pem");
    execFileSync("openssl", [
      ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "10"],
      ...["-keyout", key, "-out", cert, "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
    ]);
    const notAfter = new Date(
      execFileSync("openssl", ["x509", "-enddate", "-noout", "-in", cert], { encoding: "utf8" }).replace(
        /^notAfter=/,
        "",
      ),
    );
    const port = await freePort();
    const server = https
      .createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) }, (_req, res) => {
        res.writeHead(200, { "content-type": "application/json" }).end('{"videos":[]}');
      })
      .listen(port, "127.0.0.1");
    const tls = await startExporter(blackboxConfig({ tls: true, caFile: cert }), dir);
    try {
      const result = await tls.probe("public_feed", `https://127.0.0.1:${port}${PROBES.public_feed}`);
      assert.equal(result.success, 1, result.text);
      assert.equal(
        result.certExpiry,
        Math.floor(notAfter.getTime() / 1000),
        "probe_ssl_earliest_cert_expiry",
      );
      // What CertificateExpiringSoon computes: under 14 days left.
      assert.ok((result.certExpiry as number) - Date.now() / 1000 < 14 * 86400);
    } finally {
      tls.stop();
      server.close();
    }
  });

  test("both probes fail once the gateway is gone", async () => {
    gw.child.kill("SIGTERM");
    await gw.exited;
    for (const module of Object.keys(PROBES) as ProbeModule[]) {
      const result = await exporter.probe(module, `${gw.url}${PROBES[module]}`);
      assert.equal(result.success, 0, module);
    }
  });
});
