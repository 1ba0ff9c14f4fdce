// The preview workflow runs when a pull request touches what the program
// reads. That list is easy to get wrong by hand (it once missed the load-test
// script and the proto), so this test renders every stack while recording
// each file of the repository the program opens, and checks that the
// workflow's path filter covers all of them.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import YAML from "yaml";

const ROOT = path.resolve(__dirname, "../..");

/** GitHub's path filter globs: `**` any depth, `*` within one path segment. */
function globToRegExp(glob: string): RegExp {
  const re = glob
    .split("**")
    .map((part) => part.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*"))
    .join(".*");
  return new RegExp(`^${re}$`);
}

test("the preview workflow's path filter covers every file a render reads", async () => {
  const read = new Set<string>();
  // A folder listing counts as a read of any file in it (a new file changes it).
  const record = (p: fs.PathOrFileDescriptor | fs.PathLike, folder = false) => {
    if (typeof p !== "string") return;
    const rel = path.relative(ROOT, path.resolve(folder ? path.join(p, "any-file") : p));
    if (!rel.startsWith("..") && !rel.split(path.sep).includes("node_modules"))
      read.add(rel.split(path.sep).join("/"));
  };
  const { readFileSync, readdirSync } = fs;
  // Spy on every file and folder the program (and its imports) opens.
  fs.readFileSync = ((p: fs.PathOrFileDescriptor, ...rest: unknown[]) => {
    record(p);
    return (readFileSync as (...a: unknown[]) => unknown)(p, ...rest);
  }) as typeof fs.readFileSync;
  fs.readdirSync = ((p: fs.PathLike, ...rest: unknown[]) => {
    record(p, true);
    return (readdirSync as (...a: unknown[]) => unknown)(p, ...rest);
  }) as typeof fs.readdirSync;
  try {
    // Loaded only now, so the spy sees the program's modules and data files.
    const { renderStack } =
      require("../../infra/render/render") as typeof import("../../infra/render/render");
    for (const stack of ["staging", "prod"]) await renderStack(stack);
  } finally {
    fs.readFileSync = readFileSync;
    fs.readdirSync = readdirSync;
  }
  const workflow = YAML.parse(readFileSync(path.join(ROOT, ".github/workflows/preview.yml"), "utf8")) as {
    on: { pull_request: { paths: string[] } };
  };
  const filters = workflow.on.pull_request.paths.map(globToRegExp);
  assert.ok(
    read.has("loadtest/drill.js") && read.has("Pulumi.prod.yaml"),
    `the spy saw the reads: ${[...read].join(", ")}`,
  );
  const uncovered = [...read].filter((f) => !filters.some((re) => re.test(f)));
  assert.deepEqual(uncovered, [], "files the program reads that do not trigger a preview");
});
