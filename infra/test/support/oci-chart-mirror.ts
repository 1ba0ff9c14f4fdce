// A chart mirror in an OCI registry, as `golive:charts.mirror: oci://...`
// expects one: a registry on loopback (tools/oci-registry: HTTPS under a CA
// of its own, like a private registry with an in-house CA) holding the pinned
// charts, pushed from the packaged mirror with `helm push` as a user would.
// The registry's request log tells which charts were pulled.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { CHARTS, type ChartPin, chartName, mirrorArchive } from "../../charts";
import { REPO_ROOT } from "../../stack-files";

const TOOLS_BIN = path.join(REPO_ROOT, ".tools", "bin");

export interface OciChartMirror {
  /** The value for golive:charts.mirror. */
  url: string;
  /** The registry's CA; a Helm client trusts it through SSL_CERT_FILE. */
  caFile: string;
  /** Helm's config, cache and data under the mirror's folder, not the user's. */
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
    const proc = spawn(path.join(TOOLS_BIN, "oci-registry"), ["-dir", dir], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    registry = proc;
    let buffered = "";
    proc.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      buffered += chunk;
      const done = buffered.split("\n");
      buffered = done.pop() ?? "";
      lines.push(...done);
    });
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
    for (const pin of Object.values(CHARTS) as ChartPin[]) {
      const push = spawnSync(
        path.join(TOOLS_BIN, "helm"),
        ["push", mirrorArchive(folder, pin), url, "--ca-file", caFile],
        { env: { PATH: process.env.PATH ?? "", HOME: dir, ...helmEnv }, encoding: "utf8", timeout: 60_000 },
      );
      if (push.status !== 0) throw new Error(`helm push ${chartName(pin)}: ${push.stderr || push.error}`);
    }
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
