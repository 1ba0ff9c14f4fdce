// The real engine, not mocks: for each stack, `pulumi up` of the whole
// program by the Pulumi CLI and the Kubernetes provider (Automation API,
// inline program) into a real kube-apiserver with RBAC and Pod Security
// enforced, every Helm release installed from its real chart and awaited, pods
// made Running/Ready by kwok's simulated kubelets. Then a second preview must
// show no change, and destroy must leave nothing behind.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { OpMap } from "@pulumi/pulumi/automation";
import { loadRuleFiles } from "../../alerting/rule-files";
import { type LocalCluster, startLocalCluster } from "../../scripts/local-cluster/cluster";
import { selectStack } from "../automation";
import { namespaceNames } from "../components/namespaces";
import { REPO_ROOT } from "../stack-files";
import {
  alertSources,
  auditScrapeTargets,
  containersWithoutLimits,
  droppedAlertSeries,
  operatorWorkloadGaps,
} from "./support/cluster-audit";

/**
 * The pinned charts, packaged, where the chart repositories cannot be reached
 * (these machines: ../shared/charts). Elsewhere the releases pull from upstream.
 */
const CHART_MIRROR =
  process.env.GOLIVE_CHART_MIRROR ??
  (existsSync(path.resolve(REPO_ROOT, "..", "shared", "charts"))
    ? path.resolve(REPO_ROOT, "..", "shared", "charts")
    : undefined);

/** Kinds the control plane itself keeps writing, whatever the stack does. */
const CHURN = new Set(["Event", "Lease"]);

/** Every alert with the scrape targets its series come from (the same for every stack). */
const alerts = alertSources(loadRuleFiles().flatMap((f) => f.groups.flatMap((g) => g.rules)));

const sum = (ops: OpMap | undefined) => Object.values(ops ?? {}).reduce((a, b) => a + (b ?? 0), 0);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

describe("real pulumi up / preview / destroy into a local API server", { timeout: 45 * 60_000 }, () => {
  let cluster: LocalCluster;
  let baseline: Set<string>;

  before(async () => {
    const t = performance.now();
    cluster = await startLocalCluster({ nodes: 3 });
    baseline = await cluster.api.inventory(CHURN);
    console.log(
      `cluster up in ${seconds(performance.now() - t)} (${baseline.size} objects before any stack)`,
    );
  });

  after(async () => {
    await cluster?.stop({ keep: process.env.GOLIVE_KEEP_CLUSTER === "1" });
  });

  for (const stackName of ["local", "staging", "prod"]) {
    it(`${stackName}: up applies every object, a second preview shows 0 changes, destroy leaves nothing`, async () => {
      const workDir = mkdtempSync(path.join(tmpdir(), `golive-${stackName}-`));
      const log: string[] = [];
      const onOutput = (text: string) => log.push(text);
      try {
        const stack = await selectStack({
          stack: stackName,
          workDir,
          kubeconfig: cluster.kubeconfig,
          chartMirror: CHART_MIRROR,
          passphrase: "golive-e2e-only",
        });

        let t = performance.now();
        const up = await stack.up({ onOutput }).catch((err: Error) => {
          throw new Error(`${err.message}\n${log.join("").slice(-6000)}`);
        });
        const upMs = performance.now() - t;
        const created = up.summary.resourceChanges?.create ?? 0;
        assert.equal(up.summary.result, "succeeded");
        assert.ok(created > 50, `expected the whole stack, got ${created} resources`);

        // What Helm rendered from the charts, as the API server holds it.
        const targets = await auditScrapeTargets(cluster.api);
        const dead = targets.filter((x) => x.status !== "ok");
        assert.deepEqual(dead, [], "scrape targets Prometheus does not select or cannot reach");
        const live = new Set(targets.map((x) => x.component));
        const deadAlerts = alerts.filter((a) => a.sources.some((src) => !live.has(src)));
        assert.deepEqual(deadAlerts, [], "alerts whose series come from no scraped target");
        assert.deepEqual(droppedAlertSeries(alerts, targets), [], "alert series dropped before storage");
        const unsized = await containersWithoutLimits(cluster.api, Object.values(namespaceNames(stackName)));
        assert.deepEqual(unsized, [], "containers without CPU/memory requests and limits");
        assert.deepEqual(
          await operatorWorkloadGaps(cluster.api),
          [],
          "Prometheus/Alertmanager storage and sizing",
        );
        // The chaos identity, impersonated: RBAC lets it delete any pod in the
        // app namespace; the admission policy narrows that to feed pods.
        const appNs = namespaceNames(stackName).app;
        const asChaos = { "Impersonate-User": `system:serviceaccount:${appNs}-loadtest:loadtest-chaos` };
        const pods = await cluster.api.get<{ items: { metadata: { name: string } }[] }>(
          `/api/v1/namespaces/${appNs}/pods`,
        );
        const feedPod = pods.items.find(
          (p) => p.metadata.name.startsWith("feed-") && !p.metadata.name.includes("migrate"),
        );
        assert.ok(feedPod, "a feed pod runs");
        const dryDelete = (pod: string) =>
          cluster.api.request<{ message?: string }>(
            "DELETE",
            `/api/v1/namespaces/${appNs}/pods/${pod}?dryRun=All`,
            undefined,
            asChaos,
          );
        assert.equal(
          (await dryDelete(feedPod.metadata.name)).status,
          200,
          "the chaos step may delete a feed pod",
        );
        const postgres = await dryDelete("postgres-0");
        assert.equal(postgres.status, 403, "the chaos step may not delete Postgres");
        assert.match(String(postgres.body.message), /feed pods only/);
        if (stackName === "prod") {
          console.log(
            targets
              .map((x) => `scrape ${x.monitor} ${x.port} -> ${x.component} (${x.pods}): ${x.status}`)
              .join("\n"),
          );
          console.log(alerts.map((a) => `alert ${a.alert} <- ${a.sources.join(", ")}`).join("\n"));
        }

        t = performance.now();
        const preview = await stack.preview({ onOutput });
        const previewMs = performance.now() - t;
        const changes = Object.fromEntries(
          Object.entries(preview.changeSummary).filter(([op]) => op !== "same"),
        );
        assert.deepEqual(changes, {}, `second preview wants changes:\n${log.join("").slice(-4000)}`);
        assert.equal(preview.changeSummary.same, sum(up.summary.resourceChanges));

        t = performance.now();
        const destroy = await stack.destroy({ onOutput });
        const destroyMs = performance.now() - t;
        assert.equal(destroy.summary.resourceChanges?.delete, sum(up.summary.resourceChanges));

        const now = await cluster.api.inventory(CHURN);
        const left = [...now].filter((o) => !baseline.has(o));
        // Helm never deletes CRDs of a chart's crds/ folder, and cert-manager's
        // are kept on purpose (deleting a CRD deletes every object of its kind);
        // the API server keeps an APIService for each group they serve.
        const crds = left.filter((o) => o.includes(" CustomResourceDefinition "));
        const crdGroups = new Set(crds.map((o) => o.slice(o.indexOf(".", o.lastIndexOf(" ")) + 1)));
        const crdApis = left.filter((o) => {
          const m = / APIService v[^.]+\.(.+)$/.exec(o);
          return m?.[1] !== undefined && crdGroups.has(m[1]);
        });
        assert.deepEqual(
          left.filter((o) => !crds.includes(o) && !crdApis.includes(o)),
          [],
          "objects left behind after destroy",
        );
        console.log(
          `${stackName}: up ${created} resources in ${seconds(upMs)}; preview ${preview.changeSummary.same} unchanged in ${seconds(previewMs)}; ` +
            `destroy ${destroy.summary.resourceChanges?.delete} in ${seconds(destroyMs)}; left: 0 objects (${crds.length} CRDs kept by Helm)`,
        );
      } finally {
        rmSync(workDir, { recursive: true, force: true });
      }
    });
  }
});
