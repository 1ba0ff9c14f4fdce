// The edge: Envoy Gateway (Gateway API) terminating TLS for the domain, a
// Coraza WAF with the OWASP Core Rule Set as a Wasm extension (detection-only
// or blocking per stack), a local rate limit, and cert-manager issuing the
// certificate through a ClusterIssuer per stack.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { CHARTS, chartSource } from "../charts";
import { LETS_ENCRYPT, type StackConfig } from "../config";
import { CHART_RESOURCES } from "./chart-resources";
import { appLabels, PROMETHEUS_SELECTOR } from "./labels";
import { networkPolicy, PROMETHEUS_PODS, platformNamespace, podsIn, tcp } from "./network";

export const GATEWAY_CLASS = "envoy-gateway";
export const GATEWAY_NAME = "golive";
export const TLS_SECRET = "golive-tls";
/** Envoy Gateway labels the proxy pods of a Gateway with its name and namespace. */
export const ENVOY_PROXY_LABELS = {
  "gateway.envoyproxy.io/owning-gateway-name": GATEWAY_NAME,
};
/** Envoy's stats port on every proxy pod (container port "metrics", path /stats/prometheus). */
export const ENVOY_METRICS_PORT = 19001;
/** The port Envoy listens on for the Gateway's https listener (the Service maps 443 onto it). */
export const ENVOY_HTTPS_PORT = 10443;
/** The proxies' Service, named rather than generated so the drill can address the edge from inside. */
export const EDGE_SERVICE = "golive-edge";
/** Requests carrying this header with the drill's token skip the per-client bucket (not the ceiling). */
export const DRILL_HEADER = "x-golive-drill";

/** Whether clients can verify the edge certificate: only an ACME production CA is publicly trusted. */
export function edgeCertificateTrusted(config: StackConfig): boolean {
  return config.tls.issuer === "acme" && config.tls.server === LETS_ENCRYPT.prod;
}

/** HSTS for a year, subdomains included: browsers never try plain HTTP again. */
export const HSTS = "max-age=31536000; includeSubDomains";

/**
 * Coraza directives: the recommended engine config, the CRS setup, the
 * stack's paranoia level and anomaly threshold (set here, not left to the
 * rule set's defaults), every CRS rule, then the mode.
 */
export function corazaDirectives(waf: StackConfig["waf"]): string[] {
  const { mode, paranoiaLevel, anomalyThreshold } = waf;
  return [
    "Include @recommended-conf",
    "Include @crs-setup-conf",
    // Ids 900000/900110 are the ones crs-setup.conf reserves for these settings.
    `SecAction "id:900000,phase:1,pass,t:none,nolog,setvar:tx.blocking_paranoia_level=${paranoiaLevel}"`,
    `SecAction "id:900110,phase:1,pass,t:none,nolog,setvar:tx.inbound_anomaly_score_threshold=${anomalyThreshold}"`,
    "Include @owasp_crs/*.conf",
    // Last, so it overrides the recommended file's own SecRuleEngine line.
    mode === "blocking" ? "SecRuleEngine On" : "SecRuleEngine DetectionOnly",
  ];
}

/** The WAF service's Service and gRPC port (waf-authz.ts), which the SecurityPolicy names. */
export const WAF_AUTHZ = "waf-authz";
export const WAF_AUTHZ_GRPC_PORT = 9002;
/** The most of a request body Envoy buffers and sends to the WAF service; a longer one gets 413. */
export const WAF_AUTHZ_BODY_BYTES = 65_536;

/**
 * The same settings for the WAF service (apps/waf-authz, Envoy's ext_authz):
 * its rule files go by the coraza-coreruleset module's own names.
 */
export function wafAuthzDirectives(waf: StackConfig["waf"]): string[] {
  return corazaDirectives(waf).map((line) =>
    line
      .replace("@recommended-conf", "@coraza.conf-recommended")
      .replace("@crs-setup-conf", "@crs-setup.conf.example"),
  );
}

export function clusterIssuerName(config: StackConfig): string {
  return `golive-${config.environment}-${config.tls.issuer === "acme" ? "acme" : "selfsigned"}`;
}

export interface IngressArgs {
  config: StackConfig;
  gatewayNamespace: string;
  certManagerNamespace: string;
  appNamespace: string;
  /** The gateway workload's Service and port that the HTTPRoute sends traffic to. */
  backend: { service: string; port: number; labels: Record<string, string> };
  /** Where Prometheus runs: it scrapes Envoy's stats. */
  monitoringNamespace: string;
  /** What installs the PodMonitor kind (the Prometheus operator CRDs release). */
  monitoringCrds: pulumi.Resource;
  /** The go-live drill's token (DRILL_HEADER): one pod is not one client. */
  drillToken: pulumi.Input<string>;
}

export class Ingress extends pulumi.ComponentResource {
  readonly url: string;
  /** The proxies' in-cluster Service name, which the public host resolves to inside. */
  readonly edgeService: string;

  constructor(name: string, args: IngressArgs, opts?: pulumi.ComponentResourceOptions) {
    super("golive:edge:Ingress", name, {}, opts);
    this.url = `https://${args.config.domain}`;
    this.edgeService = `${EDGE_SERVICE}.${args.gatewayNamespace}.svc.cluster.local`;
    const controllers = edgeControllers(this, args);
    const certificate = edgeCertificate(this, args, controllers.certManager);
    const gateway = edgeGateway(this, args, { ...controllers, certificate });
    apiRoute(this, args, gateway);
    edgeMetrics(this, args, gateway);
    edgePolicies(this, args);
    this.registerOutputs({ url: this.url });
  }
}

/** Envoy Gateway and cert-manager (charts), and the GatewayClass of our proxies. */
function edgeControllers(parent: pulumi.Resource, args: IngressArgs) {
  const { config, gatewayNamespace } = args;
  const envoyGateway = new k8s.helm.v3.Release(
    "envoy-gateway",
    {
      name: "envoy-gateway",
      namespace: gatewayNamespace,
      ...chartSource(CHARTS.envoyGateway, config.charts.mirror),
      values: {
        // The injector labels proxy pods with their zone for zone-aware
        // routing, which we do not configure; it is installed by Helm hooks
        // (a webhook and cluster RBAC) that no uninstall removes, so a
        // destroyed stack would leave them behind.
        topologyInjector: { enabled: false },
        deployment: { envoyGateway: { resources: CHART_RESOURCES.envoyGateway } },
        certgen: { job: { resources: CHART_RESOURCES.hookJob } },
      },
    },
    { parent },
  );

  // Gateway API support needs the Gateway API CRDs, which the Envoy Gateway chart installs.
  // A plain Release of the chart: the @pulumi/kubernetes-cert-manager component
  // wraps the same chart but needs a provider plugin of its own, and it could
  // not take the chart from a mirror.
  const certManager = new k8s.helm.v3.Release(
    "cert-manager",
    {
      name: "cert-manager",
      namespace: args.certManagerNamespace,
      ...chartSource(CHARTS.certManager, config.charts.mirror),
      values: {
        crds: { enabled: true },
        extraArgs: ["--enable-gateway-api"],
        resources: CHART_RESOURCES.certManager,
        webhook: { resources: CHART_RESOURCES.certManager },
        cainjector: { resources: CHART_RESOURCES.certManager },
        startupapicheck: { resources: CHART_RESOURCES.hookJob },
      },
    },
    { parent, dependsOn: [envoyGateway] },
  );

  const gatewayClass = new k8s.apiextensions.CustomResource(
    "gatewayclass",
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "GatewayClass",
      metadata: { name: GATEWAY_CLASS },
      spec: { controllerName: "gateway.envoyproxy.io/gatewayclass-controller" },
    },
    { parent, dependsOn: [envoyGateway] },
  );

  return { envoyGateway, certManager, gatewayClass };
}

/** The stack's ClusterIssuer (ACME or self-signed) and the domain's certificate. */
function edgeCertificate(parent: pulumi.Resource, args: IngressArgs, certManager: pulumi.Resource) {
  const { config, gatewayNamespace } = args;
  const issuerName = clusterIssuerName(config);
  const issuer = new k8s.apiextensions.CustomResource(
    "cluster-issuer",
    {
      apiVersion: "cert-manager.io/v1",
      kind: "ClusterIssuer",
      metadata: { name: issuerName },
      spec:
        config.tls.issuer === "acme"
          ? {
              acme: {
                email: config.tls.email,
                server: config.tls.server,
                privateKeySecretRef: { name: `${issuerName}-account` },
                solvers: [
                  {
                    http01: {
                      gatewayHTTPRoute: {
                        parentRefs: [
                          {
                            name: GATEWAY_NAME,
                            namespace: gatewayNamespace,
                            kind: "Gateway",
                            sectionName: "http",
                          },
                        ],
                      },
                    },
                  },
                ],
              },
            }
          : { selfSigned: {} },
    },
    { parent, dependsOn: [certManager] },
  );

  const certificate = new k8s.apiextensions.CustomResource(
    "certificate",
    {
      apiVersion: "cert-manager.io/v1",
      kind: "Certificate",
      metadata: { name: TLS_SECRET, namespace: gatewayNamespace },
      spec: {
        secretName: TLS_SECRET,
        dnsNames: [config.domain],
        issuerRef: { name: issuerName, kind: "ClusterIssuer", group: "cert-manager.io" },
        privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" },
      },
    },
    { parent, dependsOn: [issuer] },
  );

  return certificate;
}

/** Our Gateway (http for ACME and the redirect, https for the API) and its proxies' settings. */
function edgeGateway(
  parent: pulumi.Resource,
  args: IngressArgs,
  deps: { envoyGateway: pulumi.Resource; gatewayClass: pulumi.Resource; certificate: pulumi.Resource },
) {
  const { config, gatewayNamespace, appNamespace } = args;
  const { envoyGateway, gatewayClass, certificate } = deps;
  // How Envoy Gateway runs the proxies of our Gateway: sized, and behind a
  // Service with a fixed name.
  const proxyConfig = new k8s.apiextensions.CustomResource(
    "envoy-proxy-config",
    {
      apiVersion: "gateway.envoyproxy.io/v1alpha1",
      kind: "EnvoyProxy",
      metadata: { name: "golive-proxy", namespace: gatewayNamespace },
      spec: {
        provider: {
          type: "Kubernetes",
          kubernetes: {
            envoyService: { name: EDGE_SERVICE },
            envoyDeployment: { container: { resources: CHART_RESOURCES.envoyProxy } },
          },
        },
      },
    },
    { parent, dependsOn: [envoyGateway] },
  );

  const gateway = new k8s.apiextensions.CustomResource(
    "gateway",
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: GATEWAY_NAME, namespace: gatewayNamespace },
      spec: {
        gatewayClassName: GATEWAY_CLASS,
        infrastructure: {
          parametersRef: { group: "gateway.envoyproxy.io", kind: "EnvoyProxy", name: "golive-proxy" },
        },
        listeners: [
          {
            name: "http",
            protocol: "HTTP",
            port: 80,
            hostname: config.domain,
            // The ACME solver's route lives here; the app route only on https.
            allowedRoutes: { namespaces: { from: "Same" } },
          },
          {
            name: "https",
            protocol: "HTTPS",
            port: 443,
            hostname: config.domain,
            tls: { mode: "Terminate", certificateRefs: [{ kind: "Secret", name: TLS_SECRET }] },
            allowedRoutes: {
              namespaces: {
                from: "Selector",
                selector: { matchLabels: { "kubernetes.io/metadata.name": appNamespace } },
              },
            },
          },
        ],
      },
    },
    { parent, dependsOn: [gatewayClass, certificate, proxyConfig] },
  );

  httpsRedirect(parent, args, gateway);
  return gateway;
}

/** Plain HTTP only answers with a redirect to https (and the ACME challenge, on its own route). */
function httpsRedirect(parent: pulumi.Resource, args: IngressArgs, gateway: pulumi.Resource) {
  const { config, gatewayNamespace } = args;
  new k8s.apiextensions.CustomResource(
    "https-redirect",
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "HTTPRoute",
      metadata: { name: "https-redirect", namespace: gatewayNamespace },
      spec: {
        parentRefs: [{ name: GATEWAY_NAME, sectionName: "http" }],
        hostnames: [config.domain],
        rules: [
          { filters: [{ type: "RequestRedirect", requestRedirect: { scheme: "https", statusCode: 301 } }] },
        ],
      },
    },
    { parent, dependsOn: [gateway] },
  );
}

/** The API route to the backend, with HSTS, the WAF and the rate limits on it. */
function apiRoute(parent: pulumi.Resource, args: IngressArgs, gateway: pulumi.Resource) {
  const { config, gatewayNamespace, appNamespace } = args;
  const routeName = "golive-api";
  const route = new k8s.apiextensions.CustomResource(
    "httproute",
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "HTTPRoute",
      metadata: { name: routeName, namespace: appNamespace },
      spec: {
        parentRefs: [{ name: GATEWAY_NAME, namespace: gatewayNamespace, sectionName: "https" }],
        hostnames: [config.domain],
        rules: [
          {
            matches: [{ path: { type: "PathPrefix", value: "/v1" } }],
            filters: [
              {
                type: "ResponseHeaderModifier",
                responseHeaderModifier: { set: [{ name: "Strict-Transport-Security", value: HSTS }] },
              },
            ],
            backendRefs: [{ name: args.backend.service, port: args.backend.port }],
          },
        ],
      },
    },
    { parent, dependsOn: [gateway] },
  );

  const on: RoutePolicyTarget = {
    parent,
    route,
    namespace: args.appNamespace,
    targetRefs: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", name: routeName }],
  };
  wafPolicy(on, args.config);
  rateLimitPolicy(on, args);
}

/** Where a policy of Envoy Gateway attaches: the API route, in its namespace, after it. */
interface RoutePolicyTarget {
  parent: pulumi.Resource;
  route: pulumi.Resource;
  namespace: string;
  targetRefs: { group: string; kind: string; name: string }[];
}

/** An Envoy Gateway policy (`kind`) on the API route: `spec` gets the route as its target. */
function routePolicy(
  on: RoutePolicyTarget,
  resourceName: string,
  kind: string,
  metadata: { name: string; labels?: Record<string, string> },
  spec: Record<string, unknown>,
): void {
  new k8s.apiextensions.CustomResource(
    resourceName,
    {
      apiVersion: "gateway.envoyproxy.io/v1alpha1",
      kind,
      metadata: {
        name: metadata.name,
        namespace: on.namespace,
        ...(metadata.labels && { labels: metadata.labels }),
      },
      spec: { targetRefs: on.targetRefs, ...spec },
    },
    { parent: on.parent, dependsOn: [on.route] },
  );
}

/** Coraza with the CRS on the route, in the stack's mode, level and threshold. */
function wafPolicy(on: RoutePolicyTarget, config: StackConfig): void {
  const labels = { "golive.dev/waf-mode": config.waf.mode };
  // A WAF that fails open in blocking mode is no WAF.
  const failOpen = config.waf.mode === "detection";
  if (config.waf.engine === "ext-authz") {
    // The WAF service as Envoy's external authorization: every request's
    // method, path, headers and body (up to WAF_AUTHZ_BODY_BYTES) go to it
    // before anything goes upstream; when it cannot answer in blocking mode,
    // Envoy answers 503 itself.
    routePolicy(
      on,
      "waf",
      "SecurityPolicy",
      { name: "waf", labels },
      {
        extAuth: {
          grpc: { backendRefs: [{ name: WAF_AUTHZ, port: WAF_AUTHZ_GRPC_PORT }] },
          bodyToExtAuth: { maxRequestBytes: WAF_AUTHZ_BODY_BYTES },
          failOpen,
          statusOnError: 503,
          timeout: "1s",
        },
      },
    );
    return;
  }
  routePolicy(
    on,
    "waf",
    "EnvoyExtensionPolicy",
    { name: "coraza-waf", labels },
    {
      wasm: [
        {
          name: "coraza-waf",
          rootID: "",
          code: { type: "Image", image: { url: config.images.corazaWasm } },
          config: {
            directives_map: { default: corazaDirectives(config.waf) },
            default_directives: "default",
          },
          failOpen,
        },
      ],
    },
  );
}

/** A bucket per client under a ceiling for all; the drill's token skips the per-client bucket. */
function rateLimitPolicy(on: RoutePolicyTarget, args: IngressArgs): void {
  const { rateLimit } = args.config;
  routePolicy(
    on,
    "rate-limit",
    "BackendTrafficPolicy",
    { name: "rate-limit" },
    {
      rateLimit: {
        type: "Local",
        local: {
          rules: [
            // A bucket per source address, except for the go-live drill
            // (all its virtual users share one pod's address)...
            {
              clientSelectors: [
                {
                  sourceCIDR: { type: "Distinct", value: "0.0.0.0/0" },
                  headers: [{ name: DRILL_HEADER, type: "Exact", value: args.drillToken, invert: true }],
                },
              ],
              limit: { requests: rateLimit.perClientRequests, unit: rateLimit.unit },
            },
            // ...under a ceiling for all clients together.
            { limit: { requests: rateLimit.requests, unit: rateLimit.unit } },
          ],
        },
      },
    },
  );
}

/**
 * Envoy's own metrics: requests by response class, 403s from the WAF and 429s
 * from the rate limit, per proxy pod (pods Envoy Gateway creates, behind no
 * Service of ours: a PodMonitor).
 */
function edgeMetrics(parent: pulumi.Resource, args: IngressArgs, gateway: pulumi.Resource) {
  const { gatewayNamespace } = args;
  new k8s.apiextensions.CustomResource(
    "envoy-proxy-metrics",
    {
      apiVersion: "monitoring.coreos.com/v1",
      kind: "PodMonitor",
      metadata: { name: "envoy-proxy", namespace: gatewayNamespace, labels: { ...PROMETHEUS_SELECTOR } },
      spec: {
        selector: {
          matchLabels: {
            "app.kubernetes.io/component": "proxy",
            "app.kubernetes.io/managed-by": "envoy-gateway",
            ...ENVOY_PROXY_LABELS,
          },
        },
        podMetricsEndpoints: [{ port: "metrics", path: "/stats/prometheus" }],
      },
    },
    { parent, dependsOn: [args.monitoringCrds, gateway] },
  );
}

/** The edge's own flows: Envoy in and to the backend, the Wasm pull, cert-manager's webhook and ACME. */
function edgePolicies(parent: pulumi.Resource, args: IngressArgs) {
  const { config, gatewayNamespace, appNamespace } = args;
  for (const ns of [gatewayNamespace, args.certManagerNamespace])
    platformNamespace(parent, ns, config.apiServerCidr);
  networkPolicy(parent, "envoy-edge", gatewayNamespace, ENVOY_PROXY_LABELS, {
    // Envoy listens on unprivileged ports and the Service maps 80/443 onto them.
    ingress: [
      { ports: tcp(10080, 10443, 80, 443) },
      { from: [podsIn(args.monitoringNamespace, PROMETHEUS_PODS)], ports: tcp(ENVOY_METRICS_PORT) },
    ],
    egress: [
      { to: [podsIn(appNamespace, args.backend.labels)], ports: tcp(args.backend.port) },
      ...(config.waf.engine === "ext-authz"
        ? [{ to: [podsIn(appNamespace, appLabels(WAF_AUTHZ))], ports: tcp(WAF_AUTHZ_GRPC_PORT) }]
        : []),
    ],
  });
  // The wasm engine only: its module comes from an OCI registry.
  if (config.waf.engine === "wasm") {
    networkPolicy(
      parent,
      "wasm-fetch",
      gatewayNamespace,
      {},
      {
        // The Coraza Wasm image is pulled from its OCI registry by Envoy Gateway.
        egress: [{ to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: tcp(443) }],
      },
    );
  }
  networkPolicy(
    parent,
    "cert-manager-acme-webhook",
    args.certManagerNamespace,
    {},
    {
      // The API server calls the webhook; the controller reaches the ACME directory and the HTTP-01 path.
      ingress: [{ ports: tcp(10250) }],
      egress: [{ to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: tcp(443, 80) }],
    },
  );
}
