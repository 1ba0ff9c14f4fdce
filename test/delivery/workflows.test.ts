// The GitHub Actions workflows: valid by actionlint (pinned in tools/go.mod,
// built by scripts/setup-tools.sh), least privilege per job, actions pinned
// by commit SHA, and the release path the docs describe.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import YAML from "yaml";
import { APPS, OWN_IMAGES } from "../../infra/apps";
import { rankerApp } from "../../infra/test/fixtures/ranker-app";
import { TRIGGER } from "../../infra/test/support/drill";
import { appsMatrix } from "../../scripts/apps-matrix";
import { pinImages } from "../../scripts/pin-images";

/** How deploy.yml writes image references into stack config (one script, three places). */
const PIN = /node --import tsx scripts\/pin-images\.ts "\$STACK" "\$IMAGES"/;

const ROOT = path.resolve(__dirname, "../..");
const DIR = path.join(ROOT, ".github/workflows");
const ACTIONLINT = path.join(ROOT, ".tools/bin/actionlint");

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  "continue-on-error"?: unknown;
}
interface Job {
  permissions?: unknown;
  environment?: unknown;
  needs?: string | string[];
  uses?: string;
  steps?: Step[];
  "runs-on"?: string;
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: unknown;
  jobs: Record<string, Job>;
}

const files = fs.readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f));
const load = (name: string) => YAML.parse(fs.readFileSync(path.join(DIR, name), "utf8")) as Workflow;

test("the expected workflows exist", () => {
  for (const name of ["ci.yml", "preview.yml", "deploy.yml", "images.yml", "gitleaks.yml"]) {
    assert.ok(files.includes(name), `${name} is missing`);
  }
});

test("actionlint (the pinned version) reports nothing for any workflow", () => {
  const pinned = /github\.com\/rhysd\/actionlint (v[\d.]+)/.exec(
    fs.readFileSync(path.join(ROOT, "tools/go.mod"), "utf8"),
  )?.[1];
  assert.ok(pinned, "actionlint is pinned in tools/go.mod");
  const version = spawnSync(ACTIONLINT, ["-version"], { encoding: "utf8" });
  assert.equal(version.status, 0, `actionlint is not built: run npm run setup (${version.error ?? ""})`);
  assert.equal(version.stdout.split("\n")[0], pinned);
  const run = spawnSync(ACTIONLINT, ["-no-color", ...files.map((f) => path.join(DIR, f))], {
    cwd: ROOT,
    encoding: "utf8",
  });
  assert.equal(run.status, 0, run.stdout + run.stderr);
});

test("every workflow grants nothing by default and every job declares its own permissions", () => {
  for (const file of files) {
    const wf = load(file);
    assert.deepEqual(wf.permissions, {}, `${file}: top-level permissions must be {}`);
    for (const [name, job] of Object.entries(wf.jobs)) {
      assert.ok(job.permissions && typeof job.permissions === "object", `${file}/${name} has no permissions`);
      const perms = job.permissions as Record<string, string>;
      assert.ok(!Object.values(perms).includes("write-all"), `${file}/${name}`);
      // Write access only where the job's purpose needs it.
      for (const [scope, level] of Object.entries(perms)) {
        if (level !== "write") continue;
        const allowed: Record<string, string[]> = {
          "preview.yml": ["pull-requests"],
          "images.yml": ["packages"],
          "deploy.yml": ["packages"],
        };
        assert.ok(allowed[file]?.includes(scope), `${file}/${name}: ${scope}: write is not needed`);
      }
    }
  }
});

test("third-party actions are pinned by a full commit SHA with the version in a comment", () => {
  for (const file of files) {
    const text = fs.readFileSync(path.join(DIR, file), "utf8");
    for (const line of text.split("\n")) {
      const m = /^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/.exec(line);
      if (!m?.[1] || m[1].startsWith("./")) continue;
      assert.match(m[1], /^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/, `${file}: ${m[1]} is not pinned by SHA`);
      assert.match(m[2] ?? "", /#\s*v\d+/, `${file}: ${m[1]} has no version comment`);
    }
  }
});

test("checkouts never leave the token in .git/config", () => {
  for (const file of files) {
    for (const [name, job] of Object.entries(load(file).jobs)) {
      for (const step of job.steps ?? []) {
        if (step.uses?.startsWith("actions/checkout@")) {
          assert.equal(step.with?.["persist-credentials"], false, `${file}/${name}`);
        }
      }
    }
  }
});

test("CI runs npm test in the Debian image the tool versions are pinned for, with caches", () => {
  const ci = load("ci.yml");
  const testJob = ci.jobs.test;
  assert.ok(testJob);
  const runs = (testJob.steps ?? []).map((s) => s.run ?? "").join("\n");
  assert.match(runs, /bash \.ci\/run/);
  assert.match(fs.readFileSync(path.join(ROOT, ".ci/run"), "utf8"), /npm test/);
  assert.match(JSON.stringify(testJob), /node:24-bookworm-slim@sha256:[0-9a-f]{64}/);
  assert.ok((testJob.steps ?? []).some((s) => s.uses?.startsWith("actions/cache@")));
  assert.ok(ci.on.pull_request !== undefined && ci.on.push !== undefined);
});

test("preview runs pulumi preview per stack on pull requests and comments the result", () => {
  const wf = load("preview.yml");
  assert.ok(wf.on.pull_request !== undefined);
  const job = wf.jobs.preview as Job & { strategy: { matrix: { include: { stack: string }[] } } };
  assert.deepEqual(
    job.strategy.matrix.include.map((i) => i.stack),
    ["staging", "prod"],
  );
  const pulumi = job.steps?.find((s) => s.uses?.startsWith("pulumi/actions@"));
  assert.equal(pulumi?.with?.command, "preview");
  assert.equal(pulumi?.with?.["comment-on-pr"], true);
});

test("deploy goes to staging first and to prod only through the protected production environment", () => {
  const wf = load("deploy.yml");
  assert.deepEqual(wf.on.push, { branches: ["main"] });
  const { images, staging, prod } = wf.jobs;
  assert.equal(images?.uses, "./.github/workflows/images.yml");
  assert.equal(staging?.environment, "staging");
  assert.equal(prod?.environment, "production");
  assert.ok([prod?.needs].flat().includes("staging"), "prod waits for staging");
  for (const [job, stack] of [
    [staging, "staging"],
    [prod, "prod"],
  ] as const) {
    const steps = job?.steps ?? [];
    const up = steps.findIndex((s) => s.uses?.startsWith("pulumi/actions@") && s.with?.command === "up");
    const pin = steps.findIndex((s) => PIN.test(s.run ?? ""));
    assert.ok(pin >= 0 && up > pin, `${stack}: digests are written into stack config before pulumi up`);
    assert.match(JSON.stringify(steps[pin]), /needs\.images\.outputs\.images/);
    assert.equal(steps[up]?.with?.["stack-name"], stack);
  }
});

test("prod is reached only through a passing go-live drill on staging", () => {
  const wf = load("deploy.yml");
  const drill = wf.jobs["staging-drill"];
  assert.ok([drill?.needs].flat().includes("staging"), "the drill runs on staging as deployed");
  // The same script that the real-pods lane runs against a real node (no second copy to drift).
  const script = path.relative(ROOT, TRIGGER);
  const gate = (drill?.steps ?? []).find((s) => (s.run ?? "").includes(`bash ${script} staging `));
  assert.ok(gate, `the drill step runs ${script} for staging`);
  assert.equal(gate?.["continue-on-error"], undefined, "its verdict is not ignored");
  assert.equal((drill as { "continue-on-error"?: unknown } | undefined)?.["continue-on-error"], undefined);
  assert.ok([wf.jobs.prod?.needs].flat().includes("staging-drill"), "prod waits for the drill");
});

test("prod gets a smoke after its deploy, and a failed smoke rolls it back to the images it ran before", () => {
  const wf = load("deploy.yml");
  const { prod, rollback } = wf.jobs;
  const smoke = wf.jobs["prod-smoke"];
  assert.ok([smoke?.needs].flat().includes("prod"));
  assert.ok((smoke?.steps ?? []).some((s) => /npm run smoke -- --url "https:\/\//.test(s.run ?? "")));
  const record = (prod?.steps ?? []).findIndex((s) =>
    /pulumi stack output images --json --stack "\$STACK"/.test(s.run ?? ""),
  );
  const up = (prod?.steps ?? []).findIndex((s) => s.with?.command === "up");
  assert.ok(record >= 0 && record < up, "prod records the running images before its pulumi up");
  assert.deepEqual([rollback?.needs].flat().sort(), ["prod", "prod-smoke"]);
  assert.match(
    String((rollback as { if?: string } | undefined)?.if),
    /needs\.prod-smoke\.result == 'failure'/,
  );
  const steps = rollback?.steps ?? [];
  const pin = steps.findIndex((s) => PIN.test(s.run ?? ""));
  const rollUp = steps.findIndex((s) => s.with?.command === "up" && s.with?.["stack-name"] === "prod");
  assert.ok(pin >= 0 && rollUp > pin, "the rollback pins the recorded images, then runs pulumi up on prod");
  assert.match(JSON.stringify(steps[pin]), /needs\.prod\.outputs\.images/);
});

test("images are built per app of the list, pushed to GHCR and handed on as digest references", () => {
  const wf = load("images.yml");
  const { apps, build, refs } = wf.jobs as Record<string, Job & { strategy?: { matrix?: unknown } }>;
  assert.match(JSON.stringify(apps?.steps), /scripts\/apps-matrix\.ts/, "the matrix comes from the app list");
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression
  assert.equal(build?.strategy?.matrix, "${{ fromJSON(needs.apps.outputs.matrix) }}");
  const pushes = (build?.steps ?? []).filter((s) => s.uses?.startsWith("docker/build-push-action@"));
  assert.equal(pushes.length, 1);
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression
  assert.equal(pushes[0]?.with?.file, "${{ matrix.dockerfile }}");
  assert.equal(pushes[0]?.with?.push, true);
  assert.match(String(pushes[0]?.with?.["cache-from"]), /type=gha,scope=\$\{\{ matrix\.name \}\}/);
  // The build stamp: the app's version from the matrix, the commit built.
  assert.match(String(pushes[0]?.with?.["build-args"]), /GOLIVE_VERSION=\$\{\{ matrix\.version \}\}/);
  assert.match(String(pushes[0]?.with?.["build-args"]), /GOLIVE_COMMIT=\$\{\{ github\.sha \}\}/);
  assert.match(JSON.stringify(build), /@\$\{DIGEST\}/);
  assert.match(JSON.stringify(refs), /no reference for/, "refs fails when an app of the list has no image");
  // What the matrix holds: every app and our other images, each with a Dockerfile that exists.
  const { include } = appsMatrix();
  assert.deepEqual(
    include.map((a) => a.name),
    [...APPS.map((a) => a.name), ...OWN_IMAGES.map((i) => i.name)],
  );
  for (const a of include) {
    assert.ok(fs.existsSync(path.join(ROOT, a.dockerfile)), a.dockerfile);
    assert.match(a.version, /^\d+\.\d+\.\d+/, `${a.name}: its package version`);
  }
  // A fifth app is built once it is listed: no workflow edit.
  assert.ok(appsMatrix([...APPS, rankerApp]).include.some((a) => a.name === "ranker"));
  const ci = spawnSync(process.execPath, ["--import", "tsx", "scripts/apps-matrix.ts", "--names"], {
    cwd: ROOT,
    encoding: "utf8",
  });
  assert.deepEqual(
    ci.stdout.trim().split("\n"),
    APPS.map((a) => a.name),
    ci.stderr,
  );
  assert.match(fs.readFileSync(path.join(DIR, "ci.yml"), "utf8"), /scripts\/apps-matrix\.ts --names/);
});

test("pin-images writes every listed app's reference and refuses anything else", () => {
  const calls: string[][] = [];
  const run = (args: string[]) => void calls.push(args);
  const images = Object.fromEntries(
    APPS.map((a) => [a.name, `ghcr.io/o/${a.name}@sha256:${"a".repeat(64)}`]),
  );
  assert.deepEqual(pinImages("prod", JSON.stringify(images), APPS, run), Object.keys(images));
  assert.deepEqual(calls[0], ["config", "set", "--stack", "prod", "--path", "images.feed", images.feed]);
  assert.throws(() => pinImages("prod", JSON.stringify({ fedd: "x:1" }), APPS, run), /fedd is not an app/);
  // Our images that are not apps go under their own golive:images key.
  const waf = `ghcr.io/o/waf-authz@sha256:${"b".repeat(64)}`;
  const wafCalls: string[][] = [];
  pinImages("prod", JSON.stringify({ "waf-authz": waf }), APPS, (args) => void wafCalls.push(args));
  assert.deepEqual(wafCalls, [["config", "set", "--stack", "prod", "--path", "images.wafAuthz", waf]]);
  assert.throws(() => pinImages("prod", "", APPS, run), /not JSON/);
  assert.throws(() => pinImages("prod", "{}", APPS, run), /non-empty object/);
  assert.throws(
    () => pinImages("prod", JSON.stringify({ feed: "" }), APPS, run),
    /feed has no image reference/,
  );
  assert.equal(calls.length, APPS.length, "nothing pinned from a refused input");
});

test("gitleaks scans the full history on every push", () => {
  const wf = load("gitleaks.yml");
  assert.ok(wf.on.push !== undefined);
  const steps = wf.jobs.scan?.steps ?? [];
  assert.equal(steps[0]?.with?.["fetch-depth"], 0);
  assert.match(
    steps.map((s) => s.run ?? "").join("\n"),
    /go install github\.com\/zricethezav\/gitleaks\/v8@v\d/,
  );
  assert.match(steps.map((s) => s.run ?? "").join("\n"), /gitleaks git .*--config \.gitleaks\.toml/);
});

test("the workflows run the Pulumi CLI version that the real-engine test builds (tools/pulumi/go.mod)", () => {
  const goMod = fs.readFileSync(path.join(ROOT, "tools/pulumi/go.mod"), "utf8");
  const tested = /github\.com\/pulumi\/pulumi\/pkg\/v3 v(\S+)/.exec(goMod)?.[1];
  assert.ok(tested, "tools/pulumi/go.mod names the CLI version");
  const pins: string[] = [];
  for (const name of files) {
    for (const job of Object.values(load(name).jobs))
      for (const step of job.steps ?? [])
        if (step.uses?.startsWith("pulumi/actions@"))
          pins.push(`${name}: ${String(step.with?.["pulumi-version"])}`);
  }
  assert.ok(pins.length >= 3, "preview and deploy install the Pulumi CLI");
  for (const pin of pins) assert.ok(pin.endsWith(`: ${tested}`), `${pin} is not the tested ${tested}`);
});
