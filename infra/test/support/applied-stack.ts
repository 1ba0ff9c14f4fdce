// The checks every stack gets once the real engine has applied it into a
// local cluster: what the API server holds (scrape targets, alert sources,
// sizing, the chaos identity's reach), a second preview with no change, and
// what a destroy leaves. The real-engine lane runs them on staging and prod
// (kwok nodes), the real-pods lane on the local stack (its real node).
import assert from "node:assert/strict";
import type { OpMap, Stack, UpResult } from "@pulumi/pulumi/automation";
import { allRuleFiles } from "../../../alerting/rule-files";
import type { KubeApi } from "../../../scripts/local-cluster/kube-api";
import { namespaceNames } from "../../components/namespaces";
import {
  alertSources,
  auditScrapeTargets,
  containersWithoutLimits,
  droppedAlertSeries,
  operatorWorkloadGaps,
} from "./cluster-audit";

/** Kinds the control plane itself keeps writing, whatever the stack does. */
export const CHURN = new Set(["Event", "Lease"]);

/** Every alert with the scrape targets its series come from (the same for every stack). */
export const alerts = alertSources(allRuleFiles().flatMap((f) => f.groups.flatMap((g) => g.rules)));

export const sum = (ops: OpMap | undefined) => Object.values(ops ?? {}).reduce((a, b) => a + (b ?? 0), 0);

/**
 * What the API server holds after `up`: every ServiceMonitor's target live,
 * every alert fed, every container sized, the operators' workloads sized and
 * on volumes, and the chaos identity (impersonated) allowed a feed pod only.
 */
export async function auditApplied(api: KubeApi, stackName: string) {
  const targets = await auditScrapeTargets(api);
  const dead = targets.filter((x) => x.status !== "ok");
  assert.deepEqual(dead, [], "scrape targets Prometheus does not select or cannot reach");
  const live = new Set(targets.map((x) => x.component));
  const deadAlerts = alerts.filter((a) => a.sources.some((src) => !live.has(src)));
  assert.deepEqual(deadAlerts, [], "alerts whose series come from no scraped target");
  assert.deepEqual(droppedAlertSeries(alerts, targets), [], "alert series dropped before storage");
  const unsized = await containersWithoutLimits(api, Object.values(namespaceNames(stackName)));
  assert.deepEqual(unsized, [], "containers without CPU/memory requests and limits");
  assert.deepEqual(await operatorWorkloadGaps(api), [], "Prometheus/Alertmanager storage and sizing");
  // RBAC lets the chaos identity delete any pod in the app namespace; the
  // admission policy narrows that to feed pods.
  const appNs = namespaceNames(stackName).app;
  const asChaos = { "Impersonate-User": `system:serviceaccount:${appNs}-loadtest:loadtest-chaos` };
  const pods = await api.get<{ items: { metadata: { name: string } }[] }>(`/api/v1/namespaces/${appNs}/pods`);
  const feedPod = pods.items.find(
    (p) => p.metadata.name.startsWith("feed-") && !p.metadata.name.includes("migrate"),
  );
  assert.ok(feedPod, "a feed pod runs");
  const dryDelete = (pod: string) =>
    api.request<{ message?: string }>(
      "DELETE",
      `/api/v1/namespaces/${appNs}/pods/${pod}?dryRun=All`,
      undefined,
      asChaos,
    );
  assert.equal((await dryDelete(feedPod.metadata.name)).status, 200, "the chaos step may delete a feed pod");
  const postgres = await dryDelete("postgres-0");
  assert.equal(postgres.status, 403, "the chaos step may not delete Postgres");
  assert.match(String(postgres.body.message), /feed pods only/);
  return targets;
}

/** A second preview right after `up` wants no change. Returns how long it took. */
export async function expectNoChanges(stack: Stack, up: UpResult, log: string[]): Promise<number> {
  const t = performance.now();
  const preview = await stack.preview({ onOutput: (text) => log.push(text) });
  const changes = Object.fromEntries(Object.entries(preview.changeSummary).filter(([op]) => op !== "same"));
  assert.deepEqual(changes, {}, `second preview wants changes:\n${log.join("").slice(-4000)}`);
  assert.equal(preview.changeSummary.same, sum(up.summary.resourceChanges));
  return performance.now() - t;
}

/**
 * What a destroy left in the cluster beyond what was there before. Helm never
 * deletes CRDs of a chart's crds/ folder, and cert-manager's are kept on
 * purpose (deleting a CRD deletes every object of its kind); the API server
 * keeps an APIService for each group they serve: those are counted apart.
 */
export async function leftBehind(api: KubeApi, baseline: Set<string>) {
  const now = await api.inventory(CHURN);
  const all = [...now].filter((o) => !baseline.has(o));
  const crds = all.filter((o) => o.includes(" CustomResourceDefinition "));
  const crdGroups = new Set(crds.map((o) => o.slice(o.indexOf(".", o.lastIndexOf(" ")) + 1)));
  const crdApis = all.filter((o) => {
    const m = / APIService v[^.]+\.(.+)$/.exec(o);
    return m?.[1] !== undefined && crdGroups.has(m[1]);
  });
  return { left: all.filter((o) => !crds.includes(o) && !crdApis.includes(o)), crds };
}
