// Synthetic monitoring: the blackbox exporter probes the public URL the way
// a user reaches it (DNS, TLS, the edge, the gateway, the feed) and the
// WebSocket upgrade, and Prometheus scrapes the results through Probe
// objects. The modules are alerting/blackbox.ts; the alerts
// (PublicEndpointDown, CertificateExpiringSoon) alerting/rules/synthetic.yaml.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import YAML from "yaml";
import { blackboxConfig, PROBES, type ProbeModule } from "../../alerting/blackbox";
import type { StackConfig } from "../config";
import { appLabels, PROMETHEUS_SELECTOR } from "./labels";
import { networkPolicy, tcp } from "./network";
import { containerSecurity, podSecurity } from "./pod-security";
import { checksumAnnotations, secretChecksum } from "./secret-checksum";

export const BLACKBOX = "blackbox-exporter";
export const BLACKBOX_PORT = 9115;
/** The exporter image's own user (nobody). */
const BLACKBOX_UID = 65534;

/** The Prometheus job of each probe (the alerts select job=~"public-.+"). */
const JOBS: Record<ProbeModule, string> = {
  public_feed: "public-feed",
  public_websocket: "public-websocket",
};

export interface SyntheticArgs {
  namespace: string;
  config: StackConfig;
  /** What installs the Probe kind. */
  monitoringCrds: pulumi.Resource;
}

export class Synthetic extends pulumi.ComponentResource {
  readonly labels = appLabels(BLACKBOX);

  constructor(name: string, args: SyntheticArgs, opts?: pulumi.ComponentResourceOptions) {
    super("golive:observability:Synthetic", name, {}, opts);
    const { namespace, config } = args;
    const labels = this.labels;
    // HTTPS always; a self-signed certificate (the local stack) is not
    // verified, but its expiry is still reported.
    const skipVerify = config.tls.issuer === "selfSigned";
    const data = { "blackbox.yml": YAML.stringify(blackboxConfig({ tls: true, skipVerify })) };
    const configMap = new k8s.core.v1.ConfigMap(
      BLACKBOX,
      { metadata: { name: BLACKBOX, namespace, labels }, data },
      { parent: this },
    );
    new k8s.apps.v1.Deployment(
      BLACKBOX,
      {
        metadata: { name: BLACKBOX, namespace, labels },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels, annotations: checksumAnnotations(secretChecksum(data)) },
            spec: {
              automountServiceAccountToken: false,
              securityContext: podSecurity(BLACKBOX_UID),
              containers: [blackboxContainer(config.images.blackboxExporter)],
              volumes: [{ name: "config", configMap: { name: BLACKBOX } }],
            },
          },
        },
      },
      { parent: this, dependsOn: [configMap] },
    );
    new k8s.core.v1.Service(
      BLACKBOX,
      {
        metadata: { name: BLACKBOX, namespace, labels },
        spec: { selector: labels, ports: [{ name: "http", port: BLACKBOX_PORT, targetPort: "http" }] },
      },
      { parent: this },
    );
    for (const module of Object.keys(PROBES) as ProbeModule[]) {
      new k8s.apiextensions.CustomResource(
        `probe-${JOBS[module]}`,
        {
          apiVersion: "monitoring.coreos.com/v1",
          kind: "Probe",
          metadata: { name: JOBS[module], namespace, labels: { ...labels, ...PROMETHEUS_SELECTOR } },
          spec: {
            jobName: JOBS[module],
            interval: "30s",
            scrapeTimeout: "10s",
            module,
            prober: { url: `${BLACKBOX}.${namespace}.svc:${BLACKBOX_PORT}` },
            targets: { staticConfig: { static: [`https://${config.domain}${PROBES[module]}`] } },
          },
        },
        { parent: this, dependsOn: [args.monitoringCrds] },
      );
    }
    // Out to the public host (HTTPS) as a user would come in; Prometheus, in
    // the same namespace, reaches the exporter under allow-same-namespace.
    networkPolicy(this, "blackbox-egress", namespace, labels, {
      egress: [{ to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: tcp(443) }],
    });
    this.registerOutputs({});
  }
}

function blackboxContainer(image: string): k8s.types.input.core.v1.Container {
  return {
    name: BLACKBOX,
    image,
    args: ["--config.file=/etc/blackbox/blackbox.yml", `--web.listen-address=:${BLACKBOX_PORT}`],
    ports: [{ name: "http", containerPort: BLACKBOX_PORT }],
    securityContext: containerSecurity(BLACKBOX_UID),
    resources: {
      requests: { cpu: "10m", memory: "32Mi" },
      limits: { cpu: "200m", memory: "128Mi" },
    },
    readinessProbe: { httpGet: { path: "/-/healthy", port: "http" }, periodSeconds: 10 },
    livenessProbe: { httpGet: { path: "/-/healthy", port: "http" }, periodSeconds: 30 },
    volumeMounts: [{ name: "config", mountPath: "/etc/blackbox", readOnly: true }],
  };
}
