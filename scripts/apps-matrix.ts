// Prints the app list (infra/apps.ts) as a GitHub Actions matrix, one entry
// per image to build, with the version its image is stamped with (its
// package.json's): {"include":[{"name":"feed","dockerfile":"apps/feed/Dockerfile","version":"0.1.0"},...]}
// (images.yml builds from it), or with --names one name per line (ci.yml
// bundles each; only the apps of the list, which are Node): a new app is
// built without a workflow edit. Our images that are not apps (OWN_IMAGES,
// the Go WAF service) are built too.
import fs from "node:fs";
import path from "node:path";
import { builtHere } from "@golive/shared/app-descriptor";
import { APPS, OWN_IMAGES, type OwnImage } from "../infra/apps";

/** The version beside the Dockerfile: its package.json's, else a VERSION file's, else "dev". */
function versionOf(dockerfile: string): string {
  const dir = path.join(__dirname, "..", path.dirname(dockerfile));
  const pkg = path.join(dir, "package.json");
  if (fs.existsSync(pkg)) return String(JSON.parse(fs.readFileSync(pkg, "utf8")).version);
  const file = path.join(dir, "VERSION");
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8").trim() : "dev";
}

export function appsMatrix(
  apps = APPS,
  own: readonly OwnImage[] = OWN_IMAGES,
): {
  include: { name: string; dockerfile: string; version: string }[];
} {
  return {
    // Images built elsewhere (a prebuilt image) are not ours to build.
    include: [
      ...apps.filter(builtHere).map((a) => ({ name: a.name, dockerfile: a.image.dockerfile })),
      ...own.map((i) => ({ name: i.name, dockerfile: i.dockerfile })),
    ].map((i) => ({ ...i, version: versionOf(i.dockerfile) })),
  };
}

if (require.main === module) {
  if (process.argv.includes("--names"))
    console.log(
      appsMatrix(APPS, [])
        .include.map((a) => a.name)
        .join("\n"),
    );
  else console.log(JSON.stringify({ include: appsMatrix().include }));
}
