// golive:flags through the Pulumi program (mocked Kubernetes API): the flag
// file in a ConfigMap, mounted as a folder into the services that read it,
// with no checksum that would restart them on a flip; fault flags refused in
// prod without the second key, before any resource is registered.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_FLAGS, parseFlagFile } from "@golive/flags/flags";
import { parseStackConfig, StackConfigError } from "../config";
import { runWithMocks, toObjects } from "../render/mock-runtime";
import { goLiveStack } from "../stack";
import { rawConfig, readStackFile } from "../stack-files";

// biome-ignore lint/suspicious/noExplicitAny: rendered Kubernetes objects
type Any = Record<string, any>;

function stackRaw(stack: "staging" | "prod", change: Record<string, unknown> = {}) {
  return { ...(rawConfig(readStackFile(stack).config) as Record<string, unknown>), ...change };
}

async function render(stack: "staging" | "prod", change: Record<string, unknown>) {
  const cfg = parseStackConfig(stackRaw(stack, change));
  const { resources } = await runWithMocks(stack, readStackFile(stack).config, () => goLiveStack(cfg));
  const objects = toObjects(resources);
  return (kind: string, name: string) =>
    objects.find((o) => o.kind === kind && o.metadata.name === name) as Any;
}

describe("feature flags in the stack", () => {
  it("renders golive:flags as the flag file, mounted into the gateway and the feed, with no restart on change", async () => {
    const find = await render("staging", {
      flags: { "likes-writes": false, "getfeed-added-latency-ms": 200 },
    });
    const text = find("ConfigMap", "golive-flags").data["flags.json"];
    assert.deepEqual(parseFlagFile(text, "allowed"), {
      ...DEFAULT_FLAGS,
      "likes-writes": false,
      "getfeed-added-latency-ms": 200,
    });
    for (const app of ["gateway", "feed"]) {
      const pod = find("Deployment", app).spec.template.spec;
      const c = pod.containers[0];
      const env = Object.fromEntries(c.env.map((e: Any) => [e.name, e.value]));
      assert.equal(env.FLAGS_FILE, "/etc/golive/flags/flags.json", app);
      assert.equal(env.FAULT_INJECTION, "allowed", app);
      // A folder mount: a subPath mount would never see the kubelet's update.
      const mount = c.volumeMounts.find((m: Any) => m.mountPath === "/etc/golive/flags");
      assert.deepEqual(mount, { name: "feature-flags", mountPath: "/etc/golive/flags", readOnly: true }, app);
      const volume = pod.volumes.find((v: Any) => v.name === "feature-flags");
      assert.equal(volume.configMap.name, "golive-flags", app);
      // Only secrets roll the pods; a flag flip must not.
      const annotations = JSON.stringify(find("Deployment", app).spec.template.metadata.annotations ?? {});
      assert.doesNotMatch(annotations, /flag/i, app);
    }
  });

  it("a flip changes the ConfigMap and nothing in the pod templates", async () => {
    const on = await render("staging", {});
    const off = await render("staging", { flags: { messages: false } });
    assert.notDeepEqual(on("ConfigMap", "golive-flags").data, off("ConfigMap", "golive-flags").data);
    for (const app of ["gateway", "feed"]) {
      assert.deepEqual(on("Deployment", app).spec.template, off("Deployment", app).spec.template, app);
    }
  });

  it("refuses fault flags in prod unless golive:allowFaultInjection, naming the key", () => {
    assert.throws(
      () => parseStackConfig(stackRaw("prod", { flags: { "getfeed-error-share": 0.1 } })),
      (err: Error) => {
        assert.ok(err instanceof StackConfigError);
        assert.match(
          err.message,
          /golive:flags\.getfeed-error-share: failure injection is refused in prod: it needs golive:allowFaultInjection true as well/,
        );
        return true;
      },
    );
    const allowed = parseStackConfig(
      stackRaw("prod", { flags: { "getfeed-error-share": 0.1 }, allowFaultInjection: true }),
    );
    assert.equal(allowed.flags["getfeed-error-share"], 0.1);
    // Kill switches are not faults: prod may turn them off without the second key.
    assert.equal(
      parseStackConfig(stackRaw("prod", { flags: { "likes-writes": false } })).flags["likes-writes"],
      false,
    );
    // Outside prod, faults need no second key.
    assert.equal(
      parseStackConfig(stackRaw("staging", { flags: { "getfeed-error-share": 1 } })).flags[
        "getfeed-error-share"
      ],
      1,
    );
  });

  it("refuses a misspelt flag and a value out of range, naming the key", () => {
    assert.throws(
      () => parseStackConfig(stackRaw("staging", { flags: { "like-writes": false } })),
      /golive:flags\.like-writes: unknown key/,
    );
    assert.throws(
      () => parseStackConfig(stackRaw("staging", { flags: { "getfeed-error-share": 2 } })),
      /golive:flags\.getfeed-error-share: Too big/,
    );
  });

  it("prod renders FAULT_INJECTION=refused by default, allowed with the second key", async () => {
    const env = (find: Awaited<ReturnType<typeof render>>) =>
      find("Deployment", "feed").spec.template.spec.containers[0].env.find(
        (e: Any) => e.name === "FAULT_INJECTION",
      ).value;
    assert.equal(env(await render("prod", {})), "refused");
    assert.equal(env(await render("prod", { allowFaultInjection: true })), "allowed");
  });
});
