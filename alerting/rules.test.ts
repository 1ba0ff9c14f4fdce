// The rule files are data with tests: the real promtool checks their syntax
// and runs the unit tests in alerting/tests (each alert fires at its threshold
// and duration, and stays quiet just below or just shorter). Every alert also
// carries what an on-call engineer needs, and its runbook exists.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { promisify } from "node:util";
import { loadRuleFiles, RULES_DIR } from "./rule-files";

const run = promisify(execFile);
const repoRoot = path.resolve(__dirname, "..");
const testsDir = path.join(__dirname, "tests");

describe("alert rule files", () => {
  const files = loadRuleFiles();

  test("promtool check rules accepts every rule file", async () => {
    const paths = files.map((f) => f.path);
    assert.ok(paths.length >= 4, `expected the rule files in ${RULES_DIR}`);
    const { stdout } = await run("promtool", ["check", "rules", ...paths]);
    assert.equal(stdout.match(/SUCCESS/g)?.length, paths.length, stdout);
  });

  for (const testFile of readdirSync(testsDir).filter((f) => f.endsWith(".yaml"))) {
    test(`promtool test rules passes ${testFile}`, async () => {
      const { stdout, stderr } = await run("promtool", [
        "test",
        "rules",
        path.join(testsDir, testFile),
      ]).catch((err: { stdout: string; stderr: string }) => assert.fail(`${err.stdout}${err.stderr}`));
      assert.match(stdout + stderr, /SUCCESS/);
    });
  }

  test("every alert has a severity, summary, description and a runbook_url that is a file in the repo", () => {
    const alerts = files.flatMap((f) => f.groups.flatMap((g) => g.rules)).filter((r) => r.alert);
    assert.ok(alerts.length >= 15);
    for (const rule of alerts) {
      assert.match(rule.labels?.severity ?? "", /^(critical|warning|info)$/, `${rule.alert}: severity`);
      assert.ok(rule.annotations?.summary, `${rule.alert}: summary`);
      assert.ok(rule.annotations?.description, `${rule.alert}: description`);
      const runbook = rule.annotations?.runbook_url ?? "";
      assert.match(
        runbook,
        /^docs\/runbooks\/[a-z0-9-]+\.md$/,
        `${rule.alert}: runbook_url is repo-relative`,
      );
      assert.ok(existsSync(path.join(repoRoot, runbook)), `${rule.alert}: ${runbook} exists`);
    }
  });

  test("every alert name is covered by at least one promtool test that expects it to fire", async () => {
    const { readFileSync } = await import("node:fs");
    const tested = readdirSync(testsDir)
      .filter((f) => f.endsWith(".yaml"))
      .map((f) => readFileSync(path.join(testsDir, f), "utf8"))
      .join("\n");
    const names = new Set(
      files.flatMap((f) => f.groups.flatMap((g) => g.rules)).flatMap((r) => r.alert ?? []),
    );
    for (const name of names) {
      assert.match(tested, new RegExp(`alertname: ${name}\\n\\s+exp_alerts:\\n\\s+- exp_labels`), name);
    }
  });
});
