import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { renderStack } from "./support/render";
import { loadCrdValidators, validateObject } from "./support/schemas";

describe("every rendered object matches its schema, offline", () => {
  for (const stack of ["staging", "prod", "local"]) {
    it(`${stack}: Kubernetes and CRD schemas accept every object`, async () => {
      const { objects } = await renderStack(stack);
      const kube = objects.filter((o) => o.kind !== "Release");
      const failures: string[] = [];
      const by = new Map<string, number>();
      for (const obj of kube) {
        const result = await validateObject(obj);
        by.set(result.by, (by.get(result.by) ?? 0) + 1);
        if (!result.ok)
          failures.push(`${obj.kind} ${obj.metadata.namespace ?? ""}/${obj.metadata.name}: ${result.error}`);
      }
      assert.deepEqual(failures, []);
      assert.ok(
        (by.get("crd-schema") ?? 0) >= 6,
        "Gateway API and Envoy Gateway objects were checked by CRD schema",
      );
      console.log(`${stack}: ${kube.length} objects validated`, Object.fromEntries(by));
    });
  }

  it("a broken object is rejected (the validators can fail)", async () => {
    const bad = await validateObject({
      apiVersion: "gateway.envoyproxy.io/v1alpha1",
      kind: "BackendTrafficPolicy",
      metadata: { name: "x" },
      spec: {
        rateLimit: { type: "Local", local: { rules: [{ limit: { requests: 1, unit: "Fortnight" } }] } },
      },
    });
    assert.equal(bad.ok, false);
    const badDeployment = await validateObject({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "x" },
      spec: { selector: {}, template: { spec: { containers: [{ name: "a", image: 3 }] } } },
    });
    assert.equal(badDeployment.ok, false);
  });

  it("a vendored CRD file that does not parse fails the loader, naming the file", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "crds-"));
    try {
      mkdirSync(path.join(dir, "eg"));
      const original = readFileSync(
        path.join(
          __dirname,
          "..",
          "schemas",
          "envoy-gateway-v1.9.0",
          "gateway.envoyproxy.io_backendtrafficpolicies.crd",
        ),
        "utf8",
      );
      writeFileSync(path.join(dir, "eg", "ok.crd"), original);
      assert.ok(loadCrdValidators(dir).size > 0, "the upstream file as vendored parses");
      // What a re-indent did: the block scalar's explicit indentation no longer matches.
      writeFileSync(
        path.join(dir, "eg", "broken.crd"),
        original.replace(/\n( +)description: \|2-\n/, "\n$1  description: |2-\n"),
      );
      assert.throws(() => loadCrdValidators(dir), /eg\/broken\.crd does not parse/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
