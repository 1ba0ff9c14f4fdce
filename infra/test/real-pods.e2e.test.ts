// Pods that really run: the local stack applied by the real engine into a
// local cluster with one real node (containerd, runc, kubelet, kube-proxy, a
// NetworkPolicy engine; scripts/local-cluster/real-node.ts). The app and
// load-test namespaces run there from images built here without a registry
// (scripts/local-cluster/images.ts); the charts' workloads stay on kwok's
// simulated nodes. `pulumi up` itself waits for the migrations Job to
// complete and for Postgres, feed and gateway to be Ready through their real
// probes. Then: every container runs as its manifest's non-root user on a
// read-only root; a page comes from Postgres through `kubectl port-forward`
// to the gateway Service; the NetworkPolicy matrix (infra/network-matrix.yaml)
// is measured with real connections, compared with the file and with the
// policy evaluator, and a policy broken on purpose is caught.
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { type LocalCluster, startLocalCluster } from "../../scripts/local-cluster/cluster";
import {
  type BuiltImage,
  buildLocalImages,
  GOLIVE_CACHE,
  type LocalImage,
  stackImageOverrides,
} from "../../scripts/local-cluster/images";
import type { KubeObject } from "../../scripts/local-cluster/kube-api";
import { selectStack } from "../automation";
import { DATABASE_NAME } from "../components/database";
import { namespaceNames } from "../components/namespaces";
import { PREFLIGHT_CRONJOB } from "../components/preflight";
import { REPO_ROOT } from "../stack-files";
import { CHART_MIRROR } from "./support/chart-mirror";
import { formatMatrix, measureMatrix } from "./support/network-matrix";

const KUBECTL = path.join(REPO_ROOT, ".tools", "bin", "kubectl");
const STACK = "local";

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Pod = KubeObject & {
  metadata: { name: string; namespace: string; uid: string };
  spec: { nodeName?: string; containers: { name: string; securityContext?: { runAsUser?: number } }[] };
  status?: { phase?: string; containerStatuses?: { name: string; containerID?: string; ready: boolean }[] };
};

/** The PID of a running container, found through the real node's cgroups (cgroup v1 "pids"). */
function containerPid(cgroupRoot: string, containerId: string): number | undefined {
  const walk = (dir: string): string | undefined => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      const sub = path.join(dir, e.name);
      if (e.name.includes(containerId)) return sub;
      const found = walk(sub);
      if (found) return found;
    }
    return undefined;
  };
  const dir = existsSync(cgroupRoot) ? walk(cgroupRoot) : undefined;
  const pid = dir ? readFileSync(path.join(dir, "cgroup.procs"), "utf8").split("\n")[0] : undefined;
  return pid ? Number(pid) : undefined;
}

describe("real pods: the local stack on a real node", { timeout: 40 * 60_000 }, () => {
  let cluster: LocalCluster | undefined;
  let refs: Record<LocalImage, string>;
  let images: Record<LocalImage, BuiltImage>;
  const steps: string[] = [];
  const step = async <T>(label: string, fn: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    try {
      return await fn();
    } finally {
      steps.push(`${label} ${seconds(performance.now() - t)}`);
      console.log(`real-pods: ${label} in ${seconds(performance.now() - t)}`);
    }
  };

  before(async () => {
    images = await step("images", () =>
      buildLocalImages({
        cacheDir: path.join(GOLIVE_CACHE, "images"),
        log: (s) => console.log(`images: ${s}`),
      }),
    );
    refs = Object.fromEntries(Object.entries(images).map(([k, v]) => [k, v.ref])) as Record<
      LocalImage,
      string
    >;
    for (const [name, img] of Object.entries(images)) {
      console.log(`image ${name}: ${img.ref} ${(img.bytes / 1e6).toFixed(1)} MB`);
    }
    cluster = await step("cluster with a real node", () =>
      startLocalCluster({
        nodes: 3,
        timeoutSeconds: 120,
        realNode: {
          images: {
            pause: images.pause.ref,
            coredns: images.coredns.ref,
            tars: Object.values(images).map((i) => i.tar),
          },
        },
      }),
    );
  });

  after(async () => {
    await cluster?.stop({ keep: process.env.GOLIVE_KEEP_CLUSTER === "1" });
    console.log(`real-pods steps: ${steps.join("; ")}`);
  });

  it("local: up with real pods, the data path through port-forward, the NetworkPolicy matrix measured, destroy", async () => {
    assert.ok(cluster?.realNode, "the cluster has a real node");
    const { api, realNode: node, kubeconfig } = cluster;
    const ns = namespaceNames(STACK);
    const workDir = mkdtempSync(path.join(tmpdir(), "golive-real-pods-"));
    const log: string[] = [];
    const onOutput = (text: string) => log.push(text);
    const stack = await selectStack({
      stack: STACK,
      workDir,
      kubeconfig,
      chartMirror: CHART_MIRROR,
      passphrase: "golive-e2e-only",
      images: stackImageOverrides(images),
    });
    let upStarted = false;
    const forwards: ChildProcess[] = [];
    try {
      upStarted = true;
      const up = await step("pulumi up", () =>
        stack.up({ onOutput }).catch((err: Error) => {
          throw new Error(`${err.message}\n${log.join("").slice(-6000)}`);
        }),
      );
      assert.equal(up.summary.result, "succeeded");

      // What ran on the real node, and as whom.
      const pods = (await api.get<{ items: Pod[] }>(`/api/v1/namespaces/${ns.app}/pods`)).items;
      const real = pods.filter((p) => p.spec.nodeName === node.nodeIp);
      assert.deepEqual(
        pods.filter((p) => p.spec.nodeName !== node.nodeIp).map((p) => p.metadata.name),
        [],
        "every app pod is on the real node",
      );
      const names = real.map((p) => p.metadata.name);
      for (const prefix of ["postgres-0", "feed-", "gateway-", "migrate"]) {
        assert.ok(
          names.some((n) => n.startsWith(prefix) || n.includes(prefix)),
          `${prefix} ran: ${names.join(", ")}`,
        );
      }
      const migrations = real.filter((p) => p.metadata.name.includes("migrate"));
      assert.ok(
        migrations.every((p) => p.status?.phase === "Succeeded"),
        "the migrations Job's pod succeeded",
      );
      const cgroupRoot = path.join("/sys/fs/cgroup/pids", node.cgroup);
      const identities: string[] = [];
      for (const p of real.filter((x) => x.status?.phase === "Running")) {
        for (const c of p.status?.containerStatuses ?? []) {
          const id = c.containerID?.replace(/^containerd:\/\//, "");
          assert.ok(id, `${p.metadata.name}/${c.name} has a container`);
          const pid = containerPid(cgroupRoot, id);
          assert.ok(pid, `${p.metadata.name}/${c.name}: a process in its cgroup`);
          const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
          const root = readFileSync(`/proc/${pid}/mountinfo`, "utf8")
            .split("\n")
            .find((l) => l.split(" ")[4] === "/");
          assert.notEqual(uid, 0, `${p.metadata.name}/${c.name} runs as root`);
          assert.match(root ?? "", / ro[ ,]/, `${p.metadata.name}/${c.name}: root filesystem is read-only`);
          identities.push(`${p.metadata.name}/${c.name} uid ${uid} ro`);
        }
      }
      console.log(`real pods in ${ns.app} (${real.length}): ${identities.join("; ")}`);

      // The data path: a video written into the real Postgres (kubectl exec),
      // read and liked through the gateway Service (kubectl port-forward).
      const userId = "00000000-0000-4000-8000-000000000001";
      const videoId = "00000000-0000-4000-8000-0000000000a1";
      const kubectl = (args: string[]) =>
        execFileSync(KUBECTL, ["--kubeconfig", kubeconfig, ...args], { encoding: "utf8", stdio: "pipe" });
      await step("seed through kubectl exec", async () =>
        kubectl([
          "-n",
          ns.app,
          "exec",
          "postgres-0",
          "--",
          "psql",
          "-U",
          "postgres",
          "-d",
          DATABASE_NAME,
          "-v",
          "ON_ERROR_STOP=1",
          "-c",
          `INSERT INTO users (id, handle, email) VALUES ('${userId}', 'real-node', 'real-node@example.test');
           INSERT INTO videos (id, author_id, title, url) VALUES ('${videoId}', '${userId}', 'From a real pod', 'https://example.test/v.mp4');`,
        ]),
      );
      const forward = spawn(
        KUBECTL,
        [
          "--kubeconfig",
          kubeconfig,
          "-n",
          ns.app,
          "port-forward",
          "svc/gateway",
          "0:8080",
          "--address",
          "127.0.0.1",
        ],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      forwards.push(forward);
      const localPort = await new Promise<number>((resolve, reject) => {
        let out = "";
        const timer = setTimeout(() => reject(new Error(`port-forward did not start: ${out}`)), 20_000);
        const onData = (b: Buffer) => {
          out += b.toString();
          const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(Number(m[1]));
          }
        };
        forward.stdout?.on("data", onData);
        forward.stderr?.on("data", onData);
      });
      const base = `http://127.0.0.1:${localPort}`;
      const video = await (await fetch(`${base}/v1/videos/${videoId}`)).json();
      assert.equal((video as { title?: string }).title, "From a real pod");
      const like = await fetch(`${base}/v1/videos/${videoId}/likes`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ userId }),
      });
      assert.equal(like.status, 200, await like.clone().text());
      assert.equal(((await like.json()) as { likeCount?: string | number }).likeCount?.toString(), "1");
      const page = (await (await fetch(`${base}/v1/feed?userId=${userId}&limit=10`)).json()) as {
        videos?: { id: string }[];
      };
      assert.ok(
        page.videos?.some((v) => v.id === videoId),
        `the feed page holds the video: ${JSON.stringify(page)}`,
      );

      // The two images that only run as Jobs: retention (jobs image) must
      // finish its work against Postgres; the preflight must start and run
      // its checks (its verdict needs public DNS and TLS, which the node
      // cannot reach: a failed verdict is expected here, an image that does
      // not start is not).
      const jobPods = await step("retention and preflight Jobs", async () => {
        kubectl(["-n", ns.app, "create", "job", "--from=cronjob/retention", "retention-now"]);
        kubectl(["-n", ns.app, "create", "job", `--from=cronjob/${PREFLIGHT_CRONJOB}`, "preflight-now"]);
        const finished = async (job: string) => {
          for (let i = 0; i < 240; i++) {
            const list = await api.get<{ items: Pod[] }>(
              `/api/v1/namespaces/${ns.app}/pods?labelSelector=job-name=${job}`,
            );
            const pod = list.items.find(
              (p) => p.status?.phase === "Succeeded" || p.status?.phase === "Failed",
            );
            if (pod) return pod;
            await sleep(500);
          }
          throw new Error(`job ${job} did not finish in 120 s`);
        };
        return { retention: await finished("retention-now"), preflight: await finished("preflight-now") };
      });
      assert.equal(jobPods.retention.spec.nodeName, node.nodeIp);
      assert.equal(
        jobPods.retention.status?.phase,
        "Succeeded",
        kubectl(["-n", ns.app, "logs", "job/retention-now"]),
      );
      const preflightLog = kubectl(["-n", ns.app, "logs", jobPods.preflight.metadata.name]);
      assert.match(preflightLog, /dns|tls|database/i, `the preflight ran its checks:\n${preflightLog}`);

      // The matrix, measured.
      const rows = await step("NetworkPolicy matrix", () =>
        measureMatrix(api, { node, kubeconfig, environment: STACK, probeImage: refs.probe }),
      );
      console.log(`NetworkPolicy matrix (${rows.length} pairs):\n${formatMatrix(rows)}`);
      assert.deepEqual(
        rows.filter((r) => r.expected !== r.measured).map((r) => `${r.from} -> ${r.to}: ${r.detail}`),
        [],
        "pairs that differ from infra/network-matrix.yaml",
      );
      assert.deepEqual(
        rows.filter((r) => r.audit && r.audit !== r.measured).map((r) => `${r.from} -> ${r.to}`),
        [],
        "pairs where the cluster audit's evaluator disagrees with the measurement",
      );

      const onNode = (await api.get<{ items: Pod[] }>("/api/v1/pods")).items.filter(
        (p) => p.spec.nodeName === node.nodeIp,
      );
      console.log(
        `pods on the real node now: ${onNode.length} (${onNode.map((p) => `${p.metadata.namespace}/${p.metadata.name}`).join(", ")}); probe pods run and removed: ${new Set(rows.map((r) => r.from)).size}`,
      );

      // A policy broken on purpose: the gateway loses its egress to the feed.
      const policyPath = `/apis/networking.k8s.io/v1/namespaces/${ns.app}/networkpolicies/gateway-egress`;
      const original = await api.get<KubeObject & { spec: { egress: { ports: { port: number }[] }[] } }>(
        policyPath,
      );
      const broken = {
        ...original,
        spec: {
          ...original.spec,
          egress: original.spec.egress.filter((r) => !r.ports.some((p) => p.port === 50051)),
        },
      };
      assert.equal((await api.request("PUT", policyPath, broken)).status, 200);
      try {
        await sleep(2000); // the engine picks the change up from its watch
        const after = await measureMatrix(api, {
          node,
          kubeconfig,
          environment: STACK,
          probeImage: refs.probe,
          only: [{ from: "gateway", to: ["feed-grpc"] }],
        });
        console.log(`with gateway-egress broken:\n${formatMatrix(after)}`);
        assert.equal(after[0]?.measured, "blocked", "the broken policy is enforced");
        assert.notEqual(after[0]?.measured, after[0]?.expected, "and the matrix check catches it");
      } finally {
        const current = await api.get<KubeObject>(policyPath);
        await api.request("PUT", policyPath, { ...original, metadata: current.metadata });
      }
    } finally {
      for (const f of forwards) f.kill();
      try {
        if (upStarted) {
          const destroy = await step("pulumi destroy", () => stack.destroy({ onOutput }));
          assert.ok((destroy.summary.resourceChanges?.delete ?? 0) > 0);
        }
      } finally {
        rmSync(workDir, { recursive: true, force: true });
      }
    }
  });
});
