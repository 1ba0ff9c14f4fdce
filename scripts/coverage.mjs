// Line and branch coverage per package from the lcov files the suite's test
// processes write (scripts/test.sh: node's own test coverage, through the
// source maps, so the figures are of the TypeScript), merged across files
// (a line is covered when any test file ran it), checked against the floors
// in scripts/coverage-floor.json. Only code that ran inside a test process
// counts: a service a test starts as a process of its own (the e2e files)
// is exercised there but not measured.
//   node scripts/coverage.mjs [--floors FILE.json] FILE.info...      exit 1 below a floor
import fs from "node:fs";
import path from "node:path";

/** The package a source file belongs to: apps/<name>, or the top-level folder. */
const packageOf = (file) => {
  const parts = file.split("/");
  return parts[0] === "apps" ? `apps/${parts[1]}` : parts[0];
};

/** file -> { lines: Map<line, hit>, branches: Map<"line:block:branch", hit> } */
const args = process.argv.slice(2);
const floorsAt =
  args[0] === "--floors" ? args.splice(0, 2)[1] : new URL("./coverage-floor.json", import.meta.url);
const files = new Map();
for (const info of args) {
  let current;
  for (const line of fs.readFileSync(info, "utf8").split("\n")) {
    if (line.startsWith("SF:")) {
      const file = path.relative(process.cwd(), path.resolve(line.slice(3)));
      if (!files.has(file)) files.set(file, { lines: new Map(), branches: new Map() });
      current = files.get(file);
    } else if (line.startsWith("DA:") && current) {
      const [n, hits] = line.slice(3).split(",");
      current.lines.set(n, (current.lines.get(n) ?? false) || Number(hits) > 0);
    } else if (line.startsWith("BRDA:") && current) {
      const [n, block, branch, hits] = line.slice(5).split(",");
      const key = `${n}:${block}:${branch}`;
      current.branches.set(key, (current.branches.get(key) ?? false) || (hits !== "-" && Number(hits) > 0));
    } else if (line === "end_of_record") current = undefined;
  }
}

const totals = new Map();
for (const [file, f] of files) {
  if (file.startsWith("..") || file.includes("node_modules")) continue;
  const t = totals.get(packageOf(file)) ?? { lines: 0, linesHit: 0, branches: 0, branchesHit: 0 };
  for (const hit of f.lines.values()) [t.lines, t.linesHit] = [t.lines + 1, t.linesHit + (hit ? 1 : 0)];
  for (const hit of f.branches.values())
    [t.branches, t.branchesHit] = [t.branches + 1, t.branchesHit + (hit ? 1 : 0)];
  totals.set(packageOf(file), t);
}

const floors = JSON.parse(fs.readFileSync(floorsAt, "utf8"));
const pct = (hit, all) => (all === 0 ? 100 : (100 * hit) / all);
const failures = [];
console.log("# coverage (in-process):  package               lines    branches   floor (lines / branches)");
for (const [pkg, t] of [...totals].sort(([a], [b]) => a.localeCompare(b))) {
  const lines = pct(t.linesHit, t.lines);
  const branches = pct(t.branchesHit, t.branches);
  const floor = floors.packages[pkg];
  const mark = floor && (lines < floor.lines || branches < floor.branches) ? "  BELOW FLOOR" : "";
  if (mark) failures.push(pkg);
  console.log(
    `#   ${pkg.padEnd(34)} ${lines.toFixed(1).padStart(6)} %  ${branches.toFixed(1).padStart(6)} %   ${floor ? `${floor.lines} / ${floor.branches}` : "-"}   (${t.lines} lines, ${t.branches} branches)${mark}`,
  );
}
for (const pkg of Object.keys(floors.packages)) {
  if (!totals.has(pkg)) failures.push(`${pkg} (no coverage recorded)`);
}
if (failures.length > 0) {
  console.log(`# coverage below its floor: ${failures.join(", ")} (${floorsAt})`);
  process.exit(1);
}
