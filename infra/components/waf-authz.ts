// The WAF service (apps/waf-authz) with golive:waf.engine ext-authz: Envoy's
// external authorization, judging each request's headers and body before
// Envoy sends it upstream (security/waf.md). Beside the gateway in the app
// namespace; the edge's SecurityPolicy (ingress.ts) names its Service. Its
// directives are the stack's WAF settings (wafAuthzDirectives), mounted from
// a ConfigMap whose checksum rolls the pods when they change.
import { createHash } from "node:crypto";
import path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { loadRuleGroups, withRunbookBaseUrl } from "../../alerting/rule-files";
import { renderDashboard, wafAuthzDashboard } from "../../dashboards/build";
import type { StackConfig } from "../config";
import { ENVOY_PROXY_LABELS, WAF_AUTHZ, WAF_AUTHZ_GRPC_PORT, wafAuthzDirectives } from "./ingress";
import { OPS_PORT } from "./labels";
import { PROMETHEUS_PODS, podsIn, tcp } from "./network";
import { httpProbe, Workload } from "./workload";

const DIRECTIVES_DIR = "/etc/waf-authz";

export interface WafAuthzArgs {
  config: StackConfig;
  namespace: string;
  gatewayNamespace: string;
  monitoringNamespace: string;
  monitoringCrds: pulumi.Resource;
  terminationGraceSeconds: number;
}

export function wafAuthzService(args: WafAuthzArgs, opts: pulumi.ComponentResourceOptions): Workload {
  const { config, namespace } = args;
  const directives = `${JSON.stringify(wafAuthzDirectives(config.waf), null, 2)}\n`;
  const configMap = new k8s.core.v1.ConfigMap(
    `${WAF_AUTHZ}-directives`,
    { metadata: { name: `${WAF_AUTHZ}-directives`, namespace }, data: { "directives.json": directives } },
    opts,
  );
  const checksum = createHash("sha256").update(directives).digest("hex").slice(0, 16);
  return new Workload(
    WAF_AUTHZ,
    {
      namespace,
      image: config.images.wafAuthz as string,
      ports: [{ name: "grpc", port: WAF_AUTHZ_GRPC_PORT }],
      env: [
        { name: "DIRECTIVES_FILE", value: `${DIRECTIVES_DIR}/directives.json` },
        { name: "GRPC_PORT", value: String(WAF_AUTHZ_GRPC_PORT) },
        { name: "OPS_PORT", value: String(OPS_PORT) },
        // Readiness off this long before the gRPC server stops: Envoy drops the endpoint first.
        { name: "SHUTDOWN_DRAIN_DELAY", value: "5s" },
      ],
      files: [
        {
          volume: { name: "directives", configMap: { name: configMap.metadata.name } },
          mount: { name: "directives", mountPath: DIRECTIVES_DIR, readOnly: true },
        },
      ],
      probes: {
        startup: httpProbe("/health/live", 2, 30),
        liveness: httpProbe("/health/live", 10, 3),
        readiness: httpProbe("/health/ready", 5, 2),
      },
      // Every request through the edge waits on it: never fewer than two.
      replicas: { min: 2, max: 6 },
      resources: {
        requests: { cpu: "100m", memory: "64Mi" },
        limits: { cpu: "1", memory: "256Mi" },
      },
      topologySpread: config.topologySpread,
      disruptionBudget: config.disruptionBudget,
      podAnnotations: { "golive.dev/directives-checksum": checksum },
      terminationGraceSeconds: args.terminationGraceSeconds,
      monitoringCrds: args.monitoringCrds,
      dashboard: {
        file: `${WAF_AUTHZ}.json`,
        json: `${JSON.stringify(renderDashboard(wafAuthzDashboard(WAF_AUTHZ)), null, 2)}\n`,
        monitoringNamespace: args.monitoringNamespace,
      },
      rules: {
        groups: withRunbookBaseUrl(
          loadRuleGroups(path.join(__dirname, "..", "..", "apps", "waf-authz", "alerts.yaml")),
          config.runbookBaseUrl,
        ),
        monitoringNamespace: args.monitoringNamespace,
      },
      network: {
        ingress: [
          { from: [podsIn(args.gatewayNamespace, ENVOY_PROXY_LABELS)], ports: tcp(WAF_AUTHZ_GRPC_PORT) },
          { from: [podsIn(args.monitoringNamespace, PROMETHEUS_PODS)], ports: tcp(OPS_PORT) },
        ],
        // It calls nothing: the rules are in the image, the directives in the ConfigMap.
        egress: [],
      },
    },
    opts,
  );
}
