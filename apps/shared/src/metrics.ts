// What every service's metrics share: one latency bucket layout (the alert
// thresholds, 50 ms among them, fall on bucket edges) and a per-instance
// registry with the default process metrics, so tests can run several
// instances in one process.
import { collectDefaultMetrics, Registry } from "prom-client";

export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export function createServiceRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}
