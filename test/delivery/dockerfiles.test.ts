// Static rules for every Dockerfile (no Docker engine here to build them):
// multi-stage, bases pinned by digest, numeric non-root user, production
// dependencies only, nothing fetched by ADD, no secrets in layers, and a
// .dockerignore that keeps local state out of the build context.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { builtHere } from "@golive/shared/app-descriptor";
import { OPS_PORT } from "@golive/shared/contract";
import { APPS, OWN_IMAGES } from "../../infra/apps";
import { rankerApp } from "../../infra/test/fixtures/ranker-app";
import { dockerfileFor, expectedDockerfiles } from "../../scripts/dockerfiles";
import { dockerfiles, type Instruction, parseDockerfile, workspaces } from "./dockerfile";

const ROOT = path.resolve(__dirname, "../..");

const SECRETISH = /(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL|DATABASE_URL)/i;

/** Everything a Dockerfile breaks, as messages; empty when it is fine. */
export function dockerfileProblems(text: string, kind: "node" | "go" = "node"): string[] {
  const problems: string[] = [];
  const ins = parseDockerfile(text);
  const froms = ins.filter((i) => i.op === "FROM");
  if (froms.length < 2) problems.push("not multi-stage");
  const stages = new Set<string>();
  for (const from of froms) {
    const [image = "", as, alias] = from.args.split(/\s+/);
    // `scratch` is no image: nothing is pulled, so nothing to pin.
    const isStage = stages.has(image.toLowerCase()) || image === "scratch";
    if (!isStage && !/@sha256:[0-9a-f]{64}$/.test(image))
      problems.push(`FROM ${image} is not pinned by digest`);
    if (as?.toUpperCase() === "AS" && alias) stages.add(alias.toLowerCase());
  }
  // USER of the final stage: numeric, not 0.
  const lastFrom = ins.lastIndexOf(froms[froms.length - 1] as Instruction);
  const users = ins.slice(lastFrom).filter((i) => i.op === "USER");
  const user = users[users.length - 1]?.args ?? "";
  if (!/^[1-9]\d*(:[1-9]\d*)?$/.test(user))
    problems.push(`final USER "${user}" is not a numeric non-root uid`);
  for (const i of ins) {
    if (i.op === "ADD" && /(https?|git|ftp):\/\//i.test(i.args)) problems.push(`ADD of a URL: ${i.args}`);
    if ((i.op === "ENV" || i.op === "ARG") && SECRETISH.test(i.args))
      problems.push(`${i.op} carries a secret name`);
    if (i.op === "COPY" && /(^|\s)(\.env|\.npmrc|id_rsa|.*\.pem)(\s|$)/.test(i.args)) {
      problems.push(`COPY of a credential file: ${i.args}`);
    }
    if (i.op === "RUN" && /npm (ci|install)/.test(i.args) && /(_authToken|NPM_TOKEN)/.test(i.args)) {
      problems.push("registry token on a RUN line");
    }
  }
  if (kind === "go") {
    // A static binary, built by the pinned Go alone (no toolchain fetched mid-build).
    for (const want of ["CGO_ENABLED=0", "GOTOOLCHAIN=local"])
      if (!ins.some((i) => i.op === "ENV" && i.args.split(/\s+/).includes(want)))
        problems.push(`no ENV ${want}`);
    return problems;
  }
  // The final stage copies node_modules only from a production-only install.
  const prodInstall = ins.some((i) => i.op === "RUN" && /npm ci\b.*--omit=dev/.test(i.args));
  if (!prodInstall) problems.push("no `npm ci --omit=dev` stage for runtime dependencies");
  return problems;
}

const OWN_DOCKERFILES = new Set(OWN_IMAGES.map((i) => i.dockerfile));

test("there is a Dockerfile for each app of the list, exactly as scripts/dockerfiles.ts writes it", () => {
  assert.deepEqual(
    dockerfiles().sort(),
    [...APPS.filter(builtHere).map((a) => a.image.dockerfile), ...OWN_DOCKERFILES].sort(),
  );
  for (const { file, text } of expectedDockerfiles()) {
    assert.equal(
      fs.readFileSync(path.join(ROOT, file), "utf8"),
      text,
      `${file} is stale: run npm run dockerfiles`,
    );
  }
});

test("a fifth app gets a Dockerfile from its descriptor: its ports exposed, its CMD, its packages", () => {
  const text = dockerfileFor(rankerApp, ["apps/shared", "apps/tracing", "proto"]);
  assert.deepEqual(dockerfileProblems(text), []);
  const ins = parseDockerfile(text);
  const args = (op: string) => ins.filter((i) => i.op === op).map((i) => i.args);
  assert.deepEqual(args("EXPOSE"), [`50061 ${OPS_PORT}`]);
  assert.deepEqual(args("CMD"), ['["dist/main.js"]']);
  assert.ok(args("COPY").includes("apps/ranker/src apps/ranker/src"));
  assert.ok(args("COPY").includes("proto ./node_modules/@golive/proto"), "a data package ships whole");
  assert.ok(args("RUN").some((r) => r.includes("--workspace @golive/ranker")));
  assert.ok(args("RUN").includes("node scripts/bundle-app.mjs ranker dist"));
});

for (const file of dockerfiles().filter((f) => !OWN_DOCKERFILES.has(f))) {
  test(`${file} follows the image rules`, () => {
    const text = fs.readFileSync(path.join(ROOT, file), "utf8");
    assert.deepEqual(dockerfileProblems(text), []);
    const ins = parseDockerfile(text);
    // The runtime runs compiled JavaScript, never the tsx dev loader.
    const cmd = ins.filter((i) => i.op === "CMD" || i.op === "ENTRYPOINT").pop();
    assert.match(cmd?.args ?? "", /^\["dist\/[\w-]+\.js"\]$/);
    for (const i of ins.filter((x) => ["RUN", "CMD", "ENTRYPOINT"].includes(x.op))) {
      assert.doesNotMatch(i.args, /\btsx\b/, `${file}: ${i.op} uses tsx`);
    }
    // Every path the build copies exists in the repository.
    for (const copy of ins.filter((i) => i.op === "COPY" && !i.args.startsWith("--from"))) {
      const sources = copy.args
        .split(/\s+/)
        .filter((a) => !a.startsWith("--"))
        .slice(0, -1);
      for (const src of sources)
        assert.ok(fs.existsSync(path.join(ROOT, src)), `${file}: COPY ${src} is missing`);
    }
    // npm ci refuses a lockfile whose workspaces it cannot see.
    const copied = ins.filter((i) => i.op === "COPY").map((i) => i.args.split(/\s+/)[0]);
    for (const dir of workspaces()) {
      assert.ok(copied.includes(`${dir}/package.json`), `${file}: does not COPY ${dir}/package.json`);
    }
  });
}

test("the WAF service's Dockerfile: the image rules, the Go of go.mod, the build setup-tools.sh runs", () => {
  const file = "apps/waf-authz/Dockerfile";
  assert.ok(OWN_DOCKERFILES.has(file));
  const text = fs.readFileSync(path.join(ROOT, file), "utf8");
  assert.deepEqual(dockerfileProblems(text, "go"), []);
  const ins = parseDockerfile(text);
  // The builder's Go line is the go.mod's (GOTOOLCHAIN=local refuses an older one).
  const goLine = /^go (\d+\.\d+)/m.exec(fs.readFileSync(path.join(ROOT, "apps/waf-authz/go.mod"), "utf8"));
  assert.match(ins.find((i) => i.op === "FROM")?.args ?? "", new RegExp(`^golang:${goLine?.[1]}@sha256:`));
  // The binary the tests and benches run is built with the image's flags.
  const build = ins.find((i) => i.op === "RUN" && /go build/.test(i.args))?.args ?? "";
  const setup = fs.readFileSync(path.join(ROOT, "scripts/setup-tools.sh"), "utf8");
  const line = /^go_tool waf-authz .*$/m.exec(setup)?.[0] ?? "";
  assert.match(build, /-trimpath/, "go_tool builds with -trimpath; so must the image");
  for (const flag of ['-ldflags "-s -w"', "CGO_ENABLED=0"]) {
    assert.ok(line.includes(flag), `setup-tools.sh builds waf-authz with ${flag}`);
    assert.ok(text.includes(flag), `${file} builds with ${flag}`);
  }
  assert.doesNotMatch(line, /LEAN/, "no compile-speed flags on the binary the benches time");
  // Every path it copies from the context exists; the final stage runs the binary as a non-root uid.
  for (const copy of ins.filter((i) => i.op === "COPY" && !i.args.startsWith("--from"))) {
    for (const src of copy.args.split(/\s+/).slice(0, -1)) {
      const dir = path.join(ROOT, path.dirname(src));
      const pattern = new RegExp(`^${path.basename(src).replace(".", "\\.").replace("*", ".*")}$`);
      assert.ok(
        fs.readdirSync(dir).some((f) => pattern.test(f)),
        `${file}: COPY ${src} matches nothing`,
      );
    }
  }
  assert.deepEqual(
    ins.filter((i) => i.op === "ENTRYPOINT").map((i) => i.args),
    ['["/waf-authz"]'],
  );
  assert.ok(
    dockerfileProblems(text.replaceAll("GOTOOLCHAIN=local", ""), "go").some((p) => /GOTOOLCHAIN/.test(p)),
  );
});

test("the rules catch what they are meant to catch", () => {
  const bad = [
    "FROM node:24 AS build",
    "ENV DB_PASSWORD=hunter2",
    "ADD https://example.com/tool.tgz /tmp/",
    "FROM gcr.io/distroless/nodejs24-debian12",
    "USER node",
  ].join("\n");
  const problems = dockerfileProblems(bad);
  for (const expected of [
    /node:24 is not pinned/,
    /ENV carries a secret/,
    /ADD of a URL/,
    /numeric non-root/,
    /--omit=dev/,
  ]) {
    assert.ok(
      problems.some((p) => expected.test(p)),
      `${expected} not reported in ${problems.join(" | ")}`,
    );
  }
  assert.ok(dockerfileProblems(`FROM a@sha256:${"a".repeat(64)}\nUSER 0`).some((p) => /multi-stage/.test(p)));
});

test(".dockerignore keeps dependencies, git, env files and local tools out of the context", () => {
  const lines = fs
    .readFileSync(path.join(ROOT, ".dockerignore"), "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  for (const required of ["node_modules", ".git", ".env", ".tools"]) {
    assert.ok(lines.includes(required), `.dockerignore lacks ${required}`);
  }
});
