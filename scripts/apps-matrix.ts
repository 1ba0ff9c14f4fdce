// Prints the app list (infra/apps.ts) as a GitHub Actions matrix, one entry
// per image to build: {"include":[{"name":"feed","dockerfile":"apps/feed/Dockerfile"},...]}
// (images.yml builds from it), or with --names one name per line (ci.yml
// bundles each): a new app is built without a workflow edit.
import { APPS } from "../infra/apps";

export function appsMatrix(apps = APPS): { include: { name: string; dockerfile: string }[] } {
  return { include: apps.map((a) => ({ name: a.name, dockerfile: a.image.dockerfile })) };
}

if (require.main === module) {
  const { include } = appsMatrix();
  console.log(
    process.argv.includes("--names") ? include.map((a) => a.name).join("\n") : JSON.stringify({ include }),
  );
}
