import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { renderStack } from "./support/render";
import { validateObject } from "./support/schemas";

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
});
