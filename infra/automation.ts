// The Pulumi program run by the real engine through the Automation API, as an
// inline program: no Node.js language host needed, a file backend under the
// work folder and a passphrase secrets provider, so nothing but the CLI, the
// provider plugins and a kubeconfig is required. Config comes from the
// repository's Pulumi.<stack>.yaml and goes through the same zod schema.
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { type ConfigMap, LocalWorkspace, PulumiCommand, type Stack } from "@pulumi/pulumi/automation";
import { program } from "./program";
import { REPO_ROOT, readStackFile, type StackSettings, withSettings } from "./stack-files";

const TOOLS = path.join(REPO_ROOT, ".tools");

export interface DeployOptions {
  stack: string;
  /** Holds the workspace and, under state/, the file backend. */
  workDir?: string;
  /** Kubeconfig for the Kubernetes provider; the ambient one when absent. */
  kubeconfig?: string;
  /** Sets golive:charts.mirror for this workspace only (a folder or oci:// URL). */
  chartMirror?: string;
  /**
   * Replaces golive:images entries for this workspace only (the stack file
   * keeps the real references): the real-pods lane runs images built here.
   */
  images?: Record<string, string>;
  /**
   * Settings merged over the stack file's object keys for this workspace only
   * (key without the golive: prefix -> fields), e.g. the real-pods lane's
   * { loadtest: { target: "gateway" } }.
   */
  settings?: StackSettings;
  /** Passphrase of the stack's secrets; PULUMI_CONFIG_PASSPHRASE when absent. */
  passphrase?: string;
  onOutput?: (text: string) => void;
}

export const defaultWorkDir = (stack: string) => path.join(REPO_ROOT, ".pulumi", "automation", stack);

/** The CLI built by setup-tools.sh (.tools/bin/pulumi), else the one on PATH. */
async function pulumiCommand(): Promise<PulumiCommand> {
  const local = existsSync(path.join(TOOLS, "bin", "pulumi"));
  return PulumiCommand.get(local ? { root: TOOLS } : {});
}

/**
 * Creates or selects the stack in its workspace and makes its config equal to
 * the repository's stack file (plus the chart mirror, when given): keys the
 * file no longer has are removed, so the workspace never drifts from git.
 */
export async function selectStack(opts: DeployOptions): Promise<Stack> {
  const workDir = path.resolve(opts.workDir ?? defaultWorkDir(opts.stack));
  const stateDir = path.join(workDir, "state");
  mkdirSync(stateDir, { recursive: true });
  const passphrase = opts.passphrase ?? process.env.PULUMI_CONFIG_PASSPHRASE;
  if (passphrase === undefined && !process.env.PULUMI_CONFIG_PASSPHRASE_FILE) {
    throw new Error(
      "set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE): it encrypts this stack's secrets in its state",
    );
  }
  const pulumiHome = path.join(TOOLS, "pulumi-home");
  const envVars: Record<string, string> = {
    PULUMI_SKIP_UPDATE_CHECK: "true",
    ...(passphrase !== undefined ? { PULUMI_CONFIG_PASSPHRASE: passphrase } : {}),
    ...(opts.kubeconfig ? { KUBECONFIG: path.resolve(opts.kubeconfig) } : {}),
  };
  const stack = await LocalWorkspace.createOrSelectStack(
    { stackName: opts.stack, projectName: "golive", program: async () => ({ ...program() }) },
    {
      workDir,
      pulumiCommand: await pulumiCommand(),
      ...(existsSync(pulumiHome) ? { pulumiHome } : {}),
      envVars,
      secretsProvider: "passphrase",
      projectSettings: {
        name: "golive",
        runtime: "nodejs",
        backend: { url: `file://${stateDir}` },
      },
    },
  );

  const { config, secureKeys } = readStackFile(opts.stack);
  if (secureKeys.length > 0) {
    throw new Error(
      `Pulumi.${opts.stack}.yaml has secure values (${secureKeys.join(", ")}) encrypted for another backend; ` +
        `deploy this stack with the Pulumi CLI, or set them here with pulumi config set --secret --cwd ${workDir}`,
    );
  }
  const settings: StackSettings = { ...opts.settings };
  if (opts.chartMirror) settings.charts = { ...settings.charts, mirror: opts.chartMirror };
  if (opts.images) settings.images = { ...settings.images, ...opts.images };
  const wanted: ConfigMap = {};
  for (const [key, value] of Object.entries(withSettings(config, settings))) wanted[key] = { value };
  const existing = await stack.getAllConfig();
  const stale = Object.keys(existing).filter((k) => !(k in wanted) && !existing[k]?.secret);
  if (stale.length > 0) await stack.removeAllConfig(stale);
  await stack.setAllConfig(wanted);
  return stack;
}
