// A service this repository does not build (Go, Python) is one descriptor:
// its image, ports, probes, peers and metrics port give it a Deployment, a
// Service, a ServiceMonitor, NetworkPolicies, the standard alerts and a
// dashboard on the OpenTelemetry HTTP server metric; nothing of ours builds
// it. Its alerts fire under the real promtool on series shaped like those
// Go's otelhttp and Python's OpenTelemetry instrumentations export.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { promisify } from "node:util";
import YAML from "yaml";
import { RULES_DIR } from "../../alerting/rule-files";
import { serviceAlertGroup } from "../../alerting/service-alerts";
import { appsMatrix } from "../../scripts/apps-matrix";
import { expectedDockerfiles } from "../../scripts/dockerfiles";
import { APPS } from "../apps";
import { parseStackConfig } from "../config";
import { runWithMocks, toObjects } from "../render/mock-runtime";
import { goLiveStack } from "../stack";
import { rawConfig, readStackFile } from "../stack-files";
import { recommenderApp } from "./fixtures/recommender-app";

type Any = Record<string, any>;
const WITH: typeof APPS = [...APPS, recommenderApp];
const IMAGE = `ghcr.io/example/recommender@sha256:${"a".repeat(64)}`;

async function render() {
  const { config } = readStackFile("prod");
  const raw = rawConfig(config) as Record<string, Any>;
  raw.images = { ...raw.images, recommender: IMAGE };
  raw.replicas = { ...raw.replicas, recommender: { min: 2, max: 4 } };
  raw.resources = {
    ...raw.resources,
    recommender: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
  };
  const cfg = parseStackConfig(raw, new Set(), WITH);
  const { resources } = await runWithMocks("prod", config, () => goLiveStack(cfg, WITH));
  const objects = toObjects(resources);
  return (kind: string, name: string) =>
    objects.find((o) => o.kind === kind && o.metadata.name === name) as Any;
}

describe("bring your own service: one descriptor, image only", () => {
  it("gets a Deployment on its image and probes, a Service, a ServiceMonitor on its metrics port, policies, alerts and a dashboard", async () => {
    const find = await render();
    const dep = find("Deployment", "recommender");
    const c = dep.spec.template.spec.containers[0];
    assert.equal(c.image, IMAGE);
    assert.deepEqual(
      c.ports.map((p: Any) => [p.name, p.containerPort]),
      [
        ["http", 8080],
        ["metrics", 9090],
      ],
    );
    assert.deepEqual(c.readinessProbe.httpGet, { path: "/readyz", port: "http" });
    assert.deepEqual(c.livenessProbe.httpGet, { path: "/healthz", port: "http" });
    const env = Object.fromEntries(c.env.map((e: Any) => [e.name, e.value]));
    assert.equal(env.FEED_ADDRESS, "dns:///feed-grpc.golive-prod.svc.cluster.local:50051");
    // The standard OpenTelemetry variables its SDK reads: spans reach the collector.
    assert.match(env.OTEL_EXPORTER_OTLP_ENDPOINT, /^http:\/\/.+:4318$/);
    assert.ok(env.OTEL_TRACES_SAMPLER_ARG);
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.deepEqual(c.securityContext.capabilities, { drop: ["ALL"] });
    assert.equal(dep.spec.template.spec.securityContext.runAsNonRoot, true);

    const svc = find("Service", "recommender");
    assert.ok(svc.spec.ports.some((p: Any) => p.name === "metrics" && p.port === 9090));
    const monitor = find("ServiceMonitor", "recommender");
    assert.deepEqual(
      [monitor.spec.endpoints[0].port, monitor.spec.endpoints[0].path],
      ["metrics", "/metrics"],
    );
    // Prometheus reaches its metrics port; the feed admits it; it may reach the feed.
    const ingress = find("NetworkPolicy", "recommender-ingress");
    assert.deepEqual(ingress.spec.ingress.at(-1).ports, [{ protocol: "TCP", port: 9090 }]);
    const feedIngress = find("NetworkPolicy", "feed-ingress");
    assert.ok(
      feedIngress.spec.ingress[0].from.some(
        (p: Any) => p.podSelector?.matchLabels["app.kubernetes.io/name"] === "recommender",
      ),
    );
    const egress = find("NetworkPolicy", "recommender-egress");
    assert.ok(egress.spec.egress.some((r: Any) => r.ports?.[0]?.port === 50051));

    const rules = find("PrometheusRule", "golive-service-recommender");
    const alerts = rules.spec.groups.flatMap((g: Any) => g.rules).map((r: Any) => r.alert);
    for (const name of ["ErrorRate", "TargetDown", "ServiceDown", "AvailabilityBudgetBurn"]) {
      assert.ok(alerts.includes(name), name);
    }
    const dashboard = find("ConfigMap", "dashboard-recommender");
    const json = JSON.parse(Object.values(dashboard.data as Record<string, string>)[0] as string);
    const exprs = json.panels.flatMap((p: Any) => p.targets.map((t: Any) => t.expr)).join("\n");
    assert.match(exprs, /http_server_request_duration_seconds_count\{job="recommender"\}/);
    assert.match(exprs, /job:http_server_request_duration_seconds:p95_5m\{job="recommender"\}/);
  });

  it("nothing of ours builds it: no Dockerfile, no image job", () => {
    assert.ok(!expectedDockerfiles(WITH).some((d) => d.file.includes("recommender")));
    assert.ok(!appsMatrix(WITH).include.some((a) => a.name === "recommender"));
  });

  describe("its alerts under promtool, on series shaped like the OpenTelemetry instrumentations'", () => {
    const scratch = mkdtempSync(path.join(tmpdir(), "golive-byo-"));
    after(() => rmSync(scratch, { recursive: true, force: true }));

    // Go's otelhttp and Python's instrumentations (e.g. opentelemetry-instrumentation-flask)
    // export http.server.request.duration in seconds; through the Prometheus exporter
    // its histogram's count is http_server_request_duration_seconds_count.
    const series = (job: string, scope: string, status: string, perMinute: number) => ({
      series: `http_server_request_duration_seconds_count{namespace="golive-prod",job="${job}",otel_scope_name="${scope}",http_request_method="GET",http_route="/recs",http_response_status_code="${status}",network_protocol_version="1.1",url_scheme="http"}`,
      values: `0+${perMinute}x30`,
    });
    const GO = "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp";
    const PY = "opentelemetry.instrumentation.flask";

    it("ErrorRate fires for a Go service failing 5 % and a Python one failing 3 %, and stays quiet at 0.5 %", async () => {
      const jobs = ["recommender", "scorer", "healthy"];
      writeFileSync(
        path.join(scratch, "alerts.yaml"),
        YAML.stringify({ groups: jobs.map(serviceAlertGroup) }),
      );
      const up = (job: string) => ({
        series: `up{namespace="golive-prod",job="${job}",instance="${job}-0"}`,
        values: "1x30",
      });
      const spec = {
        rule_files: [
          path.join(RULES_DIR, "recording.yaml"),
          path.join(RULES_DIR, "slo-recording.yaml"),
          path.join(scratch, "alerts.yaml"),
        ],
        evaluation_interval: "1m",
        group_eval_order: [
          "golive-requests.rules",
          "golive-slo.rules",
          ...jobs.map((j) => `golive-service-${j}.alerts`),
        ],
        tests: [
          {
            interval: "1m",
            input_series: [
              series("recommender", GO, "200", 950),
              series("recommender", GO, "500", 50),
              series("scorer", PY, "200", 970),
              series("scorer", PY, "503", 30),
              series("healthy", GO, "200", 995),
              series("healthy", GO, "500", 5),
              series("healthy", GO, "404", 100),
              ...jobs.map(up),
            ],
            alert_rule_test: [
              {
                eval_time: "5m",
                alertname: "ErrorRate",
                exp_alerts: [
                  {
                    exp_labels: {
                      severity: "critical",
                      service: "recommender",
                      job: "recommender",
                      namespace: "golive-prod",
                    },
                    exp_annotations: expect("recommender", "5%"),
                  },
                  {
                    exp_labels: {
                      severity: "critical",
                      service: "scorer",
                      job: "scorer",
                      namespace: "golive-prod",
                    },
                    exp_annotations: expect("scorer", "3%"),
                  },
                ],
              },
            ],
          },
        ],
      };
      const file = path.join(scratch, "byo.test.yaml");
      writeFileSync(file, YAML.stringify(spec));
      const { stdout, stderr } = await promisify(execFile)("promtool", ["test", "rules", file]).catch(
        (err: { stdout: string; stderr: string }) => assert.fail(`${err.stdout}${err.stderr}`),
      );
      assert.match(stdout + stderr, /SUCCESS/);
    });
  });
});

/** The ErrorRate annotations as the standard group writes them (alerting/service-alerts.ts). */
function expect(job: string, percent: string) {
  const rule = serviceAlertGroup(job).rules.find((r) => r.alert === "ErrorRate");
  const a = rule?.annotations ?? {};
  return {
    summary: String(a.summary).replace("{{ $labels.job }}", job),
    description: String(a.description)
      .replace("{{ $value | humanizePercentage }}", percent)
      .replace("{{ $labels.job }}", job)
      .replace("{{ $labels.namespace }}", "golive-prod"),
    runbook_url: String(a.runbook_url),
  };
}
