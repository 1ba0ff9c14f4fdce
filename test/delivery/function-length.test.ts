// Small functions in the code that ships: no function, method, constructor or
// arrow function in infra/ or apps/ (tests and generated code aside) spans
// more than 80 lines. A long one was where concerns piled up (a 335-line
// constructor, a 244-line stack function); the limit keeps each readable.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import ts from "typescript";

const ROOT = path.resolve(__dirname, "../..");
export const MAX_LINES = 80;

/** Every function longer than maxLines in the given sources, as "file:line name (n lines)". */
export function longFunctions(files: { name: string; text: string }[], maxLines = MAX_LINES): string[] {
  const out: string[] = [];
  for (const { name, text } of files) {
    const sf = ts.createSourceFile(name, text, ts.ScriptTarget.Latest, true);
    const visit = (n: ts.Node) => {
      if (ts.isFunctionLike(n) && "body" in n && n.body) {
        const from = sf.getLineAndCharacterOfPosition(n.getStart()).line;
        const to = sf.getLineAndCharacterOfPosition(n.getEnd()).line;
        const label = (n as { name?: ts.Node }).name?.getText(sf) ?? ts.SyntaxKind[n.kind];
        if (to - from + 1 > maxLines) out.push(`${name}:${from + 1} ${label} (${to - from + 1} lines)`);
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  return out;
}

test(`no function in infra/ or apps/ is longer than ${MAX_LINES} lines`, () => {
  const tracked = execFileSync("git", ["ls-files", "infra/*.ts", "apps/*.ts"], {
    cwd: ROOT,
    encoding: "utf8",
  })
    .split("\n")
    .filter(
      (f) => f && !/(^|\/)test\/|\.test\.ts$|\/generated\//.test(f) && fs.existsSync(path.join(ROOT, f)),
    );
  assert.ok(tracked.length > 50, `read ${tracked.length} files`);
  const files = tracked.map((name) => ({ name, text: fs.readFileSync(path.join(ROOT, name), "utf8") }));
  assert.deepEqual(longFunctions(files), []);
});

test("the check sees a long arrow function, method and constructor", () => {
  const body = Array.from({ length: MAX_LINES }, (_, i) => `  const x${i} = ${i};`).join("\n");
  const text = `const f = () => {\n${body}\n};\nclass C {\n  constructor() {\n${body}\n  }\n  m() {\n${body}\n  }\n}\n`;
  const found = longFunctions([{ name: "x.ts", text }]);
  assert.equal(found.length, 3, found.join("\n"));
  assert.deepEqual(longFunctions([{ name: "x.ts", text: `function g() {\n  return 1;\n}\n` }]), []);
});
