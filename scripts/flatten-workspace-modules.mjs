#!/usr/bin/env node
// For an image's production install (`npm ci --omit=dev --workspace ...`):
// npm nests a package under apps/<workspace>/node_modules when the root holds
// another version for some other workspace or a dev tool. The image keeps only
// /app/node_modules, where the bundle resolves from, so each nested package is
// moved up, and the build fails if the root already holds a different version
// of it (then the bundle would load the wrong one).
//   node scripts/flatten-workspace-modules.mjs   (in the install's root)
import fs from "node:fs";
import path from "node:path";

const root = process.cwd();
const version = (dir) => JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")).version;
const packagesIn = (modules) =>
  fs
    .readdirSync(modules)
    .filter((e) => !e.startsWith("."))
    .flatMap((e) =>
      e.startsWith("@") ? fs.readdirSync(path.join(modules, e)).map((s) => `${e}/${s}`) : [e],
    );

const { workspaces } = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
const clashes = [];
let moved = 0;
for (const workspace of workspaces) {
  const nested = path.join(root, workspace, "node_modules");
  if (!fs.existsSync(nested)) continue;
  for (const name of packagesIn(nested)) {
    const from = path.join(nested, name);
    const to = path.join(root, "node_modules", name);
    if (fs.existsSync(to)) {
      if (version(to) !== version(from))
        clashes.push(`${name}: ${workspace} needs ${version(from)}, root has ${version(to)}`);
      continue;
    }
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.renameSync(from, to);
    moved += 1;
  }
}
if (clashes.length > 0) {
  console.error(
    `flatten-workspace-modules: one version per package is needed in an image:\n  ${clashes.join("\n  ")}`,
  );
  process.exit(1);
}
console.log(`flatten-workspace-modules: moved ${moved} nested packages to node_modules`);
