// Prints the app list (infra/apps.ts) as a GitHub Actions matrix, one entry
// per image to build, with the version its image is stamped with (its
// package.json's): {"include":[{"name":"feed","dockerfile":"apps/feed/Dockerfile","version":"0.1.0"},...]}
// (images.yml builds from it), or with --names one name per line (ci.yml
// bundles each): a new app is built without a workflow edit.
import fs from "node:fs";
import path from "node:path";
import { builtHere } from "@golive/shared/app-descriptor";
import { APPS } from "../infra/apps";

/** The package.json version beside the Dockerfile; "dev" for an app without one. */
function versionOf(dockerfile: string): string {
  const pkg = path.join(__dirname, "..", path.dirname(dockerfile), "package.json");
  return fs.existsSync(pkg) ? String(JSON.parse(fs.readFileSync(pkg, "utf8")).version) : "dev";
}

export function appsMatrix(apps = APPS): {
  include: { name: string; dockerfile: string; version: string }[];
} {
  return {
    // Images built elsewhere (a prebuilt image) are not ours to build.
    include: apps.filter(builtHere).map((a) => ({
      name: a.name,
      dockerfile: a.image.dockerfile,
      version: versionOf(a.image.dockerfile),
    })),
  };
}

if (require.main === module) {
  const { include } = appsMatrix();
  console.log(
    process.argv.includes("--names") ? include.map((a) => a.name).join("\n") : JSON.stringify({ include }),
  );
}
