// The images run what tsconfig.build.json compiles, with production
// dependencies only. This compiles the same way into a temp dir, lays it out
// as the Dockerfiles do, and checks the result runs under plain node.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import { builtinModules } from "node:module";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { DB_ROLES_COMMAND, MIGRATE_COMMAND } from "../../infra/components/migrations";

const ROOT = path.resolve(__dirname, "../..");
let out: string;

before(() => {
  out = fs.mkdtempSync(path.join(os.tmpdir(), "golive-build-"));
  const dist = path.join(out, "dist");
  const tsc = spawnSync(
    process.execPath,
    [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json", "--outDir", dist],
    { cwd: ROOT, encoding: "utf8" },
  );
  assert.equal(tsc.status, 0, `the image build's tsc step fails:\n${tsc.stdout}${tsc.stderr}`);
  // As in the Dockerfiles: proto/ and migrations/ next to the compiled apps.
  fs.cpSync(path.join(ROOT, "proto"), path.join(dist, "proto"), { recursive: true });
  fs.cpSync(path.join(ROOT, "migrations"), path.join(dist, "migrations"), { recursive: true });
  // Resolve packages from the repository's node_modules, as /app/node_modules does.
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(out, "node_modules"));
  fs.copyFileSync(path.join(ROOT, "package.json"), path.join(out, "package.json"));
});

after(() => {
  if (out) fs.rmSync(out, { recursive: true, force: true });
});

function compiledFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return compiledFiles(p);
    return e.name.endsWith(".js") ? [p] : [];
  });
}

test("compiled app code requires only runtime dependencies and node built-ins", () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
    dependencies: Record<string, string>;
  };
  const allowed = new Set([...Object.keys(pkg.dependencies), ...builtinModules]);
  const offenders: string[] = [];
  for (const file of compiledFiles(path.join(out, "dist/apps"))) {
    const text = fs.readFileSync(file, "utf8");
    for (const m of text.matchAll(/require\("([^".][^"]*)"\)/g)) {
      const spec = (m[1] as string).replace(/^node:/, "");
      const name = spec.startsWith("@")
        ? spec.split("/").slice(0, 2).join("/")
        : (spec.split("/")[0] as string);
      if (!allowed.has(name)) offenders.push(`${path.relative(out, file)} requires ${m[1]}`);
    }
  }
  assert.deepEqual(offenders, [], "move these to dependencies or out of the runtime code");
});

test("every image's entry point exists in the compiled tree", () => {
  for (const entry of [
    "dist/apps/feed/src/main.js",
    // The migrations Job's two steps, as infra/components/migrations.ts runs them.
    MIGRATE_COMMAND[1] as string,
    DB_ROLES_COMMAND[1] as string,
    "dist/apps/gateway/src/main.js",
    "dist/apps/jobs/src/retention.js",
  ]) {
    assert.ok(fs.existsSync(path.join(out, entry)), `${entry} missing`);
  }
});

test("the compiled code finds proto/ and migrations/ where the images put them", () => {
  const script = `
    const { loadFeedProto } = require("./dist/apps/shared/src/proto.js");
    const { MIGRATIONS_FOLDER } = require("./dist/apps/feed/src/migrate.js");
    const fs = require("node:fs");
    if (typeof loadFeedProto().feed.v1.FeedService !== "function") throw new Error("no FeedService");
    if (!fs.existsSync(MIGRATIONS_FOLDER + "/meta/_journal.json")) throw new Error("no migrations at " + MIGRATIONS_FOLDER);
    process.stdout.write("ok");`;
  const run = spawnSync(process.execPath, ["-e", script], { cwd: out, encoding: "utf8" });
  assert.equal(run.stdout, "ok", run.stderr);
});

test("the compiled entry points start under plain node and fail fast on bad config", () => {
  for (const [entry, variable] of [
    ["dist/apps/feed/src/main.js", "DATABASE_URL"],
    ["dist/apps/gateway/src/main.js", "FEED_ADDRESS"],
    ["dist/apps/jobs/src/retention.js", "DATABASE_URL"],
    [DB_ROLES_COMMAND[1] as string, "FEED_LOGIN_ACTIVE"],
    [MIGRATE_COMMAND[1] as string, "DATABASE_URL"],
  ] as const) {
    const run = spawnSync(process.execPath, [entry], {
      cwd: out,
      env: { PATH: process.env.PATH, NODE_ENV: "production" },
      encoding: "utf8",
      timeout: 20_000,
    });
    assert.notEqual(run.status, 0, `${entry} started without config`);
    assert.match(run.stdout + run.stderr, new RegExp(variable), `${entry} does not name ${variable}`);
    assert.doesNotMatch(run.stderr, /Cannot find module|ERR_MODULE_NOT_FOUND/, entry);
  }
  execFileSync(process.execPath, ["--check", path.join(out, "dist/apps/feed/src/main.js")]);
});
