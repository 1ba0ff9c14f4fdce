import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { parseStackConfig } from "../config";
import { REPO_ROOT, rawStackConfig } from "../stack-files";
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

    it(`${stack}: the drill goes through the edge: the public host resolved to the proxies' Service, the drill token, the WAF mode`, async () => {
      const r = await renderStack(stack);
      const pod = (r.find("CronJob", "golive-drill", `golive-${stack}-loadtest`) as Any).spec.jobTemplate.spec
        .template.spec;
      const envOf = (c: Any) =>
        Object.fromEntries(c.env.map((e: Any) => [e.name, e.value ?? e.valueFrom?.secretKeyRef]));
      const k6 = envOf(pod.containers.find((c: Any) => c.name === "k6"));
      const resolve = envOf(pod.initContainers.find((c: Any) => c.name === "resolve-edge"));
      const domain = new URL(k6.GATEWAY_URL).hostname;
      assert.equal(k6.GATEWAY_URL, `https://${domain}`);
      assert.equal(k6.EDGE_ADDR_FILE, resolve.EDGE_ADDR_FILE);
      assert.deepEqual(k6.DRILL_TOKEN, { name: "drill-token", key: "token" });
      assert.equal(k6.WAF_MODE, stack === "prod" ? "blocking" : "detection");
      assert.equal(k6.WAF_ENGINE, "ext-authz");
      // Only prod's certificate comes from a publicly trusted CA.
      assert.equal(k6.K6_INSECURE_SKIP_TLS_VERIFY, stack === "prod" ? undefined : "true");
      // The Service name the init step resolves is the one Envoy Gateway gives our Gateway's proxies.
      const gateway = r.find("Gateway", "golive", "envoy-gateway-system") as Any;
      const ref = gateway.spec.infrastructure.parametersRef;
      const proxy = r.find(ref.kind, ref.name, "envoy-gateway-system") as Any;
      const service = proxy.spec.provider.kubernetes.envoyService.name;
      assert.equal(resolve.EDGE_SERVICE_HOST, `${service}.envoy-gateway-system.svc.cluster.local`);
      assert.ok(gateway.spec.listeners.some((l: Any) => l.hostname === domain && l.port === 443));
    });

    it(`${stack}: the CronJob is a suspended template with pinned images and in-cluster remote write`, async () => {
      const r = await renderStack(stack);
      const cron = r.find("CronJob", "golive-drill", `golive-${stack}-loadtest`) as Any;
      assert.equal(cron.spec.suspend, true);
      const pod = cron.spec.jobTemplate.spec.template.spec;
      assert.equal(cron.spec.jobTemplate.spec.backoffLimit, 0);
      assert.equal(pod.restartPolicy, "Never");
      assert.equal(pod.serviceAccountName, "loadtest-chaos");
      for (const c of [...pod.initContainers, ...pod.containers]) {
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
      assert.ok(cm.data["resolve-edge.sh"]);
      // HTTP and WebSocket flows go to the edge (Envoy's https port), not to the gateway pods.
      const k6Egress = r.find("NetworkPolicy", "k6-egress", `golive-${stack}-loadtest`) as Any;
      const ports = k6Egress.spec.egress.flatMap((e: Any) => e.ports.map((p: Any) => p.port));
      assert.deepEqual(ports.sort(), [10443, 443, 50051, 6443, 9090].sort());
    });
  }

  it("loadtest.target gateway: the drill goes to the gateway Service, which admits it, with no edge step", async () => {
    const r = await renderStack("local", { loadtest: { target: "gateway", duration: "120s" } });
    const pod = (r.find("CronJob", "golive-drill", "golive-local-loadtest") as Any).spec.jobTemplate.spec
      .template.spec;
    assert.equal(pod.initContainers, undefined);
    const k6 = Object.fromEntries(
      pod.containers.find((c: Any) => c.name === "k6").env.map((e: Any) => [e.name, e.value]),
    );
    assert.equal(k6.GATEWAY_URL, "http://gateway.golive-local.svc.cluster.local:8080");
    assert.equal(k6.WAF_MODE, "none");
    assert.equal(k6.DURATION, "120s");
    assert.equal(k6.EDGE_ADDR_FILE, undefined);
    const egress = (r.find("NetworkPolicy", "k6-egress", "golive-local-loadtest") as Any).spec.egress;
    assert.deepEqual(
      egress.flatMap((e: Any) => e.ports.map((p: Any) => p.port)).sort(),
      [8080, 50051, 6443, 443, 9090].sort(),
    );
    const ingress = (r.find("NetworkPolicy", "gateway-ingress", "golive-local") as Any).spec.ingress;
    const from8080 = ingress.find((i: Any) => i.ports.some((p: Any) => p.port === 8080)).from;
    assert.ok(
      from8080.some(
        (f: Any) =>
          f.namespaceSelector?.matchLabels?.["kubernetes.io/metadata.name"] === "golive-local-loadtest" &&
          f.podSelector?.matchLabels?.["app.kubernetes.io/name"] === "loadtest",
      ),
      JSON.stringify(from8080),
    );
    // The committed stacks keep the edge: the gateway admits the edge's proxies only.
    const local = await renderStack("local");
    const edgeOnly = (local.find("NetworkPolicy", "gateway-ingress", "golive-local") as Any).spec.ingress;
    assert.equal(edgeOnly.find((i: Any) => i.ports.some((p: Any) => p.port === 8080)).from.length, 1);
  });

  it("a bad loadtest.duration is refused with the field and the reason", () => {
    assert.throws(
      () => parseStackConfig({ ...rawStackConfig("local"), loadtest: { duration: "2 minutes" } }),
      /loadtest\.duration: a k6 duration in whole seconds or minutes/,
    );
  });

  /** Runs the trigger for staging against a fake kubectl (this shell snippet, then exit 0) that logs its calls. */
  const trigger = (kubectl: string, timeoutSeconds: number) => {
    const bin = mkdtempSync(path.join(os.tmpdir(), "fake-kubectl-"));
    const log = path.join(bin, "calls.log");
    writeFileSync(path.join(bin, "kubectl"), `#!/bin/sh\necho "$*" >> "${log}"\n${kubectl}\nexit 0\n`);
    chmodSync(path.join(bin, "kubectl"), 0o755);
    const run = spawnSync(
      "bash",
      [path.join(REPO_ROOT, "scripts", "trigger-loadtest.sh"), "staging", String(timeoutSeconds)],
      { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, encoding: "utf8", timeout: 30_000 },
    );
    const calls = spawnSync("cat", [log], { encoding: "utf8" }).stdout;
    rmSync(bin, { recursive: true, force: true });
    return { status: run.status, output: run.stdout + run.stderr, calls };
  };

  it("the trigger command creates a Job from the template and exits with its verdict", () => {
    for (const [status, code] of [
      ["succeeded", 0],
      ["failed", 1],
    ] as const) {
      // The fake reports the Job as done.
      const run = trigger(`case "$*" in *"jsonpath={.status.${status}}"*) echo 1 ;; esac`, 30);
      assert.equal(run.status, code, run.output);
      assert.match(
        run.calls,
        /-n golive-staging-loadtest create job golive-drill-\S+ --from=cronjob\/golive-drill/,
      );
    }
  });

  it("a drill with no verdict in time fails the gate (124) and is deleted; a Job that cannot be created fails it too", () => {
    const stuck = trigger("", 1);
    assert.equal(stuck.status, 124, stuck.output);
    assert.match(stuck.calls, /-n golive-staging-loadtest delete job golive-drill-\S+/);
    const missing = trigger('case "$*" in *"create job"*) exit 1 ;; esac', 1);
    assert.equal(missing.status, 1, missing.output);
  });

  it("the trigger command refuses an unknown stack", () => {
    const run = spawnSync("bash", [path.join(REPO_ROOT, "scripts", "trigger-loadtest.sh"), "qa"], {
      encoding: "utf8",
    });
    assert.equal(run.status, 2);
  });

  it("the edge init step writes the Service's address for k6, and fails clearly when it cannot resolve", () => {
    for (const [answer, code] of [
      ["10.96.0.7       golive-edge.envoy-gateway-system.svc.cluster.local", 0],
      ["", 1],
    ] as const) {
      const dir = mkdtempSync(path.join(os.tmpdir(), "fake-getent-"));
      // getent answers like the C library's resolver: "address  name", or nothing and status 2.
      writeFileSync(
        path.join(dir, "getent"),
        `#!/bin/sh\n[ "$1 $2" = "hosts golive-edge.envoy-gateway-system.svc.cluster.local" ] || exit 2\n${answer ? `echo "${answer}"` : "exit 2"}\n`,
      );
      chmodSync(path.join(dir, "getent"), 0o755);
      const addrFile = path.join(dir, "edge-addr");
      const run = spawnSync("sh", [path.join(REPO_ROOT, "infra", "loadtest", "resolve-edge.sh")], {
        env: {
          PATH: `${dir}:${process.env.PATH}`,
          EDGE_SERVICE_HOST: "golive-edge.envoy-gateway-system.svc.cluster.local",
          EDGE_ADDR_FILE: addrFile,
        },
        encoding: "utf8",
        timeout: 10_000,
      });
      const written = spawnSync("cat", [addrFile], { encoding: "utf8" }).stdout;
      rmSync(dir, { recursive: true, force: true });
      assert.equal(run.status, code, run.stdout + run.stderr);
      if (code === 0) assert.equal(written, "10.96.0.7\n");
      else assert.match(run.stderr, /cannot resolve golive-edge\.envoy-gateway-system/);
    }
  });
});

function spec(o: Any) {
  return o.spec as Any;
}

// The chaos step (infra/loadtest/chaos.sh) against a fake kubectl that keeps
// a pod list in a file: a deleted pod is replaced by a new ready one, as the
// Deployment would. In one CI run a drill started while an earlier drill's
// victim was still draining (deletionTimestamp set, still Ready): the step
// counted four replicas of three and waited its whole timeout for a fourth.
describe("chaos step", () => {
  const run = (podLines: string[]) => {
    const bin = mkdtempSync(path.join(os.tmpdir(), "fake-kubectl-chaos-"));
    const state = path.join(bin, "pods");
    writeFileSync(state, `${podLines.join("\n")}\n`);
    writeFileSync(
      path.join(bin, "kubectl"),
      `#!/bin/sh
case "$*" in
  "auth can-i"*) echo yes ;;
  "delete pod"*) victim="$5"; grep -v "^$victim|" "${state}" > "${state}.new"; echo "feed-new||True" >> "${state}.new"; mv "${state}.new" "${state}"; echo "$victim" > "${bin}/deleted" ;;
  "get pods"*"--no-headers"*) cat "${state}" ;;
  "get pods"*) cat "${state}" ;;
  "get pod "*) grep -q "^$5|" "${state}" ;;
esac
`,
    );
    chmodSync(path.join(bin, "kubectl"), 0o755);
    const result = spawnSync("sh", [path.join(REPO_ROOT, "infra", "loadtest", "chaos.sh")], {
      env: {
        PATH: `${bin}:${process.env.PATH}`,
        TARGET_NAMESPACE: "golive-staging",
        TARGET_SELECTOR: "app.kubernetes.io/name=feed",
        CHAOS_DELAY_SECONDS: "0",
        RECOVERY_TIMEOUT_SECONDS: "10",
      },
      encoding: "utf8",
      timeout: 30_000,
    });
    const deleted = spawnSync("cat", [path.join(bin, "deleted")], { encoding: "utf8" }).stdout.trim();
    rmSync(bin, { recursive: true, force: true });
    return { status: result.status, output: result.stdout + result.stderr, deleted };
  };

  it("a pod still draining from an earlier deletion is not a replica: not counted, not chosen", () => {
    const res = run(["feed-old|2026-12-05T16:23:20Z|True", "feed-a||True", "feed-b||True", "feed-c||True"]);
    assert.equal(res.status, 0, res.output);
    assert.match(res.output, /steady state check: 3\/3 feed pods ready/);
    assert.equal(res.deleted, "feed-a");
    assert.match(res.output, /recovered: 3\/3 ready/);
  });

  it("refuses to act when a live replica is not ready", () => {
    const res = run(["feed-a||True", "feed-b||False"]);
    assert.equal(res.status, 1, res.output);
    assert.match(res.output, /not in steady state/);
    assert.equal(res.deleted, "");
  });
});
