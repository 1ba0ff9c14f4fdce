// Label conventions shared by workloads, selectors and NetworkPolicies, so a
// policy that means "the feed pods" selects exactly what the Deployment labels.
export const PART_OF = "golive";

export function appLabels(name: string): Record<string, string> {
  return { "app.kubernetes.io/name": name, "app.kubernetes.io/part-of": PART_OF };
}

/** Label on ServiceMonitors and PrometheusRules that our Prometheus selects. */
export const PROMETHEUS_SELECTOR = { "golive.dev/prometheus": "main" } as const;

/** The ops port every service serves /metrics and /health/* on (the apps' contract). */
export { OPS_PORT } from "@golive/shared/contract";
