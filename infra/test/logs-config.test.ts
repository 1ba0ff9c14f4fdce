// The stack's side of the logs (docs/operations.md, "Logs"): the level each
// environment runs at reaches every service and job, and the key the gateway
// hashes client addresses under is generated into a Secret, never a literal.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseStackConfig, StackConfigError } from "../config";
import { type K8sObject, REDACTED } from "../render/mock-runtime";
import { rawStackConfig } from "../stack-files";
import { renderStack } from "./support/render";

type Any = Record<string, any>;
const render = async (stack: string) => (await renderStack(stack)).objects;

const containersOf = (o: K8sObject): Any[] => {
  const spec = (o as Any).spec;
  const pod = spec?.template?.spec ?? spec?.jobTemplate?.spec?.template?.spec;
  return [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])];
};

describe("logs: level per environment, the client-address key", () => {
  for (const [stack, level] of [
    ["staging", "debug"],
    ["prod", "info"],
  ] as const) {
    it(`${stack}: every service and job logs at ${level} (golive:logLevel)`, async () => {
      const objects = await render(stack);
      const ours = ["feed", "gateway", "retention", "feed-migrate"];
      let seen = 0;
      for (const o of objects.filter((x) => ["Deployment", "Job", "CronJob"].includes(x.kind))) {
        for (const c of containersOf(o)) {
          const env = (c.env ?? []) as Any[];
          const logLevel = env.find((e) => e.name === "LOG_LEVEL");
          if (!logLevel) continue;
          seen += 1;
          assert.equal(logLevel.value, level, `${o.kind}/${o.metadata.name} ${c.name}`);
        }
      }
      const names = objects.map((o) => o.metadata.name);
      for (const name of ours)
        assert.ok(
          names.some((n) => n.startsWith(name)),
          `${name} rendered`,
        );
      assert.ok(seen >= ours.length, `LOG_LEVEL on ${seen} containers`);
    });
  }

  it("the gateway hashes client addresses under a generated key from its Secret, behind one trusted proxy", async () => {
    const objects = await render("prod");
    const gateway = objects.find((o) => o.kind === "Deployment" && o.metadata.name === "gateway");
    assert.ok(gateway);
    const env = containersOf(gateway)[0]?.env as Any[];
    const key = env.find((e) => e.name === "LOG_IP_HASH_KEY") as Any;
    assert.equal(key.value, undefined, "never a literal");
    assert.deepEqual(key.valueFrom.secretKeyRef, { name: "gateway-generated", key: "log-ip-hash-key" });
    assert.equal(env.find((e) => e.name === "TRUST_PROXY_HOPS")?.value, "1");
    const secret = objects.find((o) => o.kind === "Secret" && o.metadata.name === "gateway-generated") as Any;
    assert.equal(secret?.metadata.namespace, "golive-prod");
    assert.deepEqual(secret.stringData, { "log-ip-hash-key": REDACTED }, "a Pulumi secret (RandomPassword)");
  });

  it("an unknown level fails the preview naming golive:logLevel", () => {
    const raw = structuredClone(rawStackConfig("staging"));
    raw.logLevel = "verbose";
    assert.throws(
      () => parseStackConfig(raw),
      (err: unknown) =>
        err instanceof StackConfigError &&
        /golive:logLevel: must be one of fatal, error, warn, info, debug, trace, silent/.test(err.message),
    );
  });
});
