// Adding a service is one folder (its descriptor) and one line (the app
// list): the render of prod with a fifth, made-up app holds everything a
// service gets, and the peers it names change on both sides.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AppDescriptor } from "@golive/shared/app-descriptor";
import { APPS, checkApps } from "../apps";
import { parseStackConfig, type StackConfigError } from "../config";
import { type K8sObject, runWithMocks, toObjects } from "../render/mock-runtime";
import { goLiveStack } from "../stack";
import { rawConfig, readStackFile } from "../stack-files";
import { rankerApp } from "./fixtures/ranker-app";

type Any = Record<string, any>;
const NS = "golive-prod";
const WITH_RANKER: readonly AppDescriptor[] = [...APPS, rankerApp];

/** prod's stack file plus the ranker's three per-app keys. */
function prodWithRanker(): { config: Record<string, string>; raw: Record<string, unknown> } {
  const { config } = readStackFile("prod");
  const raw = rawConfig(config) as Record<string, Any>;
  raw.images = { ...raw.images, ranker: "ghcr.io/golive-kit/ranker:0.1.0" };
  raw.replicas = { ...raw.replicas, ranker: { min: 2, max: 4 } };
  raw.resources = {
    ...raw.resources,
    ranker: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "250m", memory: "128Mi" } },
  };
  return { config, raw };
}

async function render(apps: readonly AppDescriptor[]) {
  const { config, raw } = apps.includes(rankerApp)
    ? prodWithRanker()
    : { config: readStackFile("prod").config, raw: undefined };
  const cfg = parseStackConfig(raw ?? rawConfig(config), new Set(), apps);
  const { resources } = await runWithMocks("prod", config, () => goLiveStack(cfg, apps));
  const objects = toObjects(resources);
  const find = (kind: string, name: string): K8sObject | undefined =>
    objects.find((o) => o.kind === kind && o.metadata.name === name);
  return { objects, find };
}

describe("adding an app: one descriptor, one line in the list", () => {
  it("the render holds the new service's Deployment, Services, HPA, PDB, ServiceMonitor, rules, policies and dashboard", async () => {
    const { find } = await render(WITH_RANKER);
    const dep = find("Deployment", "ranker") as Any;
    assert.ok(dep, "Deployment");
    const c = dep.spec.template.spec.containers[0];
    assert.equal(c.image, "ghcr.io/golive-kit/ranker:0.1.0");
    assert.equal(dep.spec.replicas, 2);
    assert.deepEqual(c.resources.limits, { cpu: "250m", memory: "128Mi" });
    const env = Object.fromEntries(c.env.map((e: Any) => [e.name, e.value]));
    assert.equal(
      env.FEED_ADDRESS,
      `dns:///feed-grpc.${NS}.svc.cluster.local:50051`,
      "the feed's per-call address",
    );
    assert.equal(env.GRPC_PORT, "50061");
    for (const common of [
      "OPS_PORT",
      "SHUTDOWN_GRACE_MS",
      "SHUTDOWN_DRAIN_DELAY_MS",
      "OTEL_TRACES_SAMPLER_ARG",
    ]) {
      assert.ok(env[common], `common env ${common}`);
    }
    assert.equal(c.readinessProbe.httpGet.path, "/health/ready");
    assert.equal(c.startupProbe.grpc.port, 50061);
    assert.deepEqual(c.securityContext.capabilities, { drop: ["ALL"] });
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.ok(find("Service", "ranker"), "Service");
    assert.ok(find("HorizontalPodAutoscaler", "ranker"), "HPA");
    assert.ok(find("PodDisruptionBudget", "ranker"), "PDB (prod)");
    const monitor = find("ServiceMonitor", "ranker") as Any;
    assert.equal(monitor?.spec.endpoints[0].port, "metrics", "ServiceMonitor on the ops port");
    // Its alerts: the standard set with job="ranker" filled in, in a PrometheusRule of its own.
    const rules = find("PrometheusRule", "golive-service-ranker") as Any;
    const alerts = rules?.spec.groups.flatMap((g: Any) => g.rules) ?? [];
    for (const name of [
      "ErrorRate",
      "TargetDown",
      "ServiceDown",
      "PodCrashLooping",
      "HighCPU",
      "AvailabilityBudgetBurn",
    ]) {
      const rule = alerts.find((r: Any) => r.alert === name);
      assert.ok(rule, `alert ${name}`);
      assert.match(rule.expr, /(job|container)="ranker"/, name);
      assert.doesNotMatch(rule.expr, /feed|gateway/, name);
      assert.equal(rule.labels.service, "ranker");
    }
    const dashboard = find("ConfigMap", "dashboard-ranker-dashboard") as Any;
    assert.match(Object.values(dashboard?.data ?? {}).join(""), /golive-ranker/, "dashboard ConfigMap");

    // Both sides of its one call: its egress to the feed, the feed's ingress from it.
    const egress = find("NetworkPolicy", "ranker-egress") as Any;
    assert.ok(
      egress.spec.egress.some(
        (r: Any) =>
          r.to[0].podSelector?.matchLabels["app.kubernetes.io/name"] === "feed" && r.ports[0].port === 50051,
      ),
      JSON.stringify(egress.spec.egress),
    );
    const feedIngress = find("NetworkPolicy", "feed-ingress") as Any;
    const feedCallers = feedIngress.spec.ingress[0].from.map(
      (p: Any) => p.podSelector.matchLabels["app.kubernetes.io/name"],
    );
    assert.ok(feedCallers.includes("ranker"), `feed admits the ranker: ${feedCallers}`);
    // Only Prometheus reaches its ops port: nobody else calls it.
    const ingress = find("NetworkPolicy", "ranker-ingress") as Any;
    assert.equal(ingress.spec.ingress.length, 1);
    assert.equal(ingress.spec.ingress[0].ports[0].port, 9464);
  });

  it("the render without it has none of that, and the feed admits only its own callers", async () => {
    const { objects, find } = await render(APPS);
    assert.equal(objects.filter((o) => o.metadata.name.startsWith("ranker")).length, 0);
    const callers = (find("NetworkPolicy", "feed-ingress") as Any).spec.ingress[0].from.map(
      (p: Any) => p.podSelector.matchLabels["app.kubernetes.io/name"],
    );
    assert.deepEqual(callers, ["gateway", "loadtest"]);
  });

  it("its stack keys are required once it is listed, and refused while it is not", () => {
    const { raw } = prodWithRanker();
    assert.throws(
      () =>
        parseStackConfig(
          { ...raw, replicas: { feed: { min: 1, max: 2 }, gateway: { min: 1, max: 2 } } },
          new Set(),
          WITH_RANKER,
        ),
      (e: StackConfigError) =>
        e.issues.some((i) => i.key === "replicas.ranker" && i.reason === "is required"),
    );
    assert.throws(
      () => parseStackConfig(raw),
      (e: StackConfigError) =>
        ["images.ranker", "replicas.ranker", "resources.ranker"].every((key) =>
          e.issues.some((i) => i.key === key && /unknown key/.test(i.reason)),
        ),
    );
  });

  it("a list that cannot be deployed is refused with the app and the field", () => {
    assert.throws(() => checkApps([...APPS, rankerApp, rankerApp]), /ranker: listed twice/);
    assert.throws(
      () => checkApps([...APPS, { ...rankerApp, calls: [{ app: "feed", port: "http" }] }]),
      /ranker: calls feed:http, which is no service port/,
    );
    assert.throws(
      () => checkApps([...APPS, { ...rankerApp, calls: [] }]),
      /ranker: env FEED_ADDRESS addresses feed without calls allowing it/,
    );
    assert.throws(
      () => checkApps([...APPS, { ...rankerApp, public: true }]),
      /only one app may be public: gateway, ranker/,
    );
    assert.throws(
      () => checkApps([...APPS, { ...rankerApp, name: "postgres" }]),
      /postgres: name is reserved/,
    );
    assert.throws(
      () => checkApps([...APPS, { ...rankerApp, migrations: true }]),
      /only one app may be migrations: feed, ranker/,
    );
  });
});
