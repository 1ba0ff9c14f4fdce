import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { planFromEnv } from "@golive/preflight/plan";
import { APPS, servicesOf } from "../apps";
import type { K8sObject } from "../render/mock-runtime";
import { REPO_ROOT, rawStackConfig } from "../stack-files";
import { blockedBy, type NetworkPolicy, selects } from "./support/network-policy";
import { renderStack } from "./support/render";

type Any = Record<string, any>;
const SERVICES = servicesOf(APPS);
const spec = (o: K8sObject) => o.spec as Any;
const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

describe("wiring per stack", () => {
  for (const stack of ["staging", "prod"]) {
    it(`${stack}: each HPA's Deployment starts at min replicas and leaves the count to the HPA after that`, async () => {
      const r = await renderStack(stack);
      const hpas = r.all("HorizontalPodAutoscaler");
      assert.ok(hpas.length >= SERVICES.length, "an HPA per service");
      for (const hpa of hpas) {
        const target = spec(hpa).scaleTargetRef.name;
        const dep = r.find("Deployment", target, hpa.metadata.namespace);
        assert.equal(spec(dep).replicas, spec(hpa).minReplicas, `${target} is created with min replicas`);
        // Sent again on update, replicas made the first update after a
        // scale-out fail (a Server-Side Apply conflict with the HPA; the
        // real-pods lane scales the feed out and deploys).
        const registered = r.resources.filter(
          (x) =>
            x.type === "kubernetes:apps/v1:Deployment" &&
            x.inputs.metadata &&
            (x.inputs.metadata as Any).name === target,
        );
        assert.deepEqual(
          registered.map((x) => x.ignoreChanges),
          [["spec.replicas"]],
          `${target}: an update leaves spec.replicas to the HPA`,
        );
      }
    });

    it(`${stack}: Services select the Deployment pods and target real container ports`, async () => {
      const r = await renderStack(stack);
      const ns = `golive-${stack}`;
      for (const app of SERVICES) {
        const name = app.name;
        const dep = r.find("Deployment", name, ns);
        const pod = spec(dep).template;
        assert.ok(matches(spec(dep).selector.matchLabels, pod.metadata.labels));
        const portNames = pod.spec.containers[0].ports.map((p: Any) => p.name);
        for (const svcName of [name, ...(app.headless ? [app.headless.name] : [])]) {
          const svc = r.find("Service", svcName, ns);
          assert.ok(matches(spec(svc).selector, pod.metadata.labels), `${svcName} selects ${name} pods`);
          for (const p of spec(svc).ports)
            assert.ok(portNames.includes(p.targetPort), `${svcName} -> ${p.targetPort}`);
        }
        const c = pod.spec.containers[0];
        const probePorts = [c.startupProbe, c.livenessProbe, c.readinessProbe].map(
          (p: Any) => p.httpGet?.port ?? p.grpc?.port,
        );
        for (const port of probePorts) {
          assert.ok(
            portNames.includes(port) || c.ports.some((p: Any) => p.containerPort === port),
            `probe port ${port}`,
          );
        }
        for (const p of [c.startupProbe, c.livenessProbe, c.readinessProbe]) {
          if (p.httpGet) assert.match(p.httpGet.path, /^\/health\/(live|ready)$/);
        }
        assert.equal(pod.spec.automountServiceAccountToken, false);
        assert.equal(c.securityContext.runAsUser, 10001);
        assert.equal(c.securityContext.readOnlyRootFilesystem, true);
        assert.deepEqual(c.securityContext.capabilities.drop, ["ALL"]);
        const sm = r.find("ServiceMonitor", name, ns);
        const svc = r.find("Service", name, ns);
        assert.ok(matches(spec(sm).selector.matchLabels, svc.metadata.labels));
        assert.ok(spec(svc).ports.some((p: Any) => p.name === spec(sm).endpoints[0].port));
      }
      const feed = spec(r.find("Deployment", "feed", ns)).template.spec.containers[0];
      assert.ok(feed.readinessProbe.grpc, "feed readiness is a native gRPC probe");
      const gw = spec(r.find("Deployment", "gateway", ns)).template.spec.containers[0];
      const feedAddress = gw.env.find((e: Any) => e.name === "FEED_ADDRESS").value;
      assert.equal(feedAddress, `dns:///feed-grpc.${ns}.svc.cluster.local:50051`);
      assert.equal(spec(r.find("Service", "feed-grpc", ns)).clusterIP, "None");
    });

    it(`${stack}: every service keeps serving with readiness off before it stops, within the grace period`, async () => {
      const r = await renderStack(stack);
      for (const { name } of SERVICES) {
        const pod = spec(r.find("Deployment", name, `golive-${stack}`)).template.spec;
        const env = Object.fromEntries(pod.containers[0].env.map((e: Any) => [e.name, e.value]));
        const drain = Number(env.SHUTDOWN_DRAIN_DELAY_MS);
        assert.ok(drain >= 3000, `${name}: drain delay ${drain} ms covers endpoint propagation`);
        assert.ok(
          pod.terminationGracePeriodSeconds * 1000 > drain + Number(env.SHUTDOWN_GRACE_MS),
          `${name}: SIGKILL comes after the drain and the shutdown grace`,
        );
      }
    });

    it(`${stack}: the migrations Job runs the feed image's migrate entry before the workloads`, async () => {
      const r = await renderStack(stack);
      const job = r.all("Job")[0];
      assert.ok(job);
      const c = spec(job).template.spec.containers[0];
      assert.deepEqual(c.command, ["/nodejs/bin/node", "dist/migrate.js"]);
      for (const { name } of SERVICES) {
        const dep = r.resources.find((x) => x.type === "kubernetes:apps/v1:Deployment" && x.name === name);
        const component = r.resources.find((x) => x.type === "golive:apps:Workload" && x.name === name);
        const deps = [...(dep?.dependsOn ?? []), ...(component?.dependsOn ?? [])];
        assert.ok(
          deps.includes(job.metadata.name),
          `${name} depends on ${job.metadata.name}: ${deps.join(",")}`,
        );
      }
    });

    it(`${stack}: every custom resource waits for the release that installs its kind`, async () => {
      // The API server refuses an object whose CRD is not there yet ("no
      // matches for kind"); under mocks that race is invisible, so the order is
      // checked here and the real-engine test applies it.
      const r = await renderStack(stack);
      const installer: Record<string, string> = {
        "monitoring.coreos.com": "prometheus-operator-crds",
        "cert-manager.io": "cert-manager",
        "gateway.networking.k8s.io": "envoy-gateway",
        "gateway.envoyproxy.io": "envoy-gateway",
      };
      const depsOf = new Map<string, string[]>();
      for (const x of r.resources) depsOf.set(x.name, [...(depsOf.get(x.name) ?? []), ...x.dependsOn]);
      const reaches = (from: string, target: string) => {
        const seen = new Set<string>();
        const pending = [from];
        while (pending.length > 0) {
          const next = pending.pop() as string;
          if (next === target) return true;
          if (seen.has(next)) continue;
          seen.add(next);
          pending.push(...(depsOf.get(next) ?? []));
        }
        return false;
      };
      const custom = r.resources.filter(
        (x) => /^kubernetes:[a-z0-9-]+\.[a-z0-9.-]+\/v/.test(x.type) && x.custom,
      );
      const groups = new Set<string>();
      for (const x of custom) {
        const group = x.type.slice("kubernetes:".length, x.type.indexOf("/"));
        const release = installer[group];
        if (!release) continue;
        groups.add(group);
        assert.ok(reaches(x.name, release), `${x.type} ${x.name} does not wait for the ${release} release`);
      }
      assert.deepEqual([...groups].sort(), Object.keys(installer).sort());
    });

    it(`${stack}: NetworkPolicies select the pods they mean and every namespace is default-denied`, async () => {
      const r = await renderStack(stack);
      const ns = `golive-${stack}`;
      const podLabels = (name: string) => spec(r.find("Deployment", name, ns)).template.metadata.labels;
      const feedIngress = r.find("NetworkPolicy", "feed-ingress", ns);
      assert.ok(matches(spec(feedIngress).podSelector.matchLabels, podLabels("feed")));
      const fromGateway = spec(feedIngress).ingress[0].from[0].podSelector.matchLabels;
      assert.ok(matches(fromGateway, podLabels("gateway")));
      assert.deepEqual(spec(feedIngress).ingress[0].ports, [{ protocol: "TCP", port: 50051 }]);
      const pg = spec(r.find("StatefulSet", "postgres", ns)).template.metadata.labels;
      assert.ok(matches(spec(r.find("NetworkPolicy", "postgres-ingress", ns)).podSelector.matchLabels, pg));
      const namespaces = r.all("Namespace").map((n) => n.metadata.name);
      for (const n of namespaces) {
        const deny = r.find("NetworkPolicy", "default-deny", n);
        assert.deepEqual(spec(deny).podSelector, {});
        assert.deepEqual(spec(deny).policyTypes, ["Ingress", "Egress"]);
      }
    });
  }

  it("each component owns the NetworkPolicies of its own pods; the central one keeps default deny and DNS", async () => {
    const r = await renderStack("prod");
    const policies = r.resources.filter((x) => x.type === "kubernetes:networking.k8s.io/v1:NetworkPolicy");
    const byParent = new Map<string, string[]>();
    for (const p of policies) {
      const name = (p.inputs.metadata as { name: string }).name;
      byParent.set(p.parent ?? "", [...new Set([...(byParent.get(p.parent ?? "") ?? []), name])].sort());
    }
    assert.deepEqual(Object.fromEntries(byParent), {
      "network-policies": ["allow-dns", "default-deny"],
      database: ["postgres-ingress"],
      migrations: ["migrations-egress"],
      backup: ["backup-egress"],
      retention: ["retention-egress"],
      monitoring: [
        "alertmanager-receivers",
        "allow-api-server",
        "allow-same-namespace",
        "grafana-to-loki",
        "prometheus-egress",
        "prometheus-remote-write",
      ],
      logging: ["allow-api-server", "allow-same-namespace", "loki-ingress"],
      feed: ["feed-egress", "feed-ingress"],
      gateway: ["gateway-egress", "gateway-ingress"],
      ingress: ["allow-api-server", "allow-same-namespace", "cert-manager-acme-webhook", "envoy-edge"],
      "waf-authz": ["waf-authz-egress", "waf-authz-ingress"],
      loadtest: ["k6-egress"],
      tracing: ["otel-collector-ingress"],
      synthetic: ["blackbox-egress"],
      preflight: ["alertmanager-from-preflight", "preflight-egress"],
    });
    // Every moved policy answers to its URN under the former central parent,
    // so an existing stack updates it in place instead of replacing it.
    const former = "urn:pulumi:prod::golive::golive:security:NetworkPolicies::network-policies";
    // (The WAF service's came after the move: nothing to alias.)
    for (const p of policies.filter((x) => !["network-policies", "waf-authz"].includes(x.parent ?? ""))) {
      assert.ok(
        p.aliases.some((a) => a.includes(`"parenturn":"${former}"`) || a.startsWith(`${former}$`)),
        `${p.name} has no alias to ${former}: ${p.aliases.join(" ")}`,
      );
    }
  });

  it("each dashboard is deployed once, by the component whose metrics it shows", async () => {
    const r = await renderStack("prod");
    const dashboards = r.resources.filter(
      (x) =>
        x.type === "kubernetes:core/v1:ConfigMap" &&
        (x.inputs.metadata as { labels?: Record<string, string> }).labels?.grafana_dashboard === "1",
    );
    const owners = Object.fromEntries(
      dashboards.map((d) => [Object.keys(d.inputs.data as object)[0], d.parent]),
    );
    assert.deepEqual(owners, {
      "feed.json": "feed",
      "gateway.json": "gateway",
      "drill.json": "loadtest",
      "tracing.json": "tracing",
      "preflight.json": "preflight",
      "waf-authz.json": "waf-authz",
    });
    // Every dashboards/*.json is deployed; the WAF service's is generated (dashboards/build.ts).
    const files = readdirSync(path.join(REPO_ROOT, "dashboards")).filter((f) => f.endsWith(".json"));
    assert.deepEqual(
      files.filter((f) => !(f in owners)),
      [],
      "a dashboards/*.json no component deploys",
    );
    const former = "urn:pulumi:prod::golive::golive:observability:Monitoring::monitoring";
    // (The WAF service's came after the move: nothing to alias.)
    for (const d of dashboards.filter((x) => x.parent !== "waf-authz")) {
      assert.ok(
        d.aliases.some((a) => a.includes(`"parenturn":"${former}"`)),
        `${d.name}: no alias to ${former}`,
      );
    }
  });

  it("prod differs from staging where it should", async () => {
    const staging = await renderStack("staging");
    const prod = await renderStack("prod");
    const replicas = (r: typeof prod, ns: string) => spec(r.find("Deployment", "feed", ns)).replicas;
    assert.ok(replicas(prod, "golive-prod") > replicas(staging, "golive-staging"));
    assert.deepEqual(
      prod
        .all("PodDisruptionBudget")
        .map((p) => p.metadata.name)
        .sort(),
      ["feed", "gateway", "waf-authz"],
    );
    assert.equal(staging.all("PodDisruptionBudget").length, 0);
    // The WAF: blocking and fail closed in prod, detection and fail open in staging.
    const directives = (r: typeof prod, ns: string): string[] =>
      JSON.parse(
        (r.find("ConfigMap", "waf-authz-directives", ns) as K8sObject & { data: Record<string, string> })
          .data["directives.json"] as string,
      );
    const failOpen = (r: typeof prod, ns: string) =>
      spec(r.find("SecurityPolicy", "waf", ns)).extAuth.failOpen;
    assert.ok(directives(prod, "golive-prod").includes("SecRuleEngine On"));
    assert.equal(failOpen(prod, "golive-prod"), false);
    assert.ok(directives(staging, "golive-staging").includes("SecRuleEngine DetectionOnly"));
    assert.equal(failOpen(staging, "golive-staging"), true);
    const acme = (r: typeof prod) => spec(r.all("ClusterIssuer")[0] as K8sObject).acme.server;
    assert.match(acme(prod), /acme-v02\.api\.letsencrypt\.org/);
    assert.match(acme(staging), /acme-staging-v02/);
    assert.ok(
      spec(prod.find("Deployment", "feed", "golive-prod")).template.spec.topologySpreadConstraints.length > 0,
    );
    assert.equal(
      spec(staging.find("Deployment", "feed", "golive-staging")).template.spec.topologySpreadConstraints,
      undefined,
    );
  });

  it("local uses a self-signed issuer", async () => {
    const local = await renderStack("local");
    assert.deepEqual(spec(local.all("ClusterIssuer")[0] as K8sObject), { selfSigned: {} });
  });

  it("monitoring picks up our objects and the charts are pinned", async () => {
    const r = await renderStack("staging");
    const kps = r.find("Release", "kube-prometheus-stack", "monitoring");
    const values = spec(kps).values;
    assert.equal(values.crds.enabled, false);
    assert.equal(values.prometheus.prometheusSpec.enableRemoteWriteReceiver, true);
    const sel = values.prometheus.prometheusSpec.serviceMonitorSelector.matchLabels;
    for (const sm of r.all("ServiceMonitor")) assert.ok(matches(sel, sm.metadata.labels));
    for (const rule of r.all("PrometheusRule")) {
      assert.ok(matches(values.prometheus.prometheusSpec.ruleSelector.matchLabels, rule.metadata.labels));
      for (const g of spec(rule).groups)
        for (const x of g.rules)
          if (x.alert) assert.match(x.annotations.runbook_url, /^https:\/\/.+\/docs\/runbooks\/.+\.md$/);
    }
    assert.equal(values.grafana.admin.existingSecret, "grafana-admin");
    for (const rel of r.all("Release")) assert.match(String(spec(rel).version), /^v?\d+\.\d+\.\d+$/);
    assert.ok(r.all("ConfigMap").some((c) => c.metadata.labels?.grafana_dashboard === "1"));
  });

  it("the edge sets the WAF's paranoia level and threshold, HSTS, and a rate limit per client under a ceiling", async () => {
    const r = await renderStack("prod");
    // The WAF service's directives (engine ext-authz), as the stack renders them.
    const cm = r.find("ConfigMap", "waf-authz-directives", "golive-prod") as K8sObject & {
      data: Record<string, string>;
    };
    const directives: string[] = JSON.parse(cm.data["directives.json"] as string);
    const at = (re: RegExp) => directives.findIndex((d) => re.test(d));
    assert.ok(at(/@crs-setup\.conf\.example/) >= 0);
    assert.ok(
      at(/tx\.blocking_paranoia_level=1"/) > at(/@crs-setup\.conf\.example/),
      "paranoia level after the CRS setup",
    );
    assert.ok(at(/tx\.inbound_anomaly_score_threshold=5"/) > at(/@crs-setup\.conf\.example/));
    assert.ok(
      at(/tx\.inbound_anomaly_score_threshold/) < at(/@owasp_crs/),
      "settings before the rules read them",
    );
    assert.equal(directives.at(-1), "SecRuleEngine On");
    const route = spec(r.find("HTTPRoute", "golive-api", "golive-prod"));
    const headers = route.rules[0].filters.find(
      (f: Any) => f.type === "ResponseHeaderModifier",
    ).responseHeaderModifier;
    assert.match(
      headers.set.find((h: Any) => h.name === "Strict-Transport-Security").value,
      /max-age=31536000/,
    );
    const rules = spec(r.find("BackendTrafficPolicy", "rate-limit", "golive-prod")).rateLimit.local.rules;
    // The generated drill token (the mocks name it after its resource) lifts the per-client bucket.
    const token = rules[0].clientSelectors[0].headers[0].value;
    assert.match(token, /^mock-drill-token-/);
    assert.deepEqual(rules, [
      {
        clientSelectors: [
          {
            sourceCIDR: { type: "Distinct", value: "0.0.0.0/0" },
            headers: [{ name: "x-golive-drill", type: "Exact", value: token, invert: true }],
          },
        ],
        limit: { requests: 20, unit: "Second" },
      },
      { limit: { requests: 200, unit: "Second" } },
    ]);
  });

  it("Prometheus selects a PodMonitor for the Envoy proxies and may reach their stats port", async () => {
    const r = await renderStack("prod");
    const kps = spec(r.find("Release", "kube-prometheus-stack", "monitoring")).values.prometheus
      .prometheusSpec;
    const pm = r.find("PodMonitor", "envoy-proxy", "envoy-gateway-system");
    assert.ok(selects(kps.podMonitorSelector, pm.metadata.labels));
    assert.deepEqual(spec(pm).podMetricsEndpoints, [{ port: "metrics", path: "/stats/prometheus" }]);
    // The labels Envoy Gateway gives the proxy pods of our Gateway.
    const proxy = {
      namespace: "envoy-gateway-system",
      labels: {
        "app.kubernetes.io/name": "envoy",
        "app.kubernetes.io/component": "proxy",
        "app.kubernetes.io/managed-by": "envoy-gateway",
        "gateway.envoyproxy.io/owning-gateway-name": "golive",
        "gateway.envoyproxy.io/owning-gateway-namespace": "envoy-gateway-system",
      },
      ip: "10.244.1.2",
      ports: { metrics: 19001 },
    };
    assert.ok(selects(spec(pm).selector, proxy.labels));
    const prometheus = {
      namespace: "monitoring",
      labels: { "app.kubernetes.io/name": "prometheus", prometheus: "kube-prometheus-stack-prometheus" },
      ip: "10.244.2.3",
    };
    const policies = r.all("NetworkPolicy") as unknown as NetworkPolicy[];
    const nsLabels = new Map(
      r.all("Namespace").map((n) => [n.metadata.name, { "kubernetes.io/metadata.name": n.metadata.name }]),
    );
    assert.equal(blockedBy(policies, nsLabels, prometheus, proxy, 19001), undefined);
    assert.ok(blockedBy(policies, nsLabels, prometheus, proxy, 19000), "Envoy's admin port stays closed");
  });

  it("the preflight Job template passes its own environment contract, prod alone with live keys", async () => {
    for (const stack of ["local", "staging", "prod"]) {
      const r = await renderStack(stack);
      const cron = r.find("CronJob", "golive-preflight");
      assert.equal(spec(cron).suspend, true, "a template: it never fires on its own");
      assert.equal(spec(cron).jobTemplate.spec.backoffLimit, 0, "a retry would authorize again");
      const container = spec(cron).jobTemplate.spec.template.spec.containers[0];
      // The values a pod would get: secret refs stand for their Secret's key.
      const env = Object.fromEntries(
        container.env.map((e: { name: string; value?: string; valueFrom?: unknown }) => [
          e.name,
          e.value ?? (e.name === "PREFLIGHT_PAYMENTS" ? "{}" : "postgres://from-secret"),
        ]),
      );
      const plan = planFromEnv(env);
      assert.equal(plan.live, stack === "prod");
      assert.equal(plan.publicHost, rawStackConfig(stack).domain);
      assert.match(
        String(plan.tls.address),
        /^golive-edge\.[a-z-]+\.svc\.cluster\.local$/,
        "TLS read from the edge",
      );
      assert.match(String(plan.alertmanager?.url), /alertmanager\..*:9093$/);
      const payments = r.find("Secret", "preflight-payments");
      assert.ok(payments, "payment keys live in a Secret");
      assert.match(r.outputs.preflightTrigger, /create job --from=cronjob\/golive-preflight/);
    }
  });
});
