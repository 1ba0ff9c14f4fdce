// The workflows' pulumi/actions steps as CLI commands (the CLI lane in
// real-up.e2e.test.ts runs them): every input maps, and the guardrails run on
// every preview and every up.
import assert from "node:assert/strict";
import { test } from "node:test";
import { cliArgs, pulumiSteps } from "./support/workflow-pulumi";

const vars = { "matrix.stack": "prod", "github.sha": "0".repeat(40) };

test("every pulumi/actions step has a CLI equivalent, and each runs the policy pack", () => {
  const steps = [...pulumiSteps("preview.yml"), ...pulumiSteps("deploy.yml")];
  assert.ok(steps.some((s) => s.inputs.command === "preview"));
  assert.equal(steps.filter((s) => s.inputs.command === "up").length, 3, "staging, prod and the rollback");
  for (const step of steps) {
    const args = cliArgs(step, vars);
    assert.ok(
      args.join(" ").includes("--policy-pack policy"),
      `${step.workflow} ${step.job}: ${args.join(" ")}`,
    );
  }
  const preview = cliArgs(pulumiSteps("preview.yml")[0] as (typeof steps)[0], vars);
  assert.deepEqual(preview, ["preview", "--stack", "prod", "--diff", "--policy-pack", "policy"]);
});

test("an input with no CLI equivalent is refused, not ignored", () => {
  assert.throws(
    () => cliArgs({ workflow: "x.yml", job: "j", inputs: { command: "up", refresh: "true" } }, vars),
    /input refresh has no CLI equivalent/,
  );
});
