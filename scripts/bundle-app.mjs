#!/usr/bin/env node
// Builds one app for its image: `node scripts/bundle-app.mjs <app> [outdir]`, <app> a folder of apps/ (feed, gateway, jobs, preflight).
// Each entry point listed under "golive.entries" in apps/<app>/package.json
// becomes <outdir>/<name>.js. Our own code (the app and the workspace
// packages it uses) goes into the bundle; every third-party package stays a
// require() that the image's production install answers
// (`npm ci --omit=dev --workspace @golive/<app>`). Plain JavaScript so the
// image build runs it with node alone; types are checked by `npm run typecheck`.
import fs from "node:fs";
import path from "node:path";
import { build } from "esbuild";

const ROOT = path.resolve(import.meta.dirname, "..");
const [app, outdir = "dist"] = process.argv.slice(2);
if (!app) {
  console.error("usage: node scripts/bundle-app.mjs <app> [outdir]");
  process.exit(2);
}

const readJson = (file) => JSON.parse(fs.readFileSync(path.join(ROOT, file), "utf8"));
const workspaces = new Map(
  readJson("package.json").workspaces.map((dir) => [readJson(`${dir}/package.json`).name, dir]),
);

/** Third-party dependencies of a workspace package and of the workspace packages it uses. */
function thirdParty(dir, seen = new Set()) {
  const found = new Set();
  for (const dep of Object.keys(readJson(`${dir}/package.json`).dependencies ?? {})) {
    const inner = workspaces.get(dep);
    if (!inner) found.add(dep);
    else if (!seen.has(inner)) {
      seen.add(inner);
      for (const d of thirdParty(inner, seen)) found.add(d);
    }
  }
  return found;
}

const dir = `apps/${app}`;
const entries = readJson(`${dir}/package.json`).golive?.entries;
if (!Array.isArray(entries) || entries.length === 0) {
  console.error(`${dir}/package.json lists no golive.entries`);
  process.exit(2);
}

await build({
  absWorkingDir: ROOT,
  entryPoints: entries.map((entry) => path.join(dir, entry)),
  outdir,
  bundle: true,
  platform: "node",
  target: "node24",
  format: "cjs",
  sourcemap: true,
  // A package name also covers its subpaths (drizzle-orm/node-postgres). A
  // workspace's package.json stays external too: the loaders find the .proto
  // and migration files next to it at run time (node_modules/@golive/*).
  external: [...thirdParty(dir), ...[...workspaces.keys()].map((name) => `${name}/package.json`)],
  logLevel: "warning",
});
