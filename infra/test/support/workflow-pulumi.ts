// What the workflows' pulumi/actions steps run, as the equivalent CLI
// command: the CLI lane runs exactly this, so the workflows and the test
// cannot drift. An input this file does not know fails, so a new option in a
// workflow is either mapped here or refused.
import { readFileSync } from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { REPO_ROOT } from "../../stack-files";

/** Inputs that only serve GitHub (the PR comment) or pick the CLI's version. */
const NOT_CLI = new Set(["pulumi-version", "comment-on-pr", "edit-pr-comment", "github-token"]);

/** The action's inputs as CLI flags (pulumi/actions v7: the Automation API's preview and up). */
const FLAGS: Record<string, (value: string) => string[]> = {
  "stack-name": (v) => ["--stack", v],
  diff: (v) => (v === "true" ? ["--diff"] : []),
  policyPacks: (v) =>
    v
      .split(/[\s,]+/)
      .filter(Boolean)
      .flatMap((p) => ["--policy-pack", p]),
  message: (v) => ["--message", v],
};

/** `up` through the action is the Automation API's: no interactive preview, no prompt. */
const COMMAND: Record<string, string[]> = { preview: ["preview"], up: ["up", "--yes", "--skip-preview"] };

export interface PulumiStep {
  workflow: string;
  job: string;
  inputs: Record<string, string>;
}

/** Every pulumi/actions step that runs a command (not only installs the CLI) in a workflow. */
export function pulumiSteps(workflow: string): PulumiStep[] {
  const doc = YAML.parse(readFileSync(path.join(REPO_ROOT, ".github", "workflows", workflow), "utf8"));
  return Object.entries(
    doc.jobs as Record<string, { steps?: { uses?: string; with?: Record<string, unknown> }[] }>,
  ).flatMap(([job, j]) =>
    (j.steps ?? [])
      .filter((s) => s.uses?.startsWith("pulumi/actions@") && s.with?.command !== undefined)
      .map((s) => ({
        workflow,
        job,
        inputs: Object.fromEntries(Object.entries(s.with ?? {}).map(([k, v]) => [k, String(v)])),
      })),
  );
}

/**
 * The CLI arguments equivalent to a step, with `${{ ... }}` expressions
 * replaced from `vars` (a missing one throws).
 */
export function cliArgs(step: PulumiStep, vars: Record<string, string>): string[] {
  const expand = (v: string) =>
    v.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_, expr: string) => {
      const value = vars[expr];
      if (value === undefined) throw new Error(`${step.workflow} ${step.job}: no value for \${{ ${expr} }}`);
      return value;
    });
  const command = COMMAND[step.inputs.command ?? ""];
  if (!command)
    throw new Error(`${step.workflow} ${step.job}: unknown pulumi/actions command ${step.inputs.command}`);
  const args = [...command];
  for (const [key, value] of Object.entries(step.inputs)) {
    if (key === "command" || NOT_CLI.has(key)) continue;
    const flag = FLAGS[key];
    if (!flag)
      throw new Error(`${step.workflow} ${step.job}: pulumi/actions input ${key} has no CLI equivalent here`);
    args.push(...flag(expand(value)));
  }
  return args;
}
