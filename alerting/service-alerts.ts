// The alerts every service of the app list gets (RED plus saturation), with
// its job label filled in: errors, targets down, no instance at all, crash
// loops, a saturated event loop, and the availability SLO's burn rates.
// They read the per-job recording rules (alerting/rules/recording.yaml,
// slo-recording.yaml), which cover any job that exports gRPC or HTTP server
// metrics. A service's own alerts live in its folder (the descriptor's
// `rules`); infra wraps both in one PrometheusRule per service.
import type { RuleGroup } from "./rule-files";

/** Availability SLO: 99.9 % of requests succeed over 30 days (docs/alerting.md). */
const BUDGET = 0.001;

const burn = (job: string, long: string, short: string, factor: number) => {
  const threshold = factor === 1 ? `${BUDGET}` : `(${factor} * ${BUDGET})`;
  return `job:request_errors:ratio_rate${long}{job="${job}"} > ${threshold}
    and job:request_errors:ratio_rate${short}{job="${job}"} > ${threshold}`;
};

export function serviceAlertGroup(job: string): RuleGroup {
  const labels = (severity: string, extra: Record<string, string> = {}) => ({
    severity,
    service: job,
    ...extra,
  });
  return {
    name: `golive-service-${job}.alerts`,
    rules: [
      {
        alert: "ErrorRate",
        expr: `job:request_errors:ratio_rate2m{job="${job}"} > 0.01`,
        for: "1m",
        labels: labels("critical"),
        annotations: {
          summary: "{{ $labels.job }} fails more than 1 % of requests",
          description:
            "{{ $value | humanizePercentage }} of {{ $labels.job }} requests in namespace {{ $labels.namespace }} failed by server fault (gRPC UNKNOWN, INTERNAL, UNAVAILABLE, DATA_LOSS, DEADLINE_EXCEEDED; HTTP 5xx) over the last 2 minutes, for at least 1 minute.",
          runbook_url: "docs/runbooks/error-rate.md",
        },
      },
      {
        alert: "TargetDown",
        expr: `100 * count by (namespace, job) (up{job="${job}"} == 0) / count by (namespace, job) (up{job="${job}"}) > 10`,
        for: "10m",
        labels: labels("warning"),
        annotations: {
          summary: "{{ $value | humanize }}% of {{ $labels.job }} scrape targets are down",
          description:
            "Prometheus has failed to scrape {{ $value | humanize }}% of the {{ $labels.job }} targets in namespace {{ $labels.namespace }} for 10 minutes.",
          runbook_url: "docs/runbooks/target-down.md",
        },
      },
      {
        alert: "ServiceDown",
        // absent() covers no target left to scrape at all (scaled to zero or deleted).
        expr: `sum by (namespace, job) (up{job="${job}"}) == 0 or absent(up{job="${job}"})`,
        for: "2m",
        labels: labels("critical"),
        annotations: {
          summary: "No {{ $labels.job }} instance is up",
          description:
            "Every {{ $labels.job }} target in namespace {{ $labels.namespace }} has been down, or missing, for 2 minutes.",
          runbook_url: "docs/runbooks/service-down.md",
        },
      },
      {
        alert: "PodCrashLooping",
        // The container is named after the app (components/workload.ts).
        expr: `sum by (namespace, pod, container) (increase(kube_pod_container_status_restarts_total{container="${job}"}[15m])) >= 3`,
        for: "5m",
        labels: labels("warning"),
        annotations: {
          summary: "{{ $labels.pod }} restarts repeatedly",
          description:
            "Container {{ $labels.container }} of pod {{ $labels.namespace }}/{{ $labels.pod }} restarted {{ $value | humanize }} times in the last 15 minutes.",
          runbook_url: "docs/runbooks/pod-crash-looping.md",
        },
      },
      {
        alert: "HighCPU",
        // Node.js runs JavaScript on one thread: near one core means the event
        // loop, not the CPU limit, is what saturates first.
        expr: `sum by (namespace, job, instance) (rate(process_cpu_seconds_total{job="${job}"}[5m])) > 0.9`,
        for: "15m",
        labels: labels("warning"),
        annotations: {
          summary: "{{ $labels.instance }} ({{ $labels.job }}) uses more than 0.9 CPU cores",
          description:
            '{{ $labels.job }} instance {{ $labels.instance }} in namespace {{ $labels.namespace }} has used {{ printf "%.2f" $value }} CPU cores for 15 minutes; its event loop is saturated.',
          runbook_url: "docs/runbooks/high-cpu.md",
        },
      },
      // Multiwindow, multi-burn-rate (Google SRE workbook, chapter 5). Page:
      // 14.4x over 1h and 5m, or 6x over 6h and 30m. Ticket: 3x over 1d and
      // 2h, or 1x over 3d and 6h. One alertname, so the page inhibits the ticket.
      {
        alert: "AvailabilityBudgetBurn",
        expr: `(${burn(job, "1h", "5m", 14.4)})\nor\n(${burn(job, "6h", "30m", 6)})`,
        for: "2m",
        labels: labels("critical", { slo: "availability" }),
        annotations: {
          summary: "{{ $labels.job }} is burning its availability error budget fast",
          description:
            "{{ $labels.job }} in namespace {{ $labels.namespace }} fails {{ $value | humanizePercentage }} of requests; at this rate the 30-day 99.9 % availability budget is gone in under 5 days.",
          runbook_url: "docs/runbooks/availability-budget-burn.md",
        },
      },
      {
        alert: "AvailabilityBudgetBurn",
        expr: `(${burn(job, "1d", "2h", 3)})\nor\n(${burn(job, "3d", "6h", 1)})`,
        for: "15m",
        labels: labels("warning", { slo: "availability" }),
        annotations: {
          summary: "{{ $labels.job }} is burning its availability error budget",
          description:
            "{{ $labels.job }} in namespace {{ $labels.namespace }} fails {{ $value | humanizePercentage }} of requests, more than the 99.9 % availability SLO allows over 30 days.",
          runbook_url: "docs/runbooks/availability-budget-burn.md",
        },
      },
    ],
  };
}
