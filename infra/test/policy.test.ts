// Unit tests of the policy pack's rules (policy/rules.ts), then the rules
// applied to the rendered objects of every stack.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkAll, type KubeObject, OBJECT_RULES, STACK_RULE } from "../../policy/rules";
import { renderStack } from "./support/render";

const good = () => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", namespace: "app" },
  spec: {
    template: {
      spec: {
        securityContext: { runAsNonRoot: true, runAsUser: 10001 },
        containers: [
          {
            name: "web",
            image: "ghcr.io/x/web:1.0.0",
            resources: { requests: { cpu: "1", memory: "1Mi" }, limits: { cpu: "1", memory: "1Mi" } },
            securityContext: { readOnlyRootFilesystem: true },
            livenessProbe: { httpGet: { path: "/l", port: 1 } },
            readinessProbe: { httpGet: { path: "/r", port: 1 } },
            env: [{ name: "DATABASE_URL", valueFrom: { secretKeyRef: { name: "db", key: "url" } } }],
          },
        ],
      },
    },
  },
});
const rule = (name: string) => {
  const r = OBJECT_RULES.find((x) => x.name === name);
  if (!r) throw new Error(name);
  return r;
};
const c0 = (o: ReturnType<typeof good>) => o.spec.template.spec.containers[0] as Record<string, any>;

describe("policy rules", () => {
  it("a compliant Deployment passes every rule", () => {
    for (const r of OBJECT_RULES) assert.deepEqual(r.check(good() as KubeObject), [], r.name);
  });
  const cases: [string, (o: ReturnType<typeof good>) => void][] = [
    ["no-latest-tags", (o) => (c0(o).image = "ghcr.io/x/web:latest")],
    ["no-latest-tags", (o) => (c0(o).image = "ghcr.io/x/web")],
    ["resource-limits", (o) => delete c0(o).resources.limits],
    ["run-as-non-root", (o) => (o.spec.template.spec.securityContext = { runAsNonRoot: true, runAsUser: 0 })],
    ["run-as-non-root", (o) => (o.spec.template.spec.securityContext = {} as never)],
    ["read-only-root-filesystem", (o) => (c0(o).securityContext = {})],
    ["probes-present", (o) => delete c0(o).readinessProbe],
    ["no-plaintext-secrets-in-env", (o) => (c0(o).env = [{ name: "API_TOKEN", value: "abc" }])],
    [
      "no-plaintext-secrets-in-env",
      (o) => (c0(o).env = [{ name: "UPSTREAM", value: "postgres://u:pw@db/x" }]),
    ],
  ];
  for (const [name, mutate] of cases) {
    it(`${name} flags a violating object`, () => {
      const obj = good();
      mutate(obj);
      assert.equal(rule(name).check(obj as KubeObject).length, 1);
    });
  }
  it("probes are not required of Jobs", () => {
    const job = { ...good(), kind: "Job" };
    delete c0(job).livenessProbe;
    assert.deepEqual(rule("probes-present").check(job as KubeObject), []);
  });
  it("namespaces-default-denied flags a namespace without a default-deny policy", () => {
    const ns = (name: string) => ({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
    const deny = {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "default-deny", namespace: "a" },
      spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
    };
    assert.deepEqual(STACK_RULE.check([ns("a"), ns("b"), deny]), [
      "Namespace b: no default-deny NetworkPolicy",
    ]);
  });

  for (const stack of ["staging", "prod", "local"]) {
    it(`${stack}: the rendered objects pass all ${OBJECT_RULES.length + 1} rules`, async () => {
      const { objects } = await renderStack(stack);
      assert.deepEqual(checkAll(objects as KubeObject[]), []);
    });
  }
});
