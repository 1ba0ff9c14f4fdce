// The real engine, not mocks: `pulumi up` of the whole program by the Pulumi
// CLI and the Kubernetes provider into a real kube-apiserver with RBAC and Pod
// Security enforced, every Helm release installed from its real chart and
// awaited, pods made Running/Ready by kwok's simulated kubelets; then a second
// preview must show no change, and destroy must leave nothing behind. Staging
// goes through the Automation API (inline program, `npm run up`) with its
// charts from a folder mirror, prod through the plain CLI and its language
// host, as users and the workflows run it, with its charts from an OCI
// registry mirror (the local stack runs in the real-pods lane, with the same
// checks).
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { type LocalCluster, startLocalCluster } from "../../scripts/local-cluster/cluster";
import { APPS, OWN_IMAGES } from "../apps";
import { selectStack } from "../automation";
import { CHARTS, type ChartPin, chartName } from "../charts";
import { namespaceNames } from "../components/namespaces";
import { alerts, auditApplied, CHURN, expectNoChanges, leftBehind, sum } from "./support/applied-stack";
import { CHART_MIRROR } from "./support/chart-mirror";
import { type OciChartMirror, startOciChartMirror } from "./support/oci-chart-mirror";
import { cliUnavailable, createCliProject } from "./support/pulumi-cli";
import { laneRunning } from "./support/suite-lanes";
import { slowestCreations, upReported } from "./support/update-report";
import { cliArgs, pulumiSteps } from "./support/workflow-pulumi";

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

describe("real pulumi up / preview / destroy into a local API server", { timeout: 45 * 60_000 }, () => {
  // The real-pods lane's drill waits for this lane (support/suite-lanes.ts).
  const unmark = laneRunning("real-up");
  after(unmark);

  // A cluster of its own for each stack, discarded whatever happens: a stack
  // that fails half-way (its releases still installed) cannot make the next
  // one fail with "cannot re-use a name that is still in use", so each
  // stack reports its own state.
  const withCluster = async (
    label: string,
    fn: (cluster: LocalCluster, baseline: Set<string>) => Promise<void>,
  ) => {
    const t = performance.now();
    const cluster = await startLocalCluster({ nodes: 3 });
    try {
      const baseline = await cluster.api.inventory(CHURN);
      console.log(
        `${label}: cluster up in ${seconds(performance.now() - t)} (${baseline.size} objects before the stack)`,
      );
      await fn(cluster, baseline);
    } finally {
      await cluster.stop({ keep: process.env.GOLIVE_KEEP_CLUSTER === "1" });
    }
  };

  // Staging through the Automation API (`npm run up`); prod through the plain
  // CLI below, the way the workflows deploy it (one prod up, not two); the
  // local stack gets the same checks in the real-pods lane, on its real node.
  for (const stackName of ["staging"]) {
    it(`${stackName}: up applies every object, a second preview shows 0 changes, destroy leaves nothing`, () =>
      withCluster(stackName, async (cluster, baseline) => {
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
          const up = await upReported(stack, { log, api: cluster.api });
          const upMs = performance.now() - t;
          const created = up.summary.resourceChanges?.create ?? 0;
          assert.equal(up.summary.result, "succeeded");
          console.log(`${stackName}: slowest to create: ${slowestCreations(log.join(""), 5).join(", ")}`);
          assert.ok(created > 50, `expected the whole stack, got ${created} resources`);

          await auditApplied(cluster.api, stackName);
          const previewMs = await expectNoChanges(stack, up, log);

          t = performance.now();
          const destroy = await stack.destroy({ onOutput });
          const destroyMs = performance.now() - t;
          assert.equal(destroy.summary.resourceChanges?.delete, sum(up.summary.resourceChanges));

          const { left, crds } = await leftBehind(cluster.api, baseline);
          assert.deepEqual(left, [], "objects left behind after destroy");
          console.log(
            `${stackName}: up ${created} resources in ${seconds(upMs)}; preview unchanged in ${seconds(previewMs)}; ` +
              `destroy ${destroy.summary.resourceChanges?.delete} in ${seconds(destroyMs)}; left: 0 objects (${crds.length} CRDs kept by Helm)`,
          );
        } finally {
          rmSync(workDir, { recursive: true, force: true });
        }
      }));
  }

  // The commands users type: Pulumi.yaml's nodejs runtime through the CLI's
  // language host (infra/index.ts), not the Automation API's inline program.
  const unavailable = cliUnavailable();
  it(
    "prod through the plain pulumi CLI: preview with the policy pack and up as the workflows run them, the documented outputs, no changes after, destroy; a broken policy fails the preview",
    {
      skip: unavailable,
    },
    () =>
      withCluster("cli", async (cluster, baseline) => {
        // Where the charts come from a mirror, prod takes them from an OCI
        // registry (staging above from the folder): a registry on loopback
        // under a CA of its own, which the provider's Helm trusts through
        // SSL_CERT_FILE, the charts pushed into it by `helm push`.
        let oci: OciChartMirror | undefined;
        if (CHART_MIRROR) {
          const t = performance.now();
          oci = await startOciChartMirror(CHART_MIRROR);
          console.log(`cli: charts pushed to ${oci.url} in ${seconds(performance.now() - t)}`);
        }
        let cli: ReturnType<typeof createCliProject>;
        try {
          cli = createCliProject({
            stack: "prod",
            kubeconfig: cluster.kubeconfig,
            passphrase: "golive-e2e-only",
            env: oci ? { SSL_CERT_FILE: oci.caFile, ...oci.helmEnv } : {},
          });
        } catch (err) {
          oci?.stop();
          throw err;
        }
        const timings: string[] = [];
        const step = async (label: string, args: string[], expectCode = 0) => {
          const res = await cli.run(args);
          timings.push(`${label} ${seconds(res.ms)}`);
          console.log(`cli: pulumi ${args.join(" ")} -> exit ${res.code} in ${seconds(res.ms)}`);
          assert.equal(res.code, expectCode, `pulumi ${args.join(" ")}:\n${res.output.slice(-6000)}`);
          return res.output;
        };
        const vars = { "matrix.stack": "prod", "github.sha": "0".repeat(40) };
        const previewStep = pulumiSteps("preview.yml").find((s) => s.inputs.command === "preview");
        const upStep = pulumiSteps("deploy.yml").find(
          (s) => s.inputs.command === "up" && s.inputs["stack-name"] === "prod",
        );
        assert.ok(previewStep && upStep, "preview.yml's preview and deploy.yml's prod up");
        let deployed = false;
        try {
          await step("login", ["login", `file://${path.join(cli.dir, "state")}`]);
          await step("stack init", ["stack", "init", "prod", "--secrets-provider", "passphrase"]);
          if (oci)
            await step("config", [
              "config",
              "set",
              "--path",
              "golive:charts.mirror",
              oci.url,
              "--stack",
              "prod",
            ]);

          const preview = await step("preview", cliArgs(previewStep, vars));
          assert.match(preview, /Policy Packs run:[\s\S]*golive/, "the policy pack ran");
          assert.match(preview, /\+ \d+ to create/);
          deployed = true;
          const up = await step("up", cliArgs(upStep, vars));
          const created = Number(/\+ (\d+) created/.exec(up)?.[1]);
          assert.ok(created > 50, `expected the whole stack, got ${created}`);
          if (oci) {
            const pulled = new Set(oci.pulled());
            const missing = Object.values(CHARTS as Record<string, ChartPin>)
              .map((pin) => `${chartName(pin)}:${pin.version}`)
              .filter((ref) => !pulled.has(ref));
            assert.deepEqual(missing, [], `charts not pulled from ${oci.url}`);
            console.log(`cli: every pinned chart pulled from the OCI mirror (${pulled.size} manifests)`);
          }
          // The applied objects: scrape targets, alert sources, sizing, the chaos policy.
          const targets = await auditApplied(cluster.api, "prod");
          console.log(
            targets
              .map((x) => `scrape ${x.monitor} ${x.port} -> ${x.component} (${x.pods}): ${x.status}`)
              .join("\n"),
          );
          console.log(alerts.map((a) => `alert ${a.alert} <- ${a.sources.join(", ")}`).join("\n"));

          // Every output README and docs name, in its documented shape.
          const outputs = JSON.parse(
            await step("stack output", ["stack", "output", "--json", "--stack", "prod"]),
          );
          assert.deepEqual(outputs.namespaces, namespaceNames("prod"));
          assert.match(
            outputs.grafanaPortForward,
            /^kubectl -n monitoring port-forward svc\/\S+grafana 3000:80$/,
          );
          assert.equal(outputs.loadTestTrigger, "npm run loadtest:trigger -- prod");
          assert.match(
            outputs.preflightTrigger,
            /^kubectl -n golive-prod create job --from=cronjob\/golive-preflight /,
          );
          assert.match(outputs.gatewayUrl, /^https:\/\//);
          assert.match(outputs.feedAddress, /^dns:\/\/\/feed-grpc\.golive-prod\.svc\.cluster\.local:\d+$/);
          const one = await step("stack output preflightTrigger", [
            "stack",
            "output",
            "preflightTrigger",
            "--stack",
            "prod",
          ]);
          assert.equal(one.trim(), outputs.preflightTrigger);
          // What deploy.yml records as prod's rollback target, by the same command.
          const images = JSON.parse(
            await step("stack output images", ["stack", "output", "images", "--json", "--stack", "prod"]),
          ) as Record<string, string>;
          assert.deepEqual(Object.keys(images), [
            ...APPS.map((a) => a.name),
            ...OWN_IMAGES.map((i) => i.name),
          ]);
          for (const ref of Object.values(images)) assert.match(ref, /^\S+[:@]\S+$/);

          await step("re-preview", [...cliArgs(previewStep, vars), "--expect-no-changes"]);

          // Invalid config fails the preview with the key and the reason, before
          // any resource is registered (a copy of the stack file; the stack's own
          // stays as it is).
          const badConfig = path.join(cli.dir, "Pulumi.prod.bad.yaml");
          copyFileSync(path.join(cli.dir, "Pulumi.prod.yaml"), badConfig);
          await step("bad config", [
            "config",
            "set",
            "--config-file",
            badConfig,
            "--path",
            "golive:images.feed",
            "ghcr.io/golive-kit/feed:latest",
            "--stack",
            "prod",
          ]);
          const refused = await step(
            "preview with bad config",
            [...cliArgs(previewStep, vars), "--config-file", badConfig],
            1,
          );
          assert.match(refused, /golive:images\.feed: "ghcr\.io\/golive-kit\/feed:latest" uses "latest"/);
          assert.doesNotMatch(refused, /kubernetes:/, "no resource was registered");

          // The policy pack bites through the CLI. Every policy a stack file could
          // break is refused earlier by the config schema (above), so the test
          // breaks the program instead: a resource transform, in a main of its
          // own, unpins the feed's image.
          cli.writeAltMain(
            "unpinned",
            `import * as pulumi from "@pulumi/pulumi";
pulumi.runtime.registerResourceTransform((args) => {
  if (args.type !== "kubernetes:apps/v1:Deployment" || args.name !== "feed") return undefined;
  const props = args.props as { spec: { template: { spec: { containers: { image: string }[] } } } };
  props.spec.template.spec.containers[0]!.image = "ghcr.io/golive-kit/feed:latest";
  return { props, opts: args.opts };
});`,
          );
          const violated = await step("preview with a policy broken", cliArgs(previewStep, vars), 1);
          assert.match(violated, /\[mandatory\]\s+no-latest-tags/);
          assert.match(violated, /image ghcr\.io\/golive-kit\/feed:latest is not pinned/);
        } finally {
          // Cleaned up before any assertion on it, so a failure leaves no folder.
          const destroy = deployed ? await cli.run(["destroy", "--yes", "--stack", "prod"]) : undefined;
          cli.remove();
          oci?.stop();
          if (destroy) {
            timings.push(`destroy ${seconds(destroy.ms)}`);
            console.log(`cli lane (prod): ${timings.join("; ")}`);
            assert.equal(destroy.code, 0, destroy.output.slice(-4000));
            assert.deepEqual(
              (await leftBehind(cluster.api, baseline)).left,
              [],
              "objects left behind after destroy",
            );
          }
        }
      }),
  );
});
