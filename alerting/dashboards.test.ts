// The committed dashboards/*.json are what dashboards/build.ts generates, and
// every panel reads Prometheus through the datasource variable.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { dashboardFiles } from "../dashboards/build";

const dir = path.resolve(__dirname, "../dashboards");
// The Grafana variable reference, spelled so it is not mistaken for a JS template.
const DATASOURCE_VAR = `$${"{"}datasource}`;

test("dashboards/*.json are in step with dashboards/build.ts (regenerate: npx tsx dashboards/build.ts)", () => {
  const generated = dashboardFiles();
  const committed = readdirSync(dir).filter((f) => f.endsWith(".json"));
  assert.deepEqual(committed.sort(), Object.keys(generated).sort());
  for (const [name, body] of Object.entries(generated)) {
    assert.deepEqual(JSON.parse(readFileSync(path.join(dir, name), "utf8")), JSON.parse(body), name);
  }
});

test("every panel and target uses the prometheus datasource variable, with a default uid of prometheus", () => {
  for (const body of Object.values(dashboardFiles())) {
    const d = JSON.parse(body);
    const variable = d.templating.list.find((v: { name: string }) => v.name === "datasource");
    assert.equal(variable.current.value, "prometheus");
    for (const p of d.panels) {
      assert.equal(p.datasource.uid, DATASOURCE_VAR, p.title);
      for (const t of p.targets) assert.equal(t.datasource.uid, DATASOURCE_VAR, p.title);
    }
  }
});
