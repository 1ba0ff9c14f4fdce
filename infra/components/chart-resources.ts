// Requests and limits for every container the charts run: one place to size
// the platform. A container without them is scheduled blind and can starve
// its node; the real-engine test fails on any pod of ours that lacks them.
import type * as k8s from "@pulumi/kubernetes";

type Resources = k8s.types.input.core.v1.ResourceRequirements;

const sized = (cpu: string, memory: string, cpuLimit: string, memoryLimit: string): Resources => ({
  requests: { cpu, memory },
  limits: { cpu: cpuLimit, memory: memoryLimit },
});

export const CHART_RESOURCES = {
  prometheus: sized("250m", "1Gi", "2", "4Gi"),
  alertmanager: sized("25m", "64Mi", "200m", "256Mi"),
  prometheusOperator: sized("50m", "64Mi", "300m", "256Mi"),
  kubeStateMetrics: sized("25m", "64Mi", "200m", "256Mi"),
  grafana: sized("50m", "128Mi", "500m", "512Mi"),
  /** Each of Grafana's and Loki's config sidecars. */
  sidecar: sized("10m", "32Mi", "100m", "128Mi"),
  loki: sized("100m", "256Mi", "1", "1Gi"),
  alloy: sized("50m", "128Mi", "500m", "512Mi"),
  configReloader: sized("10m", "50Mi", "100m", "128Mi"),
  certManager: sized("25m", "64Mi", "200m", "256Mi"),
  envoyGateway: sized("100m", "256Mi", "1", "1Gi"),
  /** The Envoy proxies Envoy Gateway runs for our Gateway (the WAF's Wasm runs inside them). */
  envoyProxy: sized("200m", "256Mi", "2", "1Gi"),
  otelCollector: sized("100m", "256Mi", "1", "512Mi"),
  /** Jaeger all-in-one with in-memory storage: the limit bounds tracing.maxTraces. */
  jaeger: sized("100m", "512Mi", "1", "2Gi"),
  /** Short-lived hook Jobs (certificate generation, CRD checks). */
  hookJob: sized("10m", "32Mi", "200m", "128Mi"),
} as const;
