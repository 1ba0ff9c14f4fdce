// The coverage gate's own logic on small lcov files: files merged line by
// line across test processes, per package, and exit 1 below a floor or for
// a package with a floor and no coverage at all.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "golive-coverage-"));
process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));

const lcov = (name: string, file: string, hits: number[], branchHits: number[] = []) => {
  const p = path.join(dir, name);
  fs.writeFileSync(
    p,
    [
      `SF:${path.resolve(file)}`,
      ...hits.map((h, i) => `DA:${i + 1},${h}`),
      ...branchHits.map((h, i) => `BRDA:1,0,${i},${h}`),
      "end_of_record",
      "",
    ].join("\n"),
  );
  return p;
};
const floors = (packages: Record<string, { lines: number; branches: number }>) => {
  const p = path.join(dir, `floors-${Math.random()}.json`);
  fs.writeFileSync(p, JSON.stringify({ packages }));
  return p;
};
const run = (floorFile: string, ...infos: string[]) =>
  spawnSync(process.execPath, ["scripts/coverage.mjs", "--floors", floorFile, ...infos], {
    encoding: "utf8",
  });

test("two test files that each ran half a file cover all of it; a package under its floor fails, naming it", () => {
  const a = lcov("a.info", "apps/gateway/src/x.ts", [1, 0, 1, 0], [1, 0]);
  const b = lcov("b.info", "apps/gateway/src/x.ts", [0, 1, 0, 1], [0, 1]);
  const ok = run(floors({ "apps/gateway": { lines: 100, branches: 100 } }), a, b);
  assert.equal(ok.status, 0, ok.stdout);
  assert.match(ok.stdout, /apps\/gateway\s+100\.0 %\s+100\.0 %/);
  const low = run(floors({ "apps/gateway": { lines: 60, branches: 40 } }), a);
  assert.equal(low.status, 1, low.stdout);
  assert.match(low.stdout, /apps\/gateway\s+50\.0 %\s+50\.0 %.*BELOW FLOOR/);
  assert.match(low.stdout, /coverage below its floor: apps\/gateway/);
});

test("a package with a floor and no coverage recorded fails", () => {
  const a = lcov("c.info", "apps/gateway/src/x.ts", [1]);
  const missing = run(floors({ "apps/feed": { lines: 1, branches: 1 } }), a);
  assert.equal(missing.status, 1);
  assert.match(missing.stdout, /apps\/feed \(no coverage recorded\)/);
});
