// `pin-images.ts STACK IMAGES_JSON`: writes app image references into a
// stack's config (pulumi config set --path images.<app>). IMAGES_JSON is an
// object app name -> reference: images.yml's `images` output, or the images
// output prod recorded before a deploy (the rollback). One place for what
// deploy.yml does three times; a name outside the app list and our own
// images (OWN_IMAGES, pinned under their golive:images key) is refused.
import { execFileSync } from "node:child_process";
import { APPS, OWN_IMAGES } from "../infra/apps";

export function pinImages(
  stack: string,
  json: string,
  apps = APPS,
  run = pulumi,
  own = OWN_IMAGES,
): string[] {
  let images: unknown;
  try {
    images = JSON.parse(json);
  } catch {
    throw new Error(`pin-images: IMAGES_JSON is not JSON: ${json.slice(0, 200)}`);
  }
  if (
    typeof images !== "object" ||
    images === null ||
    Array.isArray(images) ||
    Object.keys(images).length === 0
  ) {
    throw new Error(`pin-images: expected a non-empty object of app -> image, got: ${json.slice(0, 200)}`);
  }
  const keys = new Map([
    ...apps.map((a) => [a.name, a.name] as const),
    ...own.map((i) => [i.name, i.key] as const),
  ]);
  const entries = Object.entries(images as Record<string, unknown>);
  for (const [name, ref] of entries) {
    if (!keys.has(name)) throw new Error(`pin-images: ${name} is not an app or image of infra/apps.ts`);
    if (typeof ref !== "string" || ref === "") throw new Error(`pin-images: ${name} has no image reference`);
  }
  return entries.map(([name, ref]) => {
    run(["config", "set", "--stack", stack, "--path", `images.${keys.get(name)}`, ref as string]);
    return name;
  });
}

function pulumi(args: string[]): void {
  execFileSync("pulumi", args, { stdio: "inherit" });
}

if (require.main === module) {
  const [stack, json] = process.argv.slice(2);
  if (!stack || json === undefined) {
    console.error("usage: pin-images.ts STACK IMAGES_JSON");
    process.exit(2);
  }
  try {
    console.log(`pinned: ${pinImages(stack, json).join(", ")}`);
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}
