// The plain Pulumi CLI as users and the workflows run it (`pulumi preview
// --policy-pack policy`, `pulumi up`), on this repository's Pulumi.yaml and
// stack file, in a throwaway project folder: a copy of Pulumi.yaml and
// Pulumi.<stack>.yaml (stack init writes its salt there and the test sets the
// chart mirror there, never in the repository's files), links to the program,
// the policy pack and node_modules, a file backend (state/) and a PULUMI_HOME of its
// own (its plugins linked from the one setup-tools.sh fills).
import { execFile } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import YAML from "yaml";
import { REPO_ROOT } from "../../stack-files";

const TOOLS_BIN = path.join(REPO_ROOT, ".tools", "bin");

/** Why the CLI lane cannot run here, or undefined when it can. */
export function cliUnavailable(): string | undefined {
  if (!existsSync(path.join(TOOLS_BIN, "pulumi"))) return "no pulumi CLI in .tools/bin (npm run setup)";
  const onPath = (process.env.PATH ?? "")
    .split(path.delimiter)
    .map((d) => path.join(d, "pulumi-language-nodejs"));
  if (![path.join(TOOLS_BIN, "pulumi-language-nodejs"), ...onPath].some((f) => existsSync(f))) {
    return "no pulumi-language-nodejs (../shared/tools or PATH): the CLI cannot run a nodejs program";
  }
  return undefined;
}

export interface CliRun {
  code: number;
  output: string;
  ms: number;
}

export interface CliProject {
  dir: string;
  /** Runs `pulumi <args>` in the project; never rejects (the exit code is in the result). */
  run(args: string[], timeoutMs?: number): Promise<CliRun>;
  /** A second project main that loads the real one after `prelude` (TypeScript) ran. */
  writeAltMain(name: string, prelude: string): void;
  remove(): void;
}

const LINKED = ["infra", "policy", "node_modules", "package.json", "tsconfig.json"];

export function createCliProject(opts: {
  stack: string;
  kubeconfig: string;
  passphrase: string;
  /** More environment for every pulumi command (the language host and the providers inherit it). */
  env?: Record<string, string>;
}): CliProject {
  const dir = mkdtempSync(path.join(tmpdir(), `golive-cli-${opts.stack}-`));
  copyFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
  copyFileSync(
    path.join(REPO_ROOT, `Pulumi.${opts.stack}.yaml`),
    path.join(dir, `Pulumi.${opts.stack}.yaml`),
  );
  for (const name of LINKED) symlinkSync(path.join(REPO_ROOT, name), path.join(dir, name));
  const home = path.join(dir, ".pulumi-home");
  mkdirSync(home);
  mkdirSync(path.join(dir, "state"));
  const plugins = path.join(REPO_ROOT, ".tools", "pulumi-home", "plugins");
  if (existsSync(plugins)) symlinkSync(plugins, path.join(home, "plugins"));
  const env = {
    ...process.env,
    PATH: `${TOOLS_BIN}${path.delimiter}${process.env.PATH ?? ""}`,
    PULUMI_HOME: home,
    PULUMI_CONFIG_PASSPHRASE: opts.passphrase,
    PULUMI_SKIP_UPDATE_CHECK: "true",
    KUBECONFIG: opts.kubeconfig,
    NO_COLOR: "1",
    ...opts.env,
  };
  return {
    dir,
    run(args, timeoutMs = 15 * 60_000) {
      const started = performance.now();
      return new Promise<CliRun>((resolve) => {
        execFile(
          path.join(TOOLS_BIN, "pulumi"),
          [...args, "--non-interactive"],
          { cwd: dir, env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
          (err, stdout, stderr) => {
            const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
            resolve({ code, output: `${stdout}${stderr}`, ms: performance.now() - started });
          },
        );
      });
    },
    writeAltMain(name, prelude) {
      mkdirSync(path.join(dir, name));
      writeFileSync(path.join(dir, name, "index.ts"), `${prelude}\nmodule.exports = require("../infra");\n`);
      const project = YAML.parse(readFileSync(path.join(dir, "Pulumi.yaml"), "utf8"));
      writeFileSync(path.join(dir, "Pulumi.yaml"), YAML.stringify({ ...project, main: `${name}/` }));
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
