// Metrics, alerts, dashboards, synthetic probes, traces and logs: the
// Prometheus stack, the blackbox prober, the collector with Jaeger, and Loki
// with its shipper.
import path from "node:path";
import { preflightApp } from "@golive/preflight/app";
import { servicesOf } from "../apps";
import { appLabels } from "../components/labels";
import { LOADTEST_LABELS } from "../components/loadtest";
import { Logging, lokiUrl } from "../components/logging";
import { Monitoring, prometheusRemoteWriteUrl } from "../components/monitoring";
import { podsIn } from "../components/network";
import { Synthetic } from "../components/synthetic";
import { jaegerQueryUrl, Tracing } from "../components/tracing";
import { REPO_ROOT, type StackContext } from "./context";

export function observabilityLayer({ config, apps, ns, after }: StackContext) {
  const names = ns.names;
  const monitoring = new Monitoring(
    "monitoring",
    {
      namespace: names.monitoring,
      lokiUrl: lokiUrl(names.logging),
      jaegerUrl: jaegerQueryUrl(names.monitoring),
      config,
      rulesDir: path.join(REPO_ROOT, "alerting", "rules"),
      network: {
        appNamespace: names.app,
        loggingNamespace: names.logging,
        edgeNamespace: names.gateway,
        remoteWriters: [podsIn(names.loadtest, LOADTEST_LABELS)],
      },
    },
    after("monitoring"),
  );
  new Synthetic(
    "synthetic",
    { namespace: names.monitoring, config, monitoringCrds: monitoring.crds },
    after("monitoring"),
  );
  const tracing = new Tracing(
    "tracing",
    {
      namespace: names.monitoring,
      config,
      remoteWriteUrl: prometheusRemoteWriteUrl(names.monitoring),
      // Every service, and the preflight Job.
      senders: [...servicesOf(apps), preflightApp].map((a) => podsIn(names.app, appLabels(a.name))),
      monitoringCrds: monitoring.crds,
      dashboardFile: path.join(REPO_ROOT, "dashboards", "tracing.json"),
    },
    after("monitoring"),
  );
  new Logging(
    "logging",
    {
      namespace: names.logging,
      retentionDays: config.retention.logsDays,
      storageGi: 10,
      chartMirror: config.charts.mirror,
      monitoringNamespace: names.monitoring,
      apiServerCidr: config.apiServerCidr,
    },
    // The Loki chart adds its ServiceMonitor only when the kind exists at install time.
    { dependsOn: [ns.resources.logging, monitoring.crds] },
  );
  return { monitoring, tracing };
}

export type ObservabilityLayer = ReturnType<typeof observabilityLayer>;
