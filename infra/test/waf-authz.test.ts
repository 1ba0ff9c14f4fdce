// golive:waf.engine ext-authz (the default, every committed stack) under mocks: the WAF service beside the
// gateway (restricted pod, its directives from a ConfigMap that rolls it,
// reachable from Envoy's proxies and Prometheus only, no egress), the edge
// allowed to call it, no Wasm fetch; the image required. Envoy's side of it
// (the SecurityPolicy, the filter chain) is in edge-translate.test.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pinImages } from "../../scripts/pin-images";
import { APPS } from "../apps";
import { WAF_AUTHZ_GRPC_PORT, wafAuthzDirectives } from "../components/ingress";
import { OPS_PORT } from "../components/labels";
import { namespaceNames } from "../components/namespaces";
import { parseStackConfig } from "../config";
import { rawStackConfig } from "../stack-files";
import { renderStack } from "./support/render";

// biome-ignore lint/suspicious/noExplicitAny: rendered Kubernetes objects
type Any = Record<string, any>;
const IMAGE = `ghcr.io/golive/waf-authz@sha256:${"b".repeat(64)}`;
const SETTINGS = { waf: { engine: "ext-authz" }, images: { wafAuthz: IMAGE } };

describe("the WAF service with golive:waf.engine ext-authz", () => {
  it("runs beside the gateway: restricted, two replicas at least, its directives mounted, rolled when they change", async () => {
    const r = await renderStack("prod", SETTINGS);
    const ns = namespaceNames("prod");
    const dep = r.find("Deployment", "waf-authz", ns.app) as Any;
    const pod = dep.spec.template.spec;
    const c = pod.containers[0];
    assert.equal(c.image, IMAGE);
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    assert.ok(dep.spec.replicas >= 2);
    const env = Object.fromEntries(c.env.map((e: Any) => [e.name, e.value]));
    assert.deepEqual(
      [env.DIRECTIVES_FILE, env.GRPC_PORT, env.OPS_PORT],
      ["/etc/waf-authz/directives.json", String(WAF_AUTHZ_GRPC_PORT), String(OPS_PORT)],
    );
    const cm = r.find("ConfigMap", "waf-authz-directives", ns.app) as Any;
    const config = parseStackConfig(rawStackConfig("prod"));
    assert.deepEqual(JSON.parse(cm.data["directives.json"]), wafAuthzDirectives(config.waf));
    assert.match(dep.spec.template.metadata.annotations["golive.dev/directives-checksum"], /^[0-9a-f]{16}$/);
    assert.deepEqual(c.readinessProbe.httpGet, { path: "/health/ready", port: "metrics" });
    r.find("ServiceMonitor", "waf-authz");
    r.find("SecurityPolicy", "waf", ns.app);
    const rule = r.find("PrometheusRule", "golive-service-waf-authz") as Any;
    const alerts = rule.spec.groups.flatMap((g: Any) => g.rules.map((x: Any) => x.alert));
    assert.deepEqual(alerts, ["WafServiceUnavailable", "WafServiceSlow"]);
    const dashboard = r.find("ConfigMap", "dashboard-waf-authz") as Any;
    const json = JSON.parse(dashboard.data["waf-authz.json"]);
    const exprs = json.panels.flatMap((p: Any) => p.targets.map((t: Any) => t.expr)).join("\n");
    assert.match(exprs, /golive_waf_checks_total\{job="waf-authz"\}/);
    assert.match(exprs, /golive_waf_check_duration_seconds_bucket\{job="waf-authz"\}/);
    assert.equal(r.all("EnvoyExtensionPolicy").length, 0);
  });

  it("is reached by Envoy's proxies and Prometheus only, calls nothing; the edge may call it and fetches no Wasm", async () => {
    const r = await renderStack("prod", SETTINGS);
    const ns = namespaceNames("prod");
    const ingress = r.find("NetworkPolicy", "waf-authz-ingress", ns.app) as Any;
    const from = ingress.spec.ingress.map((rule: Any) => [
      rule.from[0].namespaceSelector.matchLabels["kubernetes.io/metadata.name"],
      rule.ports.map((p: Any) => p.port),
    ]);
    assert.deepEqual(from, [
      [ns.gateway, [WAF_AUTHZ_GRPC_PORT]],
      [ns.monitoring, [OPS_PORT]],
    ]);
    const egress = r.find("NetworkPolicy", "waf-authz-egress", ns.app) as Any;
    assert.deepEqual(egress.spec.egress, []);
    const edge = r.find("NetworkPolicy", "envoy-edge", ns.gateway) as Any;
    assert.ok(
      edge.spec.egress.some((e: Any) => e.ports.some((p: Any) => p.port === WAF_AUTHZ_GRPC_PORT)),
      "the proxies may call the WAF service",
    );
    assert.ok(!r.all("NetworkPolicy").some((p) => p.metadata.name === "wasm-fetch"));
  });

  it("is in the images output deploy.yml records as prod's rollback target, and pinned back under its key", async () => {
    const r = await renderStack("prod", SETTINGS);
    const images = r.outputs.images as Record<string, string>;
    assert.equal(images["waf-authz"], IMAGE);
    const calls: string[][] = [];
    pinImages("prod", JSON.stringify(images), APPS, (args) => void calls.push(args));
    assert.deepEqual(
      calls.find((c) => c.includes(IMAGE)),
      ["config", "set", "--stack", "prod", "--path", "images.wafAuthz", IMAGE],
    );
  });

  it("refuses the engine without its image, naming the key; the default engine is ext-authz", () => {
    const raw = structuredClone(rawStackConfig("prod")) as { images: Record<string, unknown>; waf: object };
    delete raw.images.wafAuthz;
    assert.throws(
      () => parseStackConfig(raw),
      /golive:images\.wafAuthz: is required with golive:waf\.engine ext-authz/,
    );
    raw.waf = { mode: "blocking" };
    assert.throws(
      () => parseStackConfig(raw),
      /golive:images\.wafAuthz: is required/,
      "the default asks for it too",
    );
    assert.equal(parseStackConfig({ ...raw, waf: { mode: "blocking", engine: "wasm" } }).waf.engine, "wasm");
  });
});
