// What an app's bundle needs from this npm workspace: the workspace folders it
// reaches through its dependencies (their code is in the bundle) and the
// third-party packages they declare (installed beside the bundle in the image).
import fs from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "./service-process";

const readJson = (file: string) => JSON.parse(fs.readFileSync(path.join(REPO_ROOT, file), "utf8"));

export function workspaceClosure(appDir: string): { dirs: string[]; thirdParty: Set<string> } {
  const byName = new Map<string, string>(
    (readJson("package.json").workspaces as string[]).map((dir) => [
      readJson(`${dir}/package.json`).name,
      dir,
    ]),
  );
  const dirs: string[] = [];
  const thirdParty = new Set<string>();
  const visit = (dir: string) => {
    if (dirs.includes(dir)) return;
    dirs.push(dir);
    for (const dep of Object.keys(readJson(`${dir}/package.json`).dependencies ?? {})) {
      const inner = byName.get(dep);
      if (inner) visit(inner);
      else thirdParty.add(dep);
    }
  };
  visit(appDir);
  return { dirs, thirdParty };
}
