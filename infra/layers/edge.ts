// The edge and the drills: Envoy Gateway with the WAF, TLS and rate limits in
// front of the public service; the go-live drill (k6 with its chaos step)
// and the preflight Job, both started by hand from suspended templates.

import path from "node:path";
import { preflightApp } from "@golive/preflight/app";
import * as random from "@pulumi/random";
import { ENVOY_HTTPS_PORT, ENVOY_PROXY_LABELS, edgeCertificateTrusted, Ingress } from "../components/ingress";
import { LoadTest } from "../components/loadtest";
import { prometheusRemoteWriteUrl } from "../components/monitoring";
import { Preflight } from "../components/preflight";
import { COLLECTOR_PODS, OTLP_HTTP_PORT } from "../components/tracing";
import { wafAuthzService } from "../components/waf-authz";
import { forApp } from "../config";
import { REPO_ROOT, type StackContext } from "./context";
import type { DataLayer } from "./data";
import type { ObservabilityLayer } from "./observability";
import type { ServiceLayer } from "./services";

export function edgeLayer(
  { config, ns, after }: StackContext,
  services: ServiceLayer,
  obs: ObservabilityLayer,
) {
  // Shared by the edge (which exempts it from the per-client limit) and the drill.
  const drillToken = new random.RandomPassword("drill-token", { length: 32, special: false });
  const ingress = new Ingress(
    "ingress",
    {
      config,
      gatewayNamespace: ns.names.gateway,
      certManagerNamespace: ns.names.certManager,
      appNamespace: ns.names.app,
      backend: services.backend,
      monitoringNamespace: ns.names.monitoring,
      monitoringCrds: obs.monitoring.crds,
      drillToken: drillToken.result,
    },
    after("gateway", "certManager", "app"),
  );
  // golive:waf.engine ext-authz: the WAF service the edge's SecurityPolicy names.
  const wafAuthz =
    config.waf.engine === "ext-authz"
      ? wafAuthzService(
          {
            config,
            namespace: ns.names.app,
            gatewayNamespace: ns.names.gateway,
            monitoringNamespace: ns.names.monitoring,
            monitoringCrds: obs.monitoring.crds,
            terminationGraceSeconds: 15,
          },
          after("app"),
        )
      : undefined;
  return { ingress, drillToken, wafAuthz };
}

export type EdgeLayer = ReturnType<typeof edgeLayer>;

export function drillLayer(
  { config, ns, after }: StackContext,
  data: DataLayer,
  services: ServiceLayer,
  obs: ObservabilityLayer,
  { ingress, drillToken }: EdgeLayer,
) {
  const edge = {
    service: ingress.edgeService,
    namespace: ns.names.gateway,
    certificateTrusted: edgeCertificateTrusted(config),
  };
  const loadTest = new LoadTest(
    "loadtest",
    {
      namespace: ns.names.loadtest,
      appNamespace: ns.names.app,
      config,
      remoteWriteUrl: prometheusRemoteWriteUrl(ns.names.monitoring),
      edge: { url: ingress.url, ...edge },
      gateway: services.backend,
      drillToken: drillToken.result,
      feedGrpcAddress: services.drillTarget.grpcAddress,
      feedSelector: services.drillTarget.labels,
      repoRoot: REPO_ROOT,
      monitoringNamespace: ns.names.monitoring,
    },
    after("loadtest", "app"),
  );
  const preflight = new Preflight(
    "preflight",
    {
      namespace: ns.names.app,
      config,
      image: forApp(config.images, preflightApp.name),
      resources: config.resources.jobs,
      ...data.client,
      edge: { ...edge, labels: ENVOY_PROXY_LABELS, servicePort: 443, podPort: ENVOY_HTTPS_PORT },
      monitoringNamespace: ns.names.monitoring,
      collector: { endpoint: obs.tracing.otlpEndpoint, pods: COLLECTOR_PODS, port: OTLP_HTTP_PORT },
      dashboardFile: path.join(REPO_ROOT, "dashboards", "preflight.json"),
    },
    after("app", "monitoring"),
  );
  return { loadTest, preflight };
}
