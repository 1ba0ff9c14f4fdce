// The report as metrics, pushed once over OTLP to the stack's collector,
// which remote-writes them into Prometheus: a Job ends before any scrape,
// and the Preflight dashboard reads the last run from there.
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import type { PreflightReport } from "./report";
import type { CheckStatus } from "./result";

const STATUSES: CheckStatus[] = ["ok", "failed", "skipped"];

/** `endpoint` is the collector's OTLP/HTTP base URL (OTEL_EXPORTER_OTLP_ENDPOINT). */
export async function exportReport(
  report: PreflightReport,
  endpoint: string,
  timeoutMs: number,
): Promise<void> {
  const exporter = new OTLPMetricExporter({
    url: `${endpoint.replace(/\/$/, "")}/v1/metrics`,
    timeoutMillis: timeoutMs,
  });
  // The reader never ticks on its own: forceFlush below is the one export.
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ "service.name": "golive-preflight", "golive.stack": report.stack }),
    readers: [reader],
  });
  const meter = provider.getMeter("golive-preflight");
  // A state set (one series per status, 1 for the current one), so the
  // last run's value of every series is right, not only the latest status.
  const status = meter.createGauge("preflight_check_status", {
    description: "1 for the status the check had in the last preflight run, 0 for the others",
  });
  const latency = meter.createGauge("preflight_check_latency_seconds", {
    description: "How long the check took in the last preflight run",
  });
  const held = meter.createGauge("preflight_money_may_be_held", {
    description: "1 when a payment check authorized money it could not release (or cannot tell)",
  });
  for (const check of report.checks) {
    for (const s of STATUSES) status.record(check.status === s ? 1 : 0, { check: check.name, status: s });
    latency.record(check.latencyMs / 1000, { check: check.name });
    if (check.name.startsWith("payment:")) held.record(check.moneyMayBeHeld ? 1 : 0, { check: check.name });
  }
  meter
    .createGauge("preflight_passed", { description: "1 when the last preflight run passed" })
    .record(report.verdict === "pass" ? 1 : 0);
  meter
    .createGauge("preflight_last_run_timestamp_seconds", {
      description: "When the last preflight run started",
    })
    .record(Date.parse(report.startedAt) / 1000);
  try {
    await provider.forceFlush();
  } finally {
    await provider.shutdown();
  }
}
