// The bill of materials: every part of one environment, in the order it
// comes up. Each line is one layer (infra/layers/), each layer a few
// components (infra/components/); the apps come from the app list
// (infra/apps.ts).
import type { AppDescriptor } from "@golive/shared/app-descriptor";
import { APPS, checkApps, OWN_IMAGES } from "./apps";
import { Namespaces } from "./components/namespaces";
import { NetworkPolicies } from "./components/network-policies";
import { forApp, type StackConfig } from "./config";
import type { StackContext } from "./layers/context";
import { dataLayer } from "./layers/data";
import { drillLayer, edgeLayer } from "./layers/edge";
import { observabilityLayer } from "./layers/observability";
import { serviceLayer } from "./layers/services";

export interface StackOutputs {
  namespaces: Record<string, string>;
  gatewayUrl: string;
  grafanaPortForward: string;
  loadTestTrigger: string;
  /** Starts the go-live preflight Job (docs/preflight.md). */
  preflightTrigger: string;
  feedAddress: string;
  /**
   * Every app's image as deployed, and our other images the stack names
   * (OWN_IMAGES, by image name): deploy.yml records it as prod's rollback
   * target, and pin-images.ts writes it back under the same keys.
   */
  images: Record<string, string>;
}

export function goLiveStack(config: StackConfig, apps: readonly AppDescriptor[] = APPS): StackOutputs {
  checkApps(apps);
  const ns = new Namespaces("namespaces", { environment: config.environment });
  const ctx: StackContext = {
    config,
    apps,
    ns,
    after: (...roles) => ({ dependsOn: roles.map((r) => ns.resources[r]) }),
  };
  const data = dataLayer(ctx);
  const observability = observabilityLayer(ctx);
  const services = serviceLayer(ctx, data, observability);
  const edge = edgeLayer(ctx, services, observability);
  const { loadTest, preflight } = drillLayer(ctx, data, services, observability, edge);
  data.database.admit(ns.names.app, [
    ...services.databaseClients,
    data.migrations.podLabels,
    data.backup.backupLabels,
    data.retention.labels,
    preflight.labels,
  ]);
  // Last, so that every allow rule above exists before anything is denied.
  new NetworkPolicies(
    "network-policies",
    { names: ns.names },
    ctx.after("app", "loadtest", "monitoring", "logging", "gateway", "certManager"),
  );

  return {
    namespaces: { ...ns.names },
    gatewayUrl: edge.ingress.url,
    grafanaPortForward: `kubectl -n ${ns.names.monitoring} port-forward svc/${observability.monitoring.grafanaService} 3000:80`,
    loadTestTrigger: loadTest.triggerCommand,
    preflightTrigger: preflight.triggerCommand,
    feedAddress: services.drillTarget.address,
    images: {
      ...Object.fromEntries(apps.map((a) => [a.name, forApp(config.images, a.name)])),
      ...Object.fromEntries(
        OWN_IMAGES.flatMap((i) => {
          const ref = (config.images as Record<string, string | undefined>)[i.key];
          return ref ? [[i.name, ref]] : [];
        }),
      ),
    },
  };
}
