// The operations port every service exposes: Prometheus metrics and HTTP
// health probes. Kept off the serving port so probes and scrapes never queue
// behind user traffic and NetworkPolicies can allow them separately.
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry, RegistryContentType } from "prom-client";
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

export function readinessBody(readiness: Readiness): { ready: boolean; body: string } {
  const detail = Object.fromEntries(Object.entries(readiness.checks()).map(([name, r]) => [name, asWord(r)]));
  const ready = !Object.values(detail).includes("fail");
  return { ready, body: JSON.stringify({ status: ready ? "ready" : "not ready", checks: detail }) };
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
}): Promise<OpsServer> {
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
      res.writeHead(200, { "content-type": "application/json" }).end('{"status":"live"}');
    } else if (url === HEALTH_PATHS.ready) {
      const { ready, body } = readinessBody(opts.readiness);
      res.writeHead(ready ? 200 : 503, { "content-type": "application/json" }).end(body);
    } else {
      res.writeHead(404, { "content-type": "application/json" }).end('{"code":"NOT_FOUND"}');
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
