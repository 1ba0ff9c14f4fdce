// The dead-alert audit's own logic, on small inputs: which component each
// alert's series come from (recording rules resolved), and when a
// ServiceMonitor's drop relabeling makes an alert's series vanish.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { alerts } from "./support/applied-stack";
import { alertSources, droppedAlertSeries, type ScrapeTarget } from "./support/cluster-audit";

const rules = [
  {
    record: "job:mem:ratio",
    expr: "container_memory_working_set_bytes / kube_pod_container_resource_limits",
  },
  { alert: "HighMemory", expr: "job:mem:ratio > 0.85" },
  { alert: "ServiceDown", expr: 'absent(up{job="feed"})' },
];

const target = (component: string, drops: string[]): ScrapeTarget => ({
  monitor: `m/${component}`,
  component,
  port: "metrics",
  pods: 1,
  status: "ok",
  drops,
});

describe("alert sources", () => {
  it("resolves recording rules to the exporters of their inputs", () => {
    const [memory, down] = alertSources(rules);
    assert.deepEqual(memory?.sources, ["kube-state-metrics", "kubelet"]);
    assert.deepEqual(down?.sources, ["feed"]);
  });

  it("every committed alert's series have a known exporter (a service not built here owes one only when listed)", () => {
    const unknown = alerts.flatMap((a) => a.sources.filter((src) => src.startsWith("unknown source")));
    assert.deepEqual(unknown, []);
    const errorRate = alerts.find((a) => a.alert === "ErrorRate");
    assert.ok(errorRate?.series.every((s) => !s.metric.startsWith("http_server_request_duration")));
  });

  it("flags a series only when every target of its component drops it", () => {
    const alerts = alertSources(rules);
    const ksm = target("kube-state-metrics", []);
    assert.deepEqual(droppedAlertSeries(alerts, [ksm, target("kubelet", ["container_cpu_.*"])]), []);
    assert.deepEqual(
      droppedAlertSeries(alerts, [
        ksm,
        target("kubelet", ["container_memory_(working_set|rss)_bytes"]),
        target("kubelet", ["container_memory_.*"]),
      ]),
      ["HighMemory: container_memory_working_set_bytes is dropped at every kubelet target"],
    );
    assert.deepEqual(
      droppedAlertSeries(alerts, [ksm, target("kubelet", ["container_memory_.*"]), target("kubelet", [])]),
      [],
    );
  });
});
