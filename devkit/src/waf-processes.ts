// The edge's WAF on loopback, for test/waf and scripts/bench/waf-latency.ts:
// the harness (tools/coraza-waf) as the wasm filter with Coraza inside it, or
// as Envoy's ext_authz filter asking the WAF service (apps/waf-authz); or as
// a plain proxy (ext_authz off), the edge without a WAF. The callers render
// the directives (infra/components/ingress.ts).
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { REPO_ROOT } from "./service-process";

const HARNESS = path.join(REPO_ROOT, ".tools", "bin", "coraza-waf");
const AUTHZ = path.join(REPO_ROOT, ".tools", "bin", "waf-authz");

/** One line of the harness's log (tools/coraza-waf/main.go, outcome). */
export interface Outcome {
  requestId?: string;
  method: string;
  uri: string;
  status: number;
  blocked: boolean;
  stage?: string;
  upstream: boolean;
  wouldBlock: boolean;
  score: number;
  rules: number[];
  error?: string;
}

export interface Harness {
  url: string;
  port: number;
  outcomes: Outcome[];
  stop(): Promise<void>;
}

/** The WAF service on loopback; its JSON log lines kept. */
export interface AuthzService {
  grpc: string;
  ops: string;
  lines: Record<string, unknown>[];
  stop(): Promise<void>;
}

export function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

/** Reads a child's JSON stdout lines until `ready` picks one, within 30 s. */
function linesUntil<T>(
  child: ChildProcess,
  what: string,
  onLine: (line: Record<string, unknown>) => void,
  ready: (line: Record<string, unknown>) => T | undefined,
): Promise<T> {
  let stderr = "";
  child.stderr?.on("data", (b) => (stderr += b));
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not listen in 30 s: ${stderr}`)), 30_000);
    child.on("exit", (code) => reject(new Error(`${what} exited ${code}: ${stderr}`)));
    readline.createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (text) => {
      const line = JSON.parse(text) as Record<string, unknown>;
      const value = ready(line);
      if (value !== undefined) {
        clearTimeout(timer);
        resolve(value);
      } else onLine(line);
    });
  });
}

/** The WAF service with these directives (wafAuthzDirectives). */
export async function startAuthz(directives: string[], dir: string, name = "authz"): Promise<AuthzService> {
  const file = path.join(dir, `${name}-directives.json`);
  fs.writeFileSync(file, JSON.stringify(directives));
  const child = spawn(AUTHZ, [], {
    env: { DIRECTIVES_FILE: file, LISTEN_HOST: "127.0.0.1", GRPC_PORT: "0", OPS_PORT: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: Record<string, unknown>[] = [];
  const addrs = await linesUntil(
    child,
    "waf-authz",
    (l) => lines.push(l),
    (l) => (l.msg === "listening" ? { grpc: l.grpc as string, ops: l.ops as string } : undefined),
  );
  return { ...addrs, lines, stop: () => stopChild(child) };
}

/**
 * The harness in front of `upstream`: Coraza inside it with `directives`
 * (the wasm filter's order of work), or asking the service at `authz`
 * (Envoy's ext_authz filter), or `authz: "off"` (a proxy, no WAF).
 */
export async function startHarness(
  waf: { directives: string[] } | { authz: string },
  upstream: string,
  dir: string,
): Promise<Harness> {
  let args: string[];
  if ("directives" in waf) {
    const file = path.join(dir, `directives-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
    fs.writeFileSync(file, JSON.stringify(waf.directives));
    args = ["-directives", file, "-upstream", upstream];
  } else {
    args = ["-authz", waf.authz, "-upstream", upstream];
  }
  const child: ChildProcess = spawn(HARNESS, args, { stdio: ["ignore", "pipe", "pipe"] });
  const outcomes: Outcome[] = [];
  const listening = await linesUntil(
    child,
    "coraza-waf",
    (l) => outcomes.push(l as unknown as Outcome),
    (l) => (typeof l.listening === "string" ? l.listening : undefined),
  );
  return {
    url: `http://${listening}`,
    port: Number(listening.split(":").pop()),
    outcomes,
    stop: () => stopChild(child),
  };
}
