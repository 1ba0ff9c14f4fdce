// The operations port every service exposes: Prometheus metrics and HTTP
// health probes. Kept off the serving port so probes and scrapes never queue
// behind user traffic and NetworkPolicies can allow them separately.
// Every health answer is JSON with the running build (build-info.ts):
//   /health/live   200 {status: "live", uptimeSeconds, version, commit}
//   /health/ready  200 or 503 {status: "ready" | "not ready", checks, version, commit}
//   /health        the same as /health/ready, for people and dashboards
// and any JSON document a service adds (the gateway's /openapi.json).
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Gauge, type Registry, type RegistryContentType } from "prom-client";
import { type BuildInfo, buildInfo } from "./build-info";
import { HEALTH_PATHS } from "./contract";

/** true or "pass": fine; "warn": degraded but still ready; false or "fail": not ready. */
export type CheckResult = boolean | "pass" | "warn" | "fail";

/**
 * What readiness is made of, by name (e.g. `database`, `shutdown`). The
 * process is ready when no check fails, and the probe's body gives each
 * check's result.
 */
export interface Readiness {
  checks(): Record<string, CheckResult>;
}

const asWord = (r: CheckResult) => (r === true ? "pass" : r === false ? "fail" : r);

export function readinessBody(readiness: Readiness, build: BuildInfo): { ready: boolean; body: string } {
  const detail = Object.fromEntries(Object.entries(readiness.checks()).map(([name, r]) => [name, asWord(r)]));
  const ready = !Object.values(detail).includes("fail");
  const body = { status: ready ? "ready" : "not ready", checks: detail, ...build };
  return { ready, body: JSON.stringify(body) };
}

/** golive_build_info{version, commit} 1: which build each scraped process runs. */
function registerBuildInfo(registry: Registry<RegistryContentType>, build: BuildInfo): void {
  if (registry.getSingleMetric("golive_build_info")) return;
  new Gauge({
    name: "golive_build_info",
    help: "The running build: its version and commit (always 1).",
    labelNames: ["version", "commit"],
    registers: [registry],
  }).set(build, 1);
}

export interface OpsServer {
  port: number;
  close(): Promise<void>;
}

export async function startOpsServer(opts: {
  host: string;
  port: number;
  registry: Registry<RegistryContentType>;
  readiness: Readiness;
  /** The build the answers name (default: this process's stamp). */
  build?: BuildInfo;
  /** JSON documents served as they are, by path (the gateway's /openapi.json). */
  documents?: Record<string, string>;
}): Promise<OpsServer> {
  const build = opts.build ?? buildInfo();
  registerBuildInfo(opts.registry, build);
  const json = { "content-type": "application/json" };
  const server = http.createServer((req, res) => {
    const url = req.url?.split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (url === "/metrics") {
      opts.registry.metrics().then(
        (body) => res.writeHead(200, { "content-type": opts.registry.contentType }).end(body),
        () => res.writeHead(500).end(),
      );
    } else if (url === HEALTH_PATHS.live) {
      const uptimeSeconds = Math.round(process.uptime());
      res.writeHead(200, json).end(JSON.stringify({ status: "live", uptimeSeconds, ...build }));
    } else if (url === HEALTH_PATHS.ready || url === HEALTH_PATHS.health) {
      const { ready, body } = readinessBody(opts.readiness, build);
      res.writeHead(ready ? 200 : 503, json).end(body);
    } else if (url !== undefined && opts.documents && Object.hasOwn(opts.documents, url)) {
      res.writeHead(200, json).end(opts.documents[url]);
    } else {
      res.writeHead(404, json).end('{"code":"NOT_FOUND"}');
    }
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
