// Envoy Gateway's own translator on the edge each stack renders: `egctl x
// translate` (built from the module at the pinned chart's version) turns the
// GatewayClass, Gateway, HTTPRoutes and policies into status conditions and
// the Envoy configuration (xDS) the proxies would get, without a cluster.
// The Envoy binary itself does not run here.
//
// Two limits of egctl's offline loader, met by this test and worked around
// where the check stays honest: it keeps a Namespace's name but not its
// labels, so a listener's namespace selector never matches (the translation
// gets `from: All` and the selector is checked against the label Kubernetes
// sets on every namespace, below); and it has no Wasm module cache, so an
// EnvoyExtensionPolicy whose filter comes from an image is refused ("wasm
// cache is not initialized"): with golive:waf.engine wasm (no committed stack
// uses it now) the Wasm filter's place in Envoy's chain is not provable with
// it (the rules themselves are judged in test/waf/). What the refusal does is
// still shown, as it would happen in a cluster whose proxies cannot load the
// module: prod (fail closed) answers 500 on the API route (egctl refuses
// before it reads a module's failOpen, so staging's and local's fail open
// cannot be shown with it). The committed stacks' WAF (engine ext-authz) is
// a SecurityPolicy, which it translates in full. egctl makes up a cluster IP
// for each Service (--add-missing-resources): no endpoints exist offline.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import YAML from "yaml";
import { CHARTS } from "../charts";
import { HSTS, WAF_AUTHZ, WAF_AUTHZ_BODY_BYTES } from "../components/ingress";
import { namespaceNames } from "../components/namespaces";
import { parseStackConfig } from "../config";
import type { K8sObject } from "../render/mock-runtime";
import { REPO_ROOT, rawStackConfig, type StackSettings } from "../stack-files";
import { renderStack } from "./support/render";

const EGCTL = path.join(REPO_ROOT, ".tools", "bin", "egctl");
const EDGE_NAMESPACE = "envoy-gateway-system";

type Json = Record<string, unknown>;
interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}
interface Translated {
  gatewayClass: { status: { conditions: Condition[] } };
  gateways: { status: { listeners: { name: string; conditions: Condition[] }[] } }[];
  httpRoutes: { metadata: { name: string }; status: { parents: { conditions: Condition[] }[] } }[];
  backendTrafficPolicies?: { status?: { ancestors?: { conditions: Condition[] }[] } }[];
  envoyExtensionPolicies?: { status?: { ancestors?: { conditions: Condition[] }[] } }[];
  securityPolicies?: { status?: { ancestors?: { conditions: Condition[] }[] } }[];
  xds: Record<string, { configs: Json[] }>;
}

let workDir = "";
before(() => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), "golive-egctl-"));
});
after(() => fs.rmSync(workDir, { recursive: true, force: true }));

/** A self-signed certificate for the domain: what cert-manager would put in the listener's Secret. */
function tlsSecret(domain: string, name: string): K8sObject & { data: Record<string, string> } {
  const key = path.join(workDir, `${domain}.key`);
  const crt = path.join(workDir, `${domain}.crt`);
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", crt, "-days", "1"].concat([
      "-subj",
      `/CN=${domain}`,
      "-addext",
      `subjectAltName=DNS:${domain}`,
    ]),
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  return {
    apiVersion: "v1",
    kind: "Secret",
    type: "kubernetes.io/tls",
    metadata: { name, namespace: EDGE_NAMESPACE },
    data: {
      "tls.crt": fs.readFileSync(crt).toString("base64"),
      "tls.key": fs.readFileSync(key).toString("base64"),
    },
  } as K8sObject & { data: Record<string, string> };
}

/** The edge's objects as rendered, plus what the cluster would hold beside them. */
async function edgeInput(stack: string, edit?: (objects: K8sObject[]) => void, settings: StackSettings = {}) {
  const rendered = await renderStack(stack, settings);
  const edge = structuredClone(
    rendered.objects.filter(
      (o) =>
        /^gateway\.(networking\.k8s\.io|envoyproxy\.io)\//.test(o.apiVersion) ||
        (o.kind === "Service" && ["gateway", WAF_AUTHZ].includes(o.metadata.name)),
    ),
  );
  const gateway = edge.find((o) => o.kind === "Gateway") as K8sObject & { spec: Json };
  const listeners = gateway.spec.listeners as {
    name: string;
    hostname: string;
    tls?: Json;
    allowedRoutes: Json;
  }[];
  for (const l of listeners) {
    const selector = (l.allowedRoutes.namespaces as { from: string; selector?: { matchLabels: Json } }) ?? {};
    if (selector.from === "Selector") l.allowedRoutes = { namespaces: { from: "All" } };
  }
  const secret = tlsSecret(listeners[0]?.hostname as string, "golive-tls");
  const namespaces = [...new Set(edge.map((o) => o.metadata.namespace).filter(Boolean))].map((name) => ({
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name },
  }));
  const objects = [...(namespaces as K8sObject[]), ...edge, secret];
  edit?.(objects);
  return { objects, secret, rendered };
}

function translate(objects: K8sObject[], name: string, opts: { statusOnly?: boolean } = {}): Translated {
  const file = path.join(workDir, `${name}.yaml`);
  fs.writeFileSync(file, objects.map((o) => YAML.stringify(o)).join("---\n"));
  // Statuses only: without --add-missing-resources a missing backend stays missing.
  const args = opts.statusOnly
    ? ["--to", "gateway-api"]
    : ["--to", "gateway-api,xds", "--type", "all", "--add-missing-resources"];
  const out = execFileSync(
    EGCTL,
    ["x", "translate", "--from", "gateway-api", ...args, "-o", "json", "-f", file, "-n", EDGE_NAMESPACE],
    { encoding: "utf8", maxBuffer: 256 * 1024 * 1024, stdio: ["ignore", "pipe", "pipe"] },
  );
  return JSON.parse(out) as Translated;
}

const cond = (conds: Condition[] | undefined, type: string) => conds?.find((c) => c.type === type);

/** Every object of one xDS dump type, found anywhere in the configs. */
function dumps(t: Translated, type: string): Json[] {
  return Object.values(t.xds).flatMap((x) => x.configs.filter((c) => c["@type"] === type));
}

it("egctl is built from the Envoy Gateway module at the pinned chart's version", () => {
  const gomod = fs.readFileSync(path.join(REPO_ROOT, "tools", "egctl", "go.mod"), "utf8");
  const version = /github\.com\/envoyproxy\/gateway (v\S+)/.exec(gomod)?.[1];
  assert.equal(version, CHARTS.envoyGateway.version);
});

/** The API route (/v1) of a translation's xDS. */
const apiRoute = (x: Translated) =>
  dumps(x, "type.googleapis.com/envoy.admin.v3.RoutesConfigDump")
    .flatMap((d) => d.dynamicRouteConfigs as { routeConfig: { virtualHosts: { routes: Json[] }[] } }[])
    .flatMap((r) => r.routeConfig.virtualHosts.flatMap((v) => v.routes))
    .find((r) => (r.match as Json).pathSeparatedPrefix === "/v1") as Json;

describe("Envoy Gateway's translation of each stack's edge", () => {
  for (const stack of ["local", "staging", "prod"]) {
    it(`${stack}: every Gateway, route and policy accepted; TLS, routes, HSTS and rate limits in the xDS`, async () => {
      const { objects, secret, rendered } = await edgeInput(stack);
      const config = parseStackConfig(rawStackConfig(stack));
      const t = translate(objects, stack);

      assert.equal(cond(t.gatewayClass.status.conditions, "Accepted")?.status, "True");
      for (const l of t.gateways[0]?.status.listeners ?? [])
        for (const type of ["Accepted", "Programmed", "ResolvedRefs"])
          assert.equal(cond(l.conditions, type)?.status, "True", `listener ${l.name}: ${type}`);
      assert.equal(t.gateways[0]?.status.listeners.length, 2);
      for (const r of t.httpRoutes)
        for (const type of ["Accepted", "ResolvedRefs"])
          assert.equal(
            cond(r.status.parents[0]?.conditions, type)?.status,
            "True",
            `${r.metadata.name}: ${type}`,
          );
      for (const p of t.backendTrafficPolicies ?? [])
        assert.equal(cond(p.status?.ancestors?.[0]?.conditions, "Accepted")?.status, "True");
      // The WAF (engine ext-authz in every committed stack): its SecurityPolicy accepted.
      assert.equal(config.waf.engine, "ext-authz");
      assert.equal(
        cond(t.securityPolicies?.[0]?.status?.ancestors?.[0]?.conditions, "Accepted")?.status,
        "True",
      );
      // The selector the translation could not evaluate admits the app namespace by the
      // label Kubernetes sets on every namespace.
      const https = (
        rendered.find("Gateway", "golive", EDGE_NAMESPACE).spec as { listeners: Json[] }
      ).listeners.find((l) => l.name === "https") as {
        allowedRoutes: { namespaces: { selector: { matchLabels: Json } } };
      };
      assert.deepEqual(https.allowedRoutes.namespaces.selector.matchLabels, {
        "kubernetes.io/metadata.name": namespaceNames(stack).app,
      });

      // TLS: the HTTPS listener (443 inside the proxy: 10443) serves the stack's Secret.
      const listeners = JSON.stringify(dumps(t, "type.googleapis.com/envoy.admin.v3.ListenersConfigDump"));
      assert.match(listeners, /"portValue":10443/);
      assert.ok(
        listeners.includes(
          `"tlsCertificateSdsSecretConfigs":[{"name":"${EDGE_NAMESPACE}/${secret.metadata.name}"`,
        ),
        "the TLS listener serves the certificate's Secret",
      );
      // The API route: to the gateway Service, WebSocket upgrades allowed, HSTS on every answer.
      const route = apiRoute(t);
      const action = route.route as { cluster: string; upgradeConfigs: { upgradeType: string }[] };
      assert.equal(action.cluster, `httproute/${namespaceNames(stack).app}/golive-api/rule/0`);
      assert.deepEqual(action.upgradeConfigs, [{ upgradeType: "websocket" }]);
      assert.deepEqual(
        (route.responseHeadersToAdd as { header: Json }[]).map((h) => h.header),
        [{ key: "Strict-Transport-Security", value: HSTS }],
      );
      const clusters = JSON.stringify(dumps(t, "type.googleapis.com/envoy.admin.v3.ClustersConfigDump"));
      assert.ok(clusters.includes(`"name":"${action.cluster}"`), "the route's cluster exists");
      // Rate limits: the per-client bucket and the ceiling of the stack, per second.
      const limit = (route.typedPerFilterConfig as Record<string, Json>)[
        "envoy.filters.http.local_ratelimit"
      ] as {
        descriptors: { tokenBucket: { maxTokens: number; fillInterval: string } }[];
        tokenBucket: { maxTokens: number; fillInterval: string };
      };
      const { requests, perClientRequests } = config.rateLimit;
      assert.deepEqual(
        limit.descriptors.map((d) => [d.tokenBucket.maxTokens, d.tokenBucket.fillInterval]),
        [[perClientRequests, "1s"]],
      );
      assert.deepEqual([limit.tokenBucket.maxTokens, limit.tokenBucket.fillInterval], [requests, "1s"]);
      // Plain HTTP: redirected to HTTPS.
      const routes = JSON.stringify(dumps(t, "type.googleapis.com/envoy.admin.v3.RoutesConfigDump"));
      assert.match(routes, /"redirect":\{"schemeRedirect":"https"\}/);
      console.log(
        `${stack}: ${t.httpRoutes.length} routes, the rate-limit and WAF policies accepted; TLS on 10443, HSTS, WebSocket upgrades, ${perClientRequests} per client / ${requests} in all per second`,
      );
    });
  }

  for (const stack of ["staging", "prod"]) {
    it(`${stack} (golive:waf.engine ext-authz): the SecurityPolicy accepted, Envoy's ext_authz filter asks the WAF service with the body before the route, fail ${stack === "prod" ? "closed" : "open"}`, async () => {
      const { objects } = await edgeInput(stack);
      assert.ok(!objects.some((o) => o.kind === "EnvoyExtensionPolicy"), "no Wasm policy");
      const t = translate(objects, `${stack}-ext-authz`);
      const policy = t.securityPolicies?.[0];
      assert.equal(cond(policy?.status?.ancestors?.[0]?.conditions, "Accepted")?.status, "True");
      const listeners = dumps(t, "type.googleapis.com/envoy.admin.v3.ListenersConfigDump");
      // Every HTTP filter of every chain, in order.
      const httpFilters: { name: string; typedConfig?: Json }[] = [];
      const chains: string[][] = [];
      const walk = (v: unknown): void => {
        if (Array.isArray(v)) v.forEach(walk);
        else if (v && typeof v === "object") {
          const o = v as Json;
          if (Array.isArray(o.httpFilters)) {
            httpFilters.push(...(o.httpFilters as typeof httpFilters));
            chains.push((o.httpFilters as typeof httpFilters).map((f) => f.name.replace(/\/.*$/, "")));
          }
          Object.values(o).forEach(walk);
        }
      };
      walk(listeners);
      const extAuthz = httpFilters.find((f) => f.name.startsWith("envoy.filters.http.ext_authz"));
      assert.ok(
        extAuthz,
        `the ext_authz filter is in the HTTP filter chain: ${httpFilters.map((f) => f.name)}`,
      );
      const filter = extAuthz.typedConfig as Json;
      assert.equal(
        (filter.withRequestBody as Json | undefined)?.maxRequestBytes,
        WAF_AUTHZ_BODY_BYTES,
        `the body goes with the request: ${JSON.stringify(filter)}`,
      );
      assert.equal(filter.failureModeAllow ?? false, stack !== "prod", "fail open only in detection mode");
      const clusters = JSON.stringify(dumps(t, "type.googleapis.com/envoy.admin.v3.ClustersConfigDump"));
      // The filter calls the WAF service's cluster (its endpoints come from the Service: none offline).
      const clusterName = ((filter.grpcService as Json).envoyGrpc as Json).clusterName as string;
      assert.match(clusterName, /waf/, `the filter's gRPC cluster: ${clusterName}`);
      assert.ok(clusters.includes(`"name":"${clusterName}"`), "the cluster exists");
      assert.match(
        clusters.slice(clusters.indexOf(`"name":"${clusterName}"`)),
        /"http2ProtocolOptions"/,
        "gRPC: HTTP/2 to the service",
      );
      // Before the router: the filter sits ahead of it in the chain.
      const chain = chains.find((c) => c.includes("envoy.filters.http.ext_authz")) as string[];
      assert.ok(
        chain.indexOf("envoy.filters.http.ext_authz") < chain.indexOf("envoy.filters.http.router"),
        `ext_authz before the router: ${chain.join(" ")}`,
      );
      console.log(`${stack} ext-authz: SecurityPolicy accepted; the HTTPS chain: ${chain.join(" -> ")}`);
    });
  }

  for (const stack of ["local", "staging", "prod"]) {
    it(`${stack} with golive:waf.engine wasm: the Wasm policy refused by egctl (no Wasm cache), so prod's API route fails closed`, async () => {
      const { objects, rendered } = await edgeInput(stack, undefined, { waf: { engine: "wasm" } });
      const t = translate(objects, `${stack}-wasm`);
      assert.ok(
        !objects.some((o) => o.kind === "SecurityPolicy" && o.metadata.name === "waf"),
        "no ext_authz",
      );
      const policies = t.envoyExtensionPolicies ?? [];
      assert.equal(policies.length, 1);
      for (const p of policies) {
        const accepted = cond(p.status?.ancestors?.[0]?.conditions, "Accepted");
        assert.equal(accepted?.status, "False");
        assert.match(accepted?.message ?? "", /wasm cache is not initialized/);
      }
      // The API route without the WAF module: 500 where the policy fails closed.
      const failOpen = (
        rendered.find("EnvoyExtensionPolicy", "coraza-waf").spec as { wasm: { failOpen: boolean }[] }
      ).wasm[0]?.failOpen;
      const withWaf = apiRoute(t);
      // egctl refuses before it reads failOpen, so fail open cannot be shown with it.
      if (!failOpen)
        assert.deepEqual(withWaf.directResponse, { status: 500 }, `${stack}: fail closed answers 500`);
      assert.equal(failOpen, stack !== "prod");
      console.log(
        `${stack} wasm: the WAF policy refused by egctl (no Wasm cache), so the API route answers ${JSON.stringify(withWaf.directResponse ?? "through")}${failOpen ? " (fail open: not shown by egctl)" : " (fail closed)"}`,
      );
    });
  }

  it("a route to a missing backend and a policy aimed at a missing route are reported", async () => {
    const { objects } = await edgeInput("prod", (objects) => {
      const route = objects.find(
        (o) => o.kind === "HTTPRoute" && o.metadata.name === "golive-api",
      ) as K8sObject & {
        spec: { rules: { backendRefs: { name: string }[] }[] };
      };
      (route.spec.rules[0]?.backendRefs[0] as { name: string }).name = "no-such-service";
      const policy = objects.find((o) => o.kind === "BackendTrafficPolicy") as K8sObject & {
        spec: { targetRefs: { name: string }[] };
      };
      (policy.spec.targetRefs[0] as { name: string }).name = "no-such-route";
    });
    const t = translate(objects, "broken", { statusOnly: true });
    const route = t.httpRoutes.find((r) => r.metadata.name === "golive-api");
    const resolved = cond(route?.status.parents[0]?.conditions, "ResolvedRefs");
    assert.equal(resolved?.status, "False");
    assert.equal(resolved?.reason, "BackendNotFound");
    const policy = t.backendTrafficPolicies?.[0];
    console.log(
      `broken: route ${resolved?.reason} (${resolved?.message}); policy status ${JSON.stringify(policy?.status ?? {})}`,
    );
    assert.ok(
      !policy?.status?.ancestors?.some((a) => cond(a.conditions, "Accepted")?.status === "True"),
      "the policy aimed at a missing route is accepted nowhere",
    );
  });
});
