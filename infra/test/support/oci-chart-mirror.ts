// A chart mirror in an OCI registry, as `golive:charts.mirror: oci://...`
// expects one: a registry on loopback (tools/oci-registry: HTTPS under a CA
// of its own, like a private registry with an in-house CA) holding the pinned
// charts, pushed from the packaged mirror with `helm push` as a user would.
// Like a private registry it takes no anonymous request: `helm registry
// login` stores a generated password in Helm's registry config, where the
// provider's Helm finds it. The registry's request log tells which charts
// were pulled.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { CHARTS, type ChartPin, chartName, mirrorArchive } from "../../charts";
import { REPO_ROOT } from "../../stack-files";

const TOOLS_BIN = path.join(REPO_ROOT, ".tools", "bin");
const USER = "golive-mirror";

export interface OciChartMirror {
  /** The value for golive:charts.mirror. */
  url: string;
  /** The registry's CA; a Helm client trusts it through SSL_CERT_FILE. */
  caFile: string;
  /** Helm's config (with the registry login), cache and data under the mirror's folder, not the user's. */
  helmEnv: Record<string, string>;
  /** The `<chart>:<tag>` references whose manifest was fetched (GET, 200), in order. */
  pulled(): string[];
  stop(): void;
}

/** The Helm version `helm push` uses must be the one the provider pulls with. */
export function helmVersions(): { pusher?: string; provider?: string } {
  const of = (dir: string) =>
    /helm\.sh\/helm\/v3 (v\S+)/.exec(readFileSync(path.join(REPO_ROOT, "tools", dir, "go.mod"), "utf8"))?.[1];
  return { pusher: of("oci-registry"), provider: of("pulumi-kubernetes") };
}

export async function startOciChartMirror(folder: string): Promise<OciChartMirror> {
  const dir = mkdtempSync(path.join(tmpdir(), "golive-oci-mirror-"));
  const lines: string[] = [];
  let registry: ChildProcess | undefined;
  const stop = () => {
    registry?.kill("SIGKILL");
    registry = undefined;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const passwordFile = path.join(dir, "password");
    const password = randomBytes(18).toString("base64url");
    writeFileSync(passwordFile, password, { mode: 0o600 });
    const proc = spawn(
      path.join(TOOLS_BIN, "oci-registry"),
      ["-dir", dir, "-user", USER, "-password-file", passwordFile],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    registry = proc;
    let buffered = "";
    proc.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      buffered += chunk;
      const done = buffered.split("\n");
      buffered = done.pop() ?? "";
      lines.push(...done);
    });
    // The log is read between the synchronous helm calls: wait for a line.
    const logged = async (match: (line: string) => boolean) => {
      for (let i = 0; i < 100 && !lines.some(match); i++) await new Promise((r) => setTimeout(r, 20));
      return lines.some(match);
    };
    const stderr: string[] = [];
    proc.stderr.setEncoding("utf8").on("data", (chunk: string) => stderr.push(chunk));
    const address = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("oci-registry did not start in 10 s")), 10_000);
      const poll = setInterval(() => {
        const m = /^listening on https:\/\/(\S+)$/.exec(lines[0] ?? "");
        if (!m) return;
        clearInterval(poll);
        clearTimeout(timer);
        resolve(m[1] as string);
      }, 20);
      proc.once("exit", (code) => {
        clearInterval(poll);
        clearTimeout(timer);
        reject(new Error(`oci-registry exited (${code}): ${stderr.join("")}`));
      });
    });
    const url = `oci://${address}/charts`;
    const caFile = path.join(dir, "ca.pem");
    const helmEnv = {
      HELM_CONFIG_HOME: path.join(dir, "helm", "config"),
      HELM_CACHE_HOME: path.join(dir, "helm", "cache"),
      HELM_DATA_HOME: path.join(dir, "helm", "data"),
    };
    const helm = (args: string[], input?: string) =>
      spawnSync(path.join(TOOLS_BIN, "helm"), [...args, "--ca-file", caFile], {
        env: { PATH: process.env.PATH ?? "", HOME: dir, ...helmEnv },
        encoding: "utf8",
        input,
        timeout: 60_000,
      });
    const pins = Object.values(CHARTS) as ChartPin[];
    const anonymous = helm(["push", mirrorArchive(folder, pins[0] as ChartPin), url]);
    if (anonymous.status === 0 || !(await logged((line) => line.endsWith(" 401"))))
      throw new Error(`the registry did not refuse an anonymous push: ${anonymous.stderr}`);
    const login = helm(["registry", "login", address, "--username", USER, "--password-stdin"], password);
    if (login.status !== 0) throw new Error(`helm registry login: ${login.stderr || login.error}`);
    for (const pin of pins) {
      const push = helm(["push", mirrorArchive(folder, pin), url]);
      if (push.status !== 0) throw new Error(`helm push ${chartName(pin)}: ${push.stderr || push.error}`);
    }
    const last = pins.at(-1) as ChartPin;
    const lastTag = `PUT /v2/charts/${chartName(last)}/manifests/${last.version} 201`;
    if (!(await logged((line) => line === lastTag))) throw new Error(`the registry never logged ${lastTag}`);
    const pushed = lines.length;
    return {
      url,
      caFile,
      helmEnv,
      pulled: () =>
        lines.slice(pushed).flatMap((line) => {
          const m = /^GET \/v2\/charts\/(\S+)\/manifests\/(\S+) 200$/.exec(line);
          return m ? [`${m[1]}:${m[2]}`] : [];
        }),
      stop,
    };
  } catch (err) {
    stop();
    throw err;
  }
}
