// The rules are data with tests: the real promtool checks the platform files
// and each service's set, and runs the unit tests in alerting/tests and beside
// each app's own alerts (each alert fires at its threshold and duration, and
// stays quiet just below or just shorter). Every alert also
// carries what an on-call engineer needs, and its runbook exists.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { promisify } from "node:util";
import YAML from "yaml";
import { APPS, servicesOf } from "../infra/apps";
import { allRuleFiles, RULES_DIR, ruleFilePaths } from "./rule-files";
import { serviceAlertGroup } from "./service-alerts";

const run = promisify(execFile);
const repoRoot = path.resolve(__dirname, "..");
/** promtool test files: the platform's, and each app's beside its own alerts. */
const testFiles = [
  ...readdirSync(path.join(__dirname, "tests"))
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => path.join(__dirname, "tests", f)),
  ...servicesOf(APPS).flatMap((s) => {
    if (!s.rules) return [];
    const beside = path.join(repoRoot, s.rules.replace(/\.yaml$/, ".test.yaml"));
    return existsSync(beside) ? [beside] : [];
  }),
  // The WAF service's, deployed with golive:waf.engine ext-authz (infra/components/waf-authz.ts).
  path.join(repoRoot, "apps", "waf-authz", "alerts.test.yaml"),
];

describe("alert rules", () => {
  const files = allRuleFiles();
  // The generated sets exist only in memory: promtool reads them from here.
  const scratch = mkdtempSync(path.join(tmpdir(), "golive-rules-"));
  after(() => rmSync(scratch, { recursive: true, force: true }));
  const serviceSets = files.filter((f) => !f.path);
  writeFileSync(
    path.join(scratch, "service-alerts.yaml"),
    YAML.stringify({ groups: servicesOf(APPS).map((s) => serviceAlertGroup(s.name)) }),
  );

  test("promtool check rules accepts every platform file and every service's set", async () => {
    const paths = ruleFilePaths(files, scratch);
    assert.ok(paths.length >= 4, `expected the rule files in ${RULES_DIR}`);
    assert.equal(serviceSets.length, servicesOf(APPS).length, "one set per service");
    const { stdout } = await run("promtool", ["check", "rules", ...paths]);
    assert.equal(stdout.match(/SUCCESS/g)?.length, paths.length, stdout);
  });

  for (const testFile of testFiles) {
    test(`promtool test rules passes ${path.relative(repoRoot, testFile)}`, async () => {
      // Paths made absolute; "generated:" names a file written to the scratch folder.
      const spec = YAML.parse(readFileSync(testFile, "utf8")) as { rule_files: string[] };
      spec.rule_files = spec.rule_files.map((f) =>
        f.startsWith("generated:")
          ? path.join(scratch, f.slice("generated:".length))
          : path.resolve(path.dirname(testFile), f),
      );
      const copy = path.join(scratch, `${path.basename(path.dirname(testFile))}-${path.basename(testFile)}`);
      writeFileSync(copy, YAML.stringify(spec));
      const { stdout, stderr } = await run("promtool", ["test", "rules", copy]).catch(
        (err: { stdout: string; stderr: string }) => assert.fail(`${err.stdout}${err.stderr}`),
      );
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

  test("every alert name is covered by at least one promtool test that expects it to fire", () => {
    const tested = testFiles.map((f) => readFileSync(f, "utf8")).join("\n");
    const names = new Set(
      files.flatMap((f) => f.groups.flatMap((g) => g.rules)).flatMap((r) => r.alert ?? []),
    );
    for (const name of names) {
      assert.match(tested, new RegExp(`alertname: ${name}\\n\\s+exp_alerts:\\n\\s+- exp_labels`), name);
    }
  });
});
