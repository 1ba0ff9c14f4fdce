import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { REPO_ROOT } from "../stack-files";
import { renderStack } from "./support/render";

type Any = Record<string, any>;

describe("in-cluster load-test template", () => {
  for (const stack of ["staging", "prod"]) {
    it(`${stack}: the chaos Role allows exactly get/list/watch/delete on pods in the app namespace`, async () => {
      const r = await renderStack(stack);
      const role = r.find("Role", "pod-chaos", `golive-${stack}`) as Any;
      assert.deepEqual(role.rules, [
        { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch", "delete"] },
      ]);
      const binding = r.find("RoleBinding", "pod-chaos", `golive-${stack}`) as Any;
      assert.deepEqual(binding.subjects, [
        { kind: "ServiceAccount", name: "loadtest-chaos", namespace: `golive-${stack}-loadtest` },
      ]);
      assert.equal(r.all("ClusterRole").length, 0);
    });

    it(`${stack}: only the chaos container holds the service-account token`, async () => {
      const r = await renderStack(stack);
      const pod = (r.find("CronJob", "golive-drill", `golive-${stack}-loadtest`) as Any).spec.jobTemplate.spec
        .template.spec;
      assert.equal(pod.automountServiceAccountToken, false);
      const tokenVolumes = pod.volumes
        .filter((v: Any) => v.projected?.sources?.some((s: Any) => s.serviceAccountToken))
        .map((v: Any) => v.name);
      assert.equal(tokenVolumes.length, 1);
      const holders = pod.containers
        .filter((c: Any) => c.volumeMounts.some((m: Any) => tokenVolumes.includes(m.name)))
        .map((c: Any) => c.name);
      assert.deepEqual(holders, ["chaos"]);
    });

    it(`${stack}: the CronJob is a suspended template with pinned images and in-cluster remote write`, async () => {
      const r = await renderStack(stack);
      const cron = r.find("CronJob", "golive-drill", `golive-${stack}-loadtest`) as Any;
      assert.equal(cron.spec.suspend, true);
      const pod = cron.spec.jobTemplate.spec.template.spec;
      assert.equal(cron.spec.jobTemplate.spec.backoffLimit, 0);
      assert.equal(pod.restartPolicy, "Never");
      assert.equal(pod.serviceAccountName, "loadtest-chaos");
      for (const c of pod.containers) {
        assert.match(c.image, /(@sha256:[a-f0-9]{64}|:[\w][\w.-]*)$/);
        assert.doesNotMatch(c.image, /:latest$/);
      }
      const k6 = pod.containers.find((c: Any) => c.name === "k6");
      assert.deepEqual(k6.args.slice(0, 3), ["run", "--out", "experimental-prometheus-rw"]);
      const rw = k6.env.find((e: Any) => e.name === "K6_PROMETHEUS_RW_SERVER_URL").value;
      assert.equal(
        rw,
        "http://kube-prometheus-stack-prometheus.monitoring.svc.cluster.local:9090/api/v1/write",
      );
      const prometheusSvc = spec(r.find("Release", "kube-prometheus-stack", "monitoring")).values.prometheus;
      assert.equal(prometheusSvc.prometheusSpec.enableRemoteWriteReceiver, true);
      const cm = r.find("ConfigMap", "loadtest-scripts", `golive-${stack}-loadtest`) as Any;
      assert.ok(cm.data["drill.js"], "the k6 script from loadtest/ is in the ConfigMap");
      assert.ok(cm.data["proto__feed__v1__feed.proto"]);
      assert.ok(cm.data["chaos.sh"]);
      const k6Egress = r.find("NetworkPolicy", "k6-egress", `golive-${stack}-loadtest`) as Any;
      const ports = k6Egress.spec.egress.flatMap((e: Any) => e.ports.map((p: Any) => p.port));
      assert.deepEqual(ports.sort(), [443, 50051, 6443, 8080, 9090].sort());
    });
  }

  it("the trigger command creates a Job from the template and exits with its verdict", () => {
    for (const [status, code] of [
      ["succeeded", 0],
      ["failed", 1],
    ] as const) {
      const bin = mkdtempSync(path.join(os.tmpdir(), "fake-kubectl-"));
      const log = path.join(bin, "calls.log");
      // A fake kubectl that records its calls and reports the Job as done.
      writeFileSync(
        path.join(bin, "kubectl"),
        `#!/bin/sh\necho "$*" >> "${log}"\ncase "$*" in *"jsonpath={.status.${status}}"*) echo 1 ;; esac\nexit 0\n`,
      );
      chmodSync(path.join(bin, "kubectl"), 0o755);
      const run = spawnSync(
        "bash",
        [path.join(REPO_ROOT, "scripts", "trigger-loadtest.sh"), "staging", "30"],
        {
          env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
          encoding: "utf8",
          timeout: 20_000,
        },
      );
      const calls = spawnSync("cat", [log], { encoding: "utf8" }).stdout;
      rmSync(bin, { recursive: true, force: true });
      assert.equal(run.status, code, run.stdout + run.stderr);
      assert.match(
        calls,
        /-n golive-staging-loadtest create job golive-drill-\S+ --from=cronjob\/golive-drill/,
      );
    }
  });

  it("the trigger command refuses an unknown stack", () => {
    const run = spawnSync("bash", [path.join(REPO_ROOT, "scripts", "trigger-loadtest.sh"), "qa"], {
      encoding: "utf8",
    });
    assert.equal(run.status, 2);
  });
});

function spec(o: Any) {
  return o.spec as Any;
}
