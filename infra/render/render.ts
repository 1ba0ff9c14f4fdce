// `npm run render -- --stack staging --out out/staging`: runs the program for a
// stack in-process with mocks and writes every Kubernetes object it would
// apply (Helm releases as release objects with their values) as YAML.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import YAML from "yaml";
import { readStackFile } from "../stack-files";
import { type K8sObject, runWithMocks, toObjects } from "./mock-runtime";

export function fileName(index: number, obj: K8sObject): string {
  const ns = obj.metadata.namespace ? `${obj.metadata.namespace}--` : "";
  return `${String(index).padStart(3, "0")}-${obj.kind.toLowerCase()}--${ns}${obj.metadata.name}.yaml`;
}

export async function renderStack(stack: string) {
  const { config, secureKeys } = readStackFile(stack);
  const started = performance.now();
  const { value: outputs, resources } = await runWithMocks(stack, config, () => {
    // The real entry point, exactly as `pulumi up` loads it.
    return require("..") as Record<string, unknown>;
  });
  const objects = toObjects(resources);
  return { objects, resources, outputs, secureKeys, ms: performance.now() - started };
}

async function main() {
  const { values } = parseArgs({
    options: { stack: { type: "string", default: "staging" }, out: { type: "string" } },
  });
  const stack = values.stack ?? "staging";
  const out = path.resolve(values.out ?? path.join("out", stack));
  const { objects, outputs, secureKeys, ms } = await renderStack(stack);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  objects.forEach((obj, i) => {
    writeFileSync(path.join(out, fileName(i, obj)), YAML.stringify(obj, { lineWidth: 0 }));
  });
  const plainOutputs = Object.fromEntries(Object.entries(outputs).filter(([, v]) => typeof v !== "function"));
  writeFileSync(path.join(out, "outputs.json"), `${JSON.stringify(plainOutputs, null, 2)}\n`);
  const releases = objects.filter((o) => o.kind === "Release").length;
  const skipped = secureKeys.length ? ` (secure keys not decrypted: ${secureKeys.join(", ")})` : "";
  console.log(
    `rendered ${objects.length} objects (${releases} Helm releases) for stack ${stack} into ${path.relative(process.cwd(), out) || "."} in ${Math.round(ms)} ms${skipped}`,
  );
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
