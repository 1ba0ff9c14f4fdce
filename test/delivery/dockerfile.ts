// Reads the Dockerfiles the way BuildKit does, for the static rules
// (dockerfiles.test.ts) and for the image build that images.test.ts replays.
import fs from "node:fs";
import path from "node:path";

export const ROOT = path.resolve(__dirname, "../..");

export interface Instruction {
  op: string;
  args: string;
}

/** Joins continuation lines and drops comments, as the Dockerfile parser does. */
export function parseDockerfile(text: string): Instruction[] {
  const logical: string[] = [];
  let current = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("#") || (line === "" && current === "")) continue;
    if (line.endsWith("\\")) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    logical.push(current + line);
    current = "";
  }
  return logical
    .filter((l) => l !== "")
    .map((l) => {
      const [op = "", ...rest] = l.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(" ") };
    });
}

/** Every Dockerfile in the repository, relative to its root. */
export function dockerfiles(): string[] {
  const found: string[] = [];
  if (fs.existsSync(path.join(ROOT, "Dockerfile"))) found.push("Dockerfile");
  for (const app of fs.readdirSync(path.join(ROOT, "apps"))) {
    const file = path.join("apps", app, "Dockerfile");
    if (fs.existsSync(path.join(ROOT, file))) found.push(file);
  }
  return found;
}

/** The workspace folders of the root package.json. */
export function workspaces(): string[] {
  return (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { workspaces: string[] })
    .workspaces;
}
