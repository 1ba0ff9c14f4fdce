// Grafana dashboards as code. `npx tsx dashboards/build.ts` writes the JSON
// files beside this script; dashboards.test.ts fails when they are out of step.
// Every panel reads the Prometheus datasource through the ${datasource}
// variable (default uid "prometheus") and uses only metric names the services
// export or the recording rules in alerting/rules/ produce.
import { writeFileSync } from "node:fs";
import path from "node:path";

export interface Target {
  expr: string;
  legendFormat: string;
  /** Show the series' exemplars: each dot opens its trace (docs/tracing.md). */
  exemplar?: boolean;
}
interface Panel {
  title: string;
  unit: string;
  targets: Target[];
  kind?: "timeseries" | "stat";
  description?: string;
}
export interface DashboardSpec {
  uid: string;
  title: string;
  tags: string[];
  panels: Panel[];
}

// Grafana expands the dashboard variable, not JavaScript.
const DS = { type: "prometheus", uid: ["$", "{datasource}"].join("") };
const t = (expr: string, legendFormat: string): Target => ({ expr, legendFormat });

/** How a kind of server reports its requests: what its RED panels read. */
interface ServerMetrics {
  throughput: { title: string; by: string; counter: string; legend: string };
  errorsTitle: string;
  latency: { title: string; recorded: string; histogram: string; exclude: string };
}

/** A gRPC server (grpc_server_* from our instrumentation); streams are left out of latency. */
export const GRPC_SERVER: ServerMetrics = {
  throughput: {
    title: "Throughput by method (req/s)",
    by: "grpc_method",
    counter: "grpc_server_handled_total",
    legend: "{{grpc_method}}",
  },
  errorsTitle: "Error ratio (server-fault codes)",
  latency: {
    title: "Latency, unary calls",
    recorded: "grpc_server_handling_seconds",
    histogram: "grpc_server_handling_seconds_bucket",
    exclude: 'grpc_method!="StreamMessages"',
  },
};

/** An HTTP server (http_requests_total, http_request_duration_seconds); WebSocket upgrades left out of latency. */
export const HTTP_SERVER: ServerMetrics = {
  throughput: {
    title: "Throughput by route (req/s)",
    by: "route, method",
    counter: "http_requests_total",
    legend: "{{method}} {{route}}",
  },
  errorsTitle: "Error ratio (HTTP 5xx)",
  latency: {
    title: "Latency (WebSocket upgrades excluded)",
    recorded: "http_request_duration_seconds",
    histogram: "http_request_duration_seconds_bucket",
    exclude: 'route!="/v1/messages"',
  },
};

/**
 * A service not built here that reports the OpenTelemetry HTTP server
 * metric (http.server.request.duration, in seconds) the way Go's otelhttp
 * and Python's OpenTelemetry instrumentations export it to Prometheus.
 */
export const OTEL_HTTP_SERVER: ServerMetrics = {
  throughput: {
    title: "Throughput by route (req/s)",
    by: "http_route, http_request_method",
    counter: "http_server_request_duration_seconds_count",
    legend: "{{http_request_method}} {{http_route}}",
  },
  errorsTitle: "Error ratio (HTTP 5xx)",
  latency: {
    title: "Latency",
    recorded: "http_server_request_duration_seconds",
    histogram: "http_server_request_duration_seconds_bucket",
    exclude: 'http_request_method!=""',
  },
};

/** Rate, errors and duration of one service's requests, with the exemplars that open their traces. */
export function serverPanels(job: string, m: ServerMetrics): Panel[] {
  const sel = `job="${job}"`;
  return [
    {
      title: m.throughput.title,
      unit: "reqps",
      targets: [
        t(`sum by (${m.throughput.by}) (rate(${m.throughput.counter}{${sel}}[2m]))`, m.throughput.legend),
      ],
    },
    {
      title: m.errorsTitle,
      unit: "percentunit",
      targets: [
        t(`job:request_errors:ratio_rate2m{${sel}}`, "2m"),
        t(`job:request_errors:ratio_rate1h{${sel}}`, "1h"),
      ],
    },
    {
      title: m.latency.title,
      unit: "s",
      targets: ["p50", "p95", "p99"].map((q) => t(`job:${m.latency.recorded}:${q}_5m{${sel}}`, q)),
    },
    {
      title: "Traces behind the latency (exemplars: click a dot)",
      unit: "s",
      description: `p95 from the raw histogram, with the trace ids the ${job} keeps per bucket; a dot opens its trace in Jaeger.`,
      targets: [
        {
          ...t(
            `histogram_quantile(0.95, sum by (le) (rate(${m.latency.histogram}{${sel}, ${m.latency.exclude}}[5m])))`,
            "p95",
          ),
          exemplar: true,
        },
      ],
    },
  ];
}

export const feedDashboard: DashboardSpec = {
  uid: "golive-feed",
  title: "Feed service",
  tags: ["golive", "feed"],
  panels: [
    ...serverPanels("feed", GRPC_SERVER),
    {
      title: "Slow feed reads (> 50 ms), latency SLO",
      unit: "percentunit",
      targets: [t('job:feed_read_latency_slo_errors:ratio_rate5m{job="feed"}', "5m")],
    },
    {
      title: "Calls by code (req/s)",
      unit: "reqps",
      targets: [t('sum by (grpc_code) (rate(grpc_server_handled_total{job="feed"}[2m]))', "{{grpc_code}}")],
    },
    {
      title: "Like queue depth",
      unit: "short",
      targets: [t('max(feed_like_queue_depth{job="feed"})', "pending likes")],
    },
    {
      title: "Database pool connections",
      unit: "short",
      targets: [t('sum by (state) (feed_db_pool_connections{job="feed"})', "{{state}}")],
    },
    {
      title: "Database up",
      unit: "short",
      kind: "stat",
      targets: [t('min(feed_db_up{job="feed"})', "db up")],
    },
    {
      title: "Open message streams",
      unit: "short",
      targets: [t('sum(feed_message_streams_open{job="feed"})', "streams")],
    },
    {
      title: "SQL time by statement, p95 (traces: the Jaeger datasource)",
      unit: "s",
      description:
        "Each named statement's p95. A slow one is found in Jaeger (Explore > Jaeger, service feed): its pg spans carry the same name.",
      targets: [
        t(
          'histogram_quantile(0.95, sum by (statement, le) (rate(feed_db_query_duration_seconds_bucket{job="feed"}[5m])))',
          "{{statement}}",
        ),
      ],
    },
    ...runtimePanels("feed"),
  ],
};

export const gatewayDashboard: DashboardSpec = {
  uid: "golive-gateway",
  title: "Gateway",
  tags: ["golive", "gateway"],
  panels: [
    ...serverPanels("gateway", HTTP_SERVER),
    {
      title: "Responses by status (req/s)",
      unit: "reqps",
      targets: [t('sum by (status_code) (rate(http_requests_total{job="gateway"}[2m]))', "{{status_code}}")],
    },
    {
      title: "Feed circuit breaker (0 closed, 1 half-open, 2 open)",
      unit: "short",
      targets: [t('max by (breaker) (gateway_circuit_breaker_state{job="gateway"})', "{{breaker}}")],
    },
    {
      title: "Feed retries and stale pages (per s)",
      unit: "ops",
      targets: [
        t('sum by (method) (rate(gateway_feed_retries_total{job="gateway"}[5m]))', "retries {{method}}"),
        t('sum(rate(gateway_feed_stale_responses_total{job="gateway"}[5m]))', "stale pages"),
      ],
    },
    {
      title: "WebSocket connections",
      unit: "short",
      targets: [t('sum(gateway_websocket_connections{job="gateway"})', "connections")],
    },
    ...runtimePanels("gateway"),
  ],
};

function runtimePanels(job: string): Panel[] {
  return [
    {
      title: "Event loop lag p99",
      unit: "s",
      targets: [t(`max by (instance) (nodejs_eventloop_lag_p99_seconds{job="${job}"})`, "{{instance}}")],
    },
    {
      title: "CPU (cores)",
      unit: "short",
      targets: [t(`sum by (instance) (rate(process_cpu_seconds_total{job="${job}"}[2m]))`, "{{instance}}")],
    },
    {
      title: "Memory (resident, heap used)",
      unit: "bytes",
      targets: [
        t(`sum by (instance) (process_resident_memory_bytes{job="${job}"})`, "rss {{instance}}"),
        t(`sum by (instance) (nodejs_heap_size_used_bytes{job="${job}"})`, "heap {{instance}}"),
      ],
    },
    { title: "Targets up", unit: "short", kind: "stat", targets: [t(`sum(up{job="${job}"})`, "up")] },
  ];
}

/** What every Prometheus client library exports, Go's and Python's included. */
function processPanels(job: string): Panel[] {
  return [
    {
      title: "CPU (cores)",
      unit: "short",
      targets: [t(`sum by (instance) (rate(process_cpu_seconds_total{job="${job}"}[2m]))`, "{{instance}}")],
    },
    {
      title: "Memory (resident)",
      unit: "bytes",
      targets: [t(`sum by (instance) (process_resident_memory_bytes{job="${job}"})`, "{{instance}}")],
    },
    { title: "Targets up", unit: "short", kind: "stat", targets: [t(`sum(up{job="${job}"})`, "up")] },
  ];
}

/** The standard dashboard of a service not built here (app descriptor `otelHttpMetrics`). */
export function otelHttpDashboard(job: string): DashboardSpec {
  return {
    uid: `golive-${job}`,
    title: `${job} (OpenTelemetry HTTP)`,
    tags: ["golive", job],
    panels: [
      ...serverPanels(job, OTEL_HTTP_SERVER),
      {
        title: "Responses by status (req/s)",
        unit: "reqps",
        targets: [
          t(
            `sum by (http_response_status_code) (rate(http_server_request_duration_seconds_count{job="${job}"}[2m]))`,
            "{{http_response_status_code}}",
          ),
        ],
      },
      ...processPanels(job),
    ],
  };
}

/** The WAF service (apps/waf-authz, golive:waf.engine ext-authz): its verdicts and the time it adds. */
export function wafAuthzDashboard(job: string): DashboardSpec {
  const q = (p: string) =>
    t(
      `histogram_quantile(${p}, sum by (le) (rate(golive_waf_check_duration_seconds_bucket{job="${job}"}[5m])))`,
      `p${Number(p) * 100}`,
    );
  return {
    uid: `golive-${job}`,
    title: "WAF service (ext_authz)",
    tags: ["golive", job, "waf"],
    panels: [
      {
        title: "Verdicts (req/s)",
        unit: "reqps",
        description: "blocked: refused before the gateway; would_block: what detection mode lets through",
        targets: [t(`sum by (decision) (rate(golive_waf_checks_total{job="${job}"}[2m]))`, "{{decision}}")],
      },
      {
        title: "Blocked share",
        unit: "percentunit",
        targets: [
          t(
            `sum(rate(golive_waf_checks_total{job="${job}",decision="blocked"}[5m])) / sum(rate(golive_waf_checks_total{job="${job}"}[5m]))`,
            "blocked",
          ),
        ],
      },
      {
        title: "Time per request (added before the upstream)",
        unit: "s",
        description: "WafServiceSlow fires at p95 > 25 ms for 10 minutes",
        targets: [q("0.5"), q("0.95"), q("0.99")],
      },
      ...processPanels(job),
    ],
  };
}

// k6's experimental-prometheus-rw output (k6 v2.2.0, internal/output/prometheusrw):
// counters become k6_<name>_total, rates k6_<name>_rate, gauges k6_<name>, and
// trends gauges k6_<name>_<stat> in seconds for the stats listed in
// K6_PROMETHEUS_RW_TREND_STATS (default only p(99); the drill sets
// "p(95),p(99),med" so p95 and the median exist).
export const drillDashboard: DashboardSpec = {
  uid: "golive-drill",
  title: "Go-live drill (k6)",
  tags: ["golive", "k6"],
  panels: [
    { title: "Virtual users", unit: "short", targets: [t("sum(k6_vus)", "VUs")] },
    {
      title: "HTTP requests (req/s)",
      unit: "reqps",
      targets: [t("sum by (scenario) (rate(k6_http_reqs_total[1m]))", "{{scenario}}")],
    },
    {
      title: "HTTP failed requests",
      unit: "percentunit",
      description: "Threshold from the ErrorRate alert: under 1 %.",
      targets: [t("max by (scenario) (k6_http_req_failed_rate)", "{{scenario}}")],
    },
    {
      title: "HTTP request duration",
      unit: "s",
      description: "Threshold from the HighLatency alert: p95 under 50 ms.",
      targets: [
        t("max by (scenario) (k6_http_req_duration_p95)", "p95 {{scenario}}"),
        t("max by (scenario) (k6_http_req_duration_p99)", "p99 {{scenario}}"),
      ],
    },
    {
      title: "gRPC request duration",
      unit: "s",
      targets: [
        t("max by (scenario) (k6_grpc_req_duration_p95)", "p95 {{scenario}}"),
        t("max by (scenario) (k6_grpc_req_duration_p99)", "p99 {{scenario}}"),
      ],
    },
    {
      title: "Checks passing",
      unit: "percentunit",
      targets: [t("max by (scenario) (k6_checks_rate)", "{{scenario}}")],
    },
    {
      title: "Iterations (per s)",
      unit: "ops",
      targets: [t("sum(rate(k6_iterations_total[1m]))", "iterations")],
    },
    {
      title: "Service side during the drill: error ratio",
      unit: "percentunit",
      targets: [t("job:request_errors:ratio_rate2m", "{{job}}")],
    },
    {
      title: "Service side during the drill: feed p95",
      unit: "s",
      targets: [t('job:grpc_server_handling_seconds:p95_5m{job="feed"}', "feed p95")],
    },
  ],
};

/** The tracing pipeline (infra/components/tracing.ts): the collector's own metrics. */
export const tracingDashboard: DashboardSpec = {
  uid: "golive-tracing",
  title: "Tracing pipeline",
  tags: ["golive", "tracing"],
  panels: [
    {
      title: "Spans in: accepted and refused (per s)",
      unit: "short",
      targets: [
        t("sum(rate(otelcol_receiver_accepted_spans[2m]))", "accepted"),
        t("sum(rate(otelcol_receiver_refused_spans[2m]))", "refused"),
      ],
    },
    {
      title: "Spans out to Jaeger: sent and failed (per s)",
      unit: "short",
      targets: [
        t("sum by (exporter) (rate(otelcol_exporter_sent_spans[2m]))", "sent {{exporter}}"),
        t("sum by (exporter) (rate(otelcol_exporter_send_failed_spans[2m]))", "failed {{exporter}}"),
      ],
    },
    {
      title: "Tail sampling: traces decided (per s)",
      unit: "short",
      description: "sampled=true: kept (an error, slower than the SLO, or within the kept share).",
      targets: [
        t(
          "sum by (sampled) (rate(otelcol_processor_tail_sampling_global_count_traces_sampled[2m]))",
          "sampled={{sampled}}",
        ),
        t(
          "sum(rate(otelcol_processor_tail_sampling_sampling_trace_dropped_too_early[2m]))",
          "dropped too early",
        ),
      ],
    },
    {
      title: "Export queue fill",
      unit: "percentunit",
      targets: [
        t(
          "max by (exporter) (otelcol_exporter_queue_size / otelcol_exporter_queue_capacity)",
          "{{exporter}}",
        ),
      ],
    },
  ],
};

/**
 * The last go-live preflight (apps/preflight, pushed through the collector
 * by each run): its verdict, each check's status, held money, latencies.
 * Runs are rare, so every panel reads the last value within 30 days.
 */
export const preflightDashboard: DashboardSpec = {
  uid: "golive-preflight",
  title: "Go-live preflight",
  tags: ["golive", "preflight"],
  panels: [
    {
      title: "Last run passed (1) or failed (0)",
      unit: "short",
      kind: "stat",
      targets: [t("last_over_time(preflight_passed[30d])", "passed")],
    },
    {
      title: "Last run",
      unit: "dateTimeFromNow",
      kind: "stat",
      targets: [t("last_over_time(preflight_last_run_timestamp_seconds[30d]) * 1000", "started")],
    },
    {
      title: "Status of each check in the last run",
      unit: "short",
      kind: "stat",
      description: "ok, failed or skipped (no key configured, or nothing to check): the lines of the report.",
      targets: [
        t(
          "max by (check, status) (last_over_time(preflight_check_status[30d])) == 1",
          "{{check}}: {{status}}",
        ),
      ],
    },
    {
      title: "Money may be held",
      unit: "short",
      kind: "stat",
      description:
        "1: the processor authorized and the void failed (or the answer never came). Release it in the processor's dashboard (docs/runbooks/preflight.md).",
      targets: [t("max by (check) (last_over_time(preflight_money_may_be_held[30d]))", "{{check}}")],
    },
    {
      title: "Check latency in the last run",
      unit: "s",
      targets: [t("max by (check) (last_over_time(preflight_check_latency_seconds[30d]))", "{{check}}")],
    },
  ],
};

export const dashboards = [
  feedDashboard,
  gatewayDashboard,
  drillDashboard,
  tracingDashboard,
  preflightDashboard,
];

export function renderDashboard(spec: DashboardSpec): Record<string, unknown> {
  return {
    uid: spec.uid,
    title: spec.title,
    tags: spec.tags,
    timezone: "browser",
    schemaVersion: 39,
    version: 1,
    editable: false,
    refresh: "30s",
    time: { from: "now-1h", to: "now" },
    templating: {
      list: [
        {
          name: "datasource",
          label: "Prometheus",
          type: "datasource",
          query: "prometheus",
          current: { text: "Prometheus", value: "prometheus" },
          hide: 0,
        },
      ],
    },
    panels: spec.panels.map((p, i) => ({
      id: i + 1,
      type: p.kind ?? "timeseries",
      title: p.title,
      ...(p.description ? { description: p.description } : {}),
      datasource: DS,
      gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
      fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
      targets: p.targets.map((target, j) => ({
        refId: String.fromCharCode(65 + j),
        datasource: DS,
        expr: target.expr,
        legendFormat: target.legendFormat,
        ...(target.exemplar ? { exemplar: true } : {}),
      })),
    })),
  };
}

export function dashboardFiles(): Record<string, string> {
  return Object.fromEntries(
    dashboards.map((d) => [
      `${d.uid.replace(/^golive-/, "")}.json`,
      `${JSON.stringify(renderDashboard(d), null, 2)}\n`,
    ]),
  );
}

if (require.main === module) {
  for (const [name, body] of Object.entries(dashboardFiles()))
    writeFileSync(path.join(__dirname, name), body);
}
