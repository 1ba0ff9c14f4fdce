// Audits of what a real `pulumi up` left in the API server, where charts have
// been rendered by Helm itself: which targets the Prometheus actually selects
// and may reach (ServiceMonitors, PodMonitors, Services, pods,
// NetworkPolicies), which alert reads from which target, and which containers
// run without requests and limits. Pods that controllers kwok does not run
// would create (Prometheus and Alertmanager by the operator, Envoy proxies by
// Envoy Gateway) are stood in for by the labels and ports they would get.
import { metricNames } from "../../../alerting/promql";
import type { KubeApi, KubeObject } from "../../../scripts/local-cluster/kube-api";
import { APPS, servicesOf } from "../../apps";
import { blockedBy, type Endpoint, type LabelSelector, type NetworkPolicy, selects } from "./network-policy";

type Obj = KubeObject & {
  metadata: KubeObject["metadata"] & { labels?: Record<string, string> };
  spec?: any;
};

async function list(api: KubeApi, path: string): Promise<Obj[]> {
  return (await api.get<{ items: Obj[] }>(path)).items;
}

interface Pod {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  ports: Record<string, number>;
}

export interface ScrapeTarget {
  monitor: string;
  /** The Service's app.kubernetes.io/name (or name): what an alert's series come from. */
  component: string;
  port: string;
  pods: number;
  /** "ok", or why Prometheus gets nothing from it. */
  status: string;
  /** Metric-name regexes the endpoint's metricRelabelings drop before storage. */
  drops: string[];
}

/** The pods the operator makes for a Prometheus or Alertmanager object: its labels and ports. */
function operatorPods(kind: "prometheus" | "alertmanager", objects: Obj[]): Pod[] {
  return objects.map((o) => ({
    namespace: o.metadata.namespace as string,
    name: `${o.metadata.name}-0`,
    labels: {
      "app.kubernetes.io/name": kind,
      "app.kubernetes.io/instance": o.metadata.name,
      "app.kubernetes.io/managed-by": "prometheus-operator",
      [kind]: o.metadata.name,
      ...(kind === "prometheus"
        ? { "operator.prometheus.io/name": o.metadata.name, "operator.prometheus.io/shard": "0" }
        : {}),
      ...(o.spec?.podMetadata?.labels ?? {}),
    },
    ports: { web: kind === "prometheus" ? 9090 : 9093, "reloader-web": 8080 },
  }));
}

/** A ServiceMonitor endpoint, as far as the audit reads it. */
interface MonitorEndpoint {
  port?: string;
  targetPort?: number | string;
  metricRelabelings?: { action?: string; sourceLabels?: string[]; regex?: string }[];
}

/**
 * The proxy pods Envoy Gateway makes for each of its Gateways, in its own
 * namespace: their labels and the container ports of the envoy container.
 */
function envoyProxyPods(gateways: Obj[], classes: Obj[], controllerPods: Obj[]): Pod[] {
  const ours = new Set(
    classes
      .filter((c) => c.spec?.controllerName === "gateway.envoyproxy.io/gatewayclass-controller")
      .map((c) => c.metadata.name),
  );
  return gateways
    .filter((g) => ours.has(g.spec?.gatewayClassName))
    .flatMap((g) =>
      controllerPods.map((controller) => ({
        namespace: controller.metadata.namespace as string,
        name: `envoy-${g.metadata.namespace}-${g.metadata.name}`,
        labels: {
          "app.kubernetes.io/name": "envoy",
          "app.kubernetes.io/component": "proxy",
          "app.kubernetes.io/managed-by": "envoy-gateway",
          "gateway.envoyproxy.io/owning-gateway-name": g.metadata.name,
          "gateway.envoyproxy.io/owning-gateway-namespace": g.metadata.namespace as string,
        },
        ports: { metrics: 19001, readiness: 19003 },
      })),
    );
}

export async function auditScrapeTargets(api: KubeApi): Promise<ScrapeTarget[]> {
  const mon = "/apis/monitoring.coreos.com/v1";
  const gw = "/apis/gateway.networking.k8s.io/v1";
  const [
    prometheuses,
    alertmanagers,
    monitors,
    podMonitors,
    probes,
    services,
    podObjs,
    policies,
    namespaces,
    nodes,
    gateways,
    gatewayClasses,
  ] = await Promise.all([
    list(api, `${mon}/prometheuses`),
    list(api, `${mon}/alertmanagers`),
    list(api, `${mon}/servicemonitors`),
    list(api, `${mon}/podmonitors`),
    list(api, `${mon}/probes`),
    list(api, "/api/v1/services"),
    list(api, "/api/v1/pods"),
    list(api, "/apis/networking.k8s.io/v1/networkpolicies"),
    list(api, "/api/v1/namespaces"),
    list(api, "/api/v1/nodes"),
    list(api, `${gw}/gateways`),
    list(api, `${gw}/gatewayclasses`),
  ]);
  if (prometheuses.length !== 1)
    throw new Error(`expected one Prometheus object, found ${prometheuses.length}`);
  const prom = prometheuses[0] as Obj;
  const nsLabels = new Map(namespaces.map((n) => [n.metadata.name, n.metadata.labels ?? {}]));
  const pods: Pod[] = [
    ...podObjs
      .filter((p) => (p.status as { phase?: string } | undefined)?.phase === "Running")
      .map((p) => ({
        namespace: p.metadata.namespace as string,
        name: p.metadata.name,
        labels: p.metadata.labels ?? {},
        ports: Object.fromEntries(
          (p.spec.containers as { ports?: { name?: string; containerPort: number }[] }[]).flatMap((c) =>
            (c.ports ?? []).filter((x) => x.name).map((x) => [x.name as string, x.containerPort]),
          ),
        ),
      })),
    ...operatorPods("prometheus", prometheuses),
    ...operatorPods("alertmanager", alertmanagers),
    ...envoyProxyPods(
      gateways,
      gatewayClasses,
      podObjs.filter((p) => p.metadata.labels?.["control-plane"] === "envoy-gateway"),
    ),
  ];
  const [promPod] = operatorPods("prometheus", [prom]);
  const from: Endpoint = { namespace: promPod?.namespace, labels: promPod?.labels, ip: "10.244.250.1" };
  const netpols = policies as unknown as NetworkPolicy[];
  const nsOk = (ns: string, sel: LabelSelector | null | undefined) =>
    sel == null ? ns === prom.metadata.namespace : selects(sel, nsLabels.get(ns));

  /** Why Prometheus cannot scrape `port` (a number or a container port name) on each pod. */
  const podProblems = (backends: Pod[], target: number | string): string[] =>
    backends.flatMap((p) => {
      const port = typeof target === "number" ? target : p.ports[target];
      if (port === undefined) return [`pod ${p.name} has no port ${target}`];
      const to: Endpoint = { namespace: p.namespace, labels: p.labels, ip: "10.244.251.1", ports: p.ports };
      const blocked = blockedBy(netpols, nsLabels, from, to, port);
      return blocked ? [`blocked by ${blocked} policy to ${p.namespace}/${p.name}:${port}`] : [];
    });
  const dropsOf = (ep: MonitorEndpoint) =>
    (ep.metricRelabelings ?? [])
      .filter((r) => r.action?.toLowerCase() === "drop" && (r.sourceLabels ?? []).join(";") === "__name__")
      .map((r) => r.regex ?? "(.*)");
  const inNamespaces = (monitorNs: string, sel: { any?: boolean; matchNames?: string[] } | undefined) => {
    const nsSel = sel ?? {};
    return (ns: string) =>
      nsSel.any ? true : nsSel.matchNames ? nsSel.matchNames.includes(ns) : ns === monitorNs;
  };

  /** Whether the Prometheus picks up a ServiceMonitor or PodMonitor (its label and namespace selectors). */
  const isSelected = (monitor: Obj, kind: "serviceMonitor" | "podMonitor" | "probe") =>
    selects(prom.spec[`${kind}Selector`], monitor.metadata.labels) &&
    nsOk(monitor.metadata.namespace as string, prom.spec[`${kind}NamespaceSelector`]);

  const rows: ScrapeTarget[] = [];
  for (const pm of podMonitors) {
    const pmNs = pm.metadata.namespace as string;
    const selected = isSelected(pm, "podMonitor");
    const inNs = inNamespaces(pmNs, pm.spec.namespaceSelector);
    const backends = pods.filter((p) => inNs(p.namespace) && selects(pm.spec.selector, p.labels));
    for (const ep of pm.spec.podMetricsEndpoints as MonitorEndpoint[]) {
      const port = ep.port ?? ep.targetPort ?? "";
      const component = backends[0]?.labels["app.kubernetes.io/name"] ?? pm.metadata.name;
      const status = !selected
        ? "not selected by the Prometheus"
        : backends.length === 0
          ? "no pod matches its selector"
          : (podProblems(backends, port)[0] ?? "ok");
      rows.push({
        monitor: `${pmNs}/${pm.metadata.name}`,
        component,
        port: String(port),
        pods: backends.length,
        status,
        drops: dropsOf(ep),
      });
    }
  }
  // A Probe is scraped from its prober (the blackbox exporter's Service):
  // the series' component is the prober, reached like any Service's pods.
  for (const probe of probes) {
    const ns = probe.metadata.namespace as string;
    const [host = "", port = ""] = String(probe.spec.prober?.url ?? "").split(":");
    const [svcName = "", svcNs = ns] = host.split(".");
    const svc = services.find((x) => x.metadata.name === svcName && x.metadata.namespace === svcNs);
    const backends = svc
      ? pods.filter((p) => p.namespace === svcNs && selects({ matchLabels: svc.spec.selector }, p.labels))
      : [];
    const row = (component: string, count: number, status: string) =>
      rows.push({ monitor: `${ns}/${probe.metadata.name}`, component, port, pods: count, status, drops: [] });
    if (!isSelected(probe, "probe")) row(probe.metadata.name, 0, "not selected by the Prometheus");
    else if (!svc) row(probe.metadata.name, 0, `no Service ${host}`);
    else
      row(
        svc.metadata.labels?.["app.kubernetes.io/name"] ?? svcName,
        backends.length,
        backends.length === 0
          ? "no running pod behind the prober"
          : (podProblems(backends, Number(port))[0] ?? "ok"),
      );
  }
  for (const sm of monitors) {
    const smNs = sm.metadata.namespace as string;
    const selected = isSelected(sm, "serviceMonitor");
    const inNs = inNamespaces(smNs, sm.spec.namespaceSelector);
    const svcs = services.filter(
      (s) => inNs(s.metadata.namespace as string) && selects(sm.spec.selector, s.metadata.labels),
    );
    for (const ep of sm.spec.endpoints as MonitorEndpoint[]) {
      const drops = dropsOf(ep);
      const row = (component: string, podCount: number, status: string) =>
        rows.push({
          monitor: `${smNs}/${sm.metadata.name}`,
          component,
          port: String(ep.port ?? ep.targetPort),
          pods: podCount,
          status,
          drops,
        });
      if (!selected) {
        row(sm.metadata.name, 0, "not selected by the Prometheus");
        continue;
      }
      if (svcs.length === 0 && sm.spec.selector?.matchLabels?.["k8s-app"] === "kubelet") {
        // The operator itself keeps a Service over every node's kubelet (port 10250).
        const addrs = nodes.flatMap((n) =>
          ((n.status as { addresses?: { type: string; address: string }[] })?.addresses ?? [])
            .filter((a) => a.type === "InternalIP")
            .map((a) => a.address),
        );
        const blocked = addrs.map((ip) => blockedBy(netpols, nsLabels, from, { ip }, 10250)).find(Boolean);
        row("kubelet", addrs.length, blocked ? `blocked by ${blocked} policy` : "ok");
        continue;
      }
      if (svcs.length === 0) {
        row(sm.metadata.name, 0, "no Service matches its selector");
        continue;
      }
      let withPort = 0;
      for (const svc of svcs) {
        const component = svc.metadata.labels?.["app.kubernetes.io/name"] ?? svc.metadata.name;
        const svcPort = (
          svc.spec.ports as { name?: string; port: number; targetPort?: number | string }[]
        ).find((p) =>
          ep.port !== undefined
            ? p.name === ep.port
            : p.targetPort === ep.targetPort || p.port === ep.targetPort,
        );
        // Prometheus makes no target from a selected Service without the port.
        if (!svcPort) continue;
        withPort++;
        if (!svc.spec.selector) {
          // Endpoints outside the pods (the API server): checked by address.
          const res = await api.request<{
            subsets?: { addresses?: { ip: string }[]; ports?: { port: number }[] }[];
          }>("GET", `/api/v1/namespaces/${svc.metadata.namespace}/endpoints/${svc.metadata.name}`);
          const eps = res.status === 200 ? res.body : {};
          const addrs = (eps.subsets ?? []).flatMap((s) =>
            (s.addresses ?? []).flatMap((a) => (s.ports ?? []).map((p) => ({ ip: a.ip, port: p.port }))),
          );
          const blocked = addrs
            .map((a) => blockedBy(netpols, nsLabels, from, { ip: a.ip }, a.port))
            .find(Boolean);
          row(
            component,
            addrs.length,
            addrs.length === 0 ? "no endpoints" : blocked ? `blocked by ${blocked} policy` : "ok",
          );
          continue;
        }
        const backends = pods.filter(
          (p) =>
            p.namespace === svc.metadata.namespace && selects({ matchLabels: svc.spec.selector }, p.labels),
        );
        if (backends.length === 0) {
          row(component, 0, "no running pod behind the Service");
          continue;
        }
        row(component, backends.length, podProblems(backends, svcPort.targetPort ?? svcPort.port)[0] ?? "ok");
      }
      if (withPort === 0)
        row(sm.metadata.name, 0, `no selected Service has port ${ep.port ?? ep.targetPort}`);
    }
  }
  return rows;
}

/** Containers of running pods in `namespaces` that lack a CPU or memory request or limit. */
export async function containersWithoutLimits(api: KubeApi, namespaces: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of await list(api, "/api/v1/pods")) {
    if (!namespaces.includes(p.metadata.namespace as string)) continue;
    for (const c of [...(p.spec.initContainers ?? []), ...p.spec.containers] as {
      name: string;
      resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
    }[]) {
      const missing = (["requests", "limits"] as const).flatMap((k) =>
        ["cpu", "memory"].filter((r) => !c.resources?.[k]?.[r]).map((r) => `${k}.${r}`),
      );
      if (missing.length > 0)
        out.push(`${p.metadata.namespace}/${p.metadata.name} ${c.name}: ${missing.join(", ")}`);
    }
  }
  return out;
}

/**
 * Which scrape target each metric comes from, by the Service's
 * app.kubernetes.io/name. `up` and process metrics come from whatever their
 * job matcher names; k6 series are pushed by the drill (remote write).
 */
const METRIC_SOURCES: [RegExp, string[]][] = [
  [/^kube_/, ["kube-state-metrics"]],
  [/^(container_|kubelet_)/, ["kubelet"]],
  [/^envoy_/, ["envoy"]],
  [/^loki_/, ["loki"]],
  [/^prometheus_/, ["kube-prometheus-stack-prometheus"]],
  [/^(grpc_server_|feed_)/, ["feed"]],
  [/^(http_request|gateway_)/, ["gateway"]],
  // Both services read the feature flags.
  [/^golive_feature_flag_/, ["gateway", "feed"]],
  // The WAF service (golive:waf.engine ext-authz).
  [/^golive_waf_/, ["waf-authz"]],
  // The OpenTelemetry HTTP server metric: the services not built here that
  // say they export it (none in the committed stacks: the rules' branch for
  // it then reads nothing, and no target is owed).
  [
    /^http_server_request_duration_seconds/,
    servicesOf(APPS)
      .filter((s) => s.otelHttpMetrics)
      .map((s) => s.name),
  ],
  [/^otelcol_/, ["opentelemetry-collector"]],
  [/^probe_/, ["blackbox-exporter"]],
  // Pushed by each preflight run over OTLP; the collector remote-writes them.
  [/^preflight_/, ["opentelemetry-collector"]],
];

export interface AlertSource {
  alert: string;
  /** Components (scrape targets) whose series the alert reads; "pushed by k6" for remote-write series. */
  sources: string[];
  /** Each raw metric the alert reads (recording rules resolved) and the component it comes from. */
  series: { metric: string; source: string }[];
}

/** Every alert with the targets its series come from, recording rules resolved to their inputs. */
export function alertSources(rules: { alert?: string; record?: string; expr: string }[]): AlertSource[] {
  const records = new Map(rules.filter((r) => r.record).map((r) => [r.record as string, r.expr]));
  const seriesOf = (expr: string, seen: Set<string>): { metric: string; source: string }[] => {
    const out: { metric: string; source: string }[] = [];
    const jobs = [...expr.matchAll(/\bjob=~?"([^"]+)"/g)].flatMap((m) => (m[1] ?? "").split("|"));
    for (const metric of metricNames(expr)) {
      const recorded = records.get(metric);
      if (recorded !== undefined) {
        if (!seen.has(metric)) out.push(...seriesOf(recorded, new Set([...seen, metric])));
        continue;
      }
      if (metric.startsWith("k6_")) {
        out.push({ metric, source: "pushed by k6" });
        continue;
      }
      const hit = METRIC_SOURCES.find(([re]) => re.test(metric));
      const sources = hit ? hit[1] : jobs.length > 0 ? jobs : [`unknown source of ${metric}`];
      for (const source of sources) out.push({ metric, source });
    }
    return out;
  };
  return rules
    .filter((r) => r.alert)
    .map((r) => {
      const series = seriesOf(r.expr, new Set());
      return { alert: r.alert as string, sources: [...new Set(series.map((x) => x.source))].sort(), series };
    });
}

/** Alert series that every scrape target of their component drops by a metricRelabeling. */
export function droppedAlertSeries(alerts: AlertSource[], targets: ScrapeTarget[]): string[] {
  return alerts.flatMap((a) =>
    a.series
      .filter(({ metric, source }) => {
        const rows = targets.filter((x) => x.component === source);
        return (
          rows.length > 0 && rows.every((x) => x.drops.some((re) => new RegExp(`^(?:${re})$`).test(metric)))
        );
      })
      .map(({ metric, source }) => `${a.alert}: ${metric} is dropped at every ${source} target`),
  );
}

/** Prometheus and Alertmanager objects (their pods are the operator's) without a volume or without requests and limits. */
export async function operatorWorkloadGaps(api: KubeApi): Promise<string[]> {
  const out: string[] = [];
  for (const kind of ["prometheuses", "alertmanagers"]) {
    for (const o of await list(api, `/apis/monitoring.coreos.com/v1/${kind}`)) {
      const name = `${kind}/${o.metadata.name}`;
      if (!o.spec?.storage?.volumeClaimTemplate) out.push(`${name}: no persistent volume`);
      const r = o.spec?.resources ?? {};
      if (!r.requests?.cpu || !r.requests?.memory || !r.limits?.cpu || !r.limits?.memory)
        out.push(`${name}: no requests/limits`);
    }
  }
  return out;
}
