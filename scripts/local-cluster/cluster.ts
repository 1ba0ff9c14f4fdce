// A real Kubernetes control plane on loopback, for `pulumi up` against a real
// API server without Docker: etcd, kube-apiserver (RBAC and Pod Security
// admission on), kube-controller-manager, kube-scheduler and kwok, which
// plays the kubelets of simulated nodes (pods get an IP and turn Ready, Job
// pods complete, claims get a volume). Everything lives in one folder and is
// torn down by PID. Binaries come from scripts/setup-tools.sh (.tools/bin).
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import YAML from "yaml";
import { issueCert, makePki } from "./certs";
import { KubeApi, type KubeObject } from "./kube-api";
import {
  createNodeCgroups,
  holdSysctls,
  nodeCommand,
  REAL_NODE_LABEL,
  type RealNode,
  reserveRealNodeNetwork,
  teardownRealNode,
  writeKubeconfig,
  writeNodeConfig,
} from "./real-node";
import { clusterDns, placementPolicy } from "./real-node-objects";

const REPO_ROOT = path.resolve(__dirname, "..", "..");
const TOOLS = path.join(REPO_ROOT, ".tools");
const SERVICE_CIDR = "10.96.0.0/16";
/** First address of the service range: the `kubernetes` Service, in the serving certificate. */
const SERVICE_IP = "10.96.0.1";
/** The API server's address as pods would see it (kwok's simulated node network). */
const ADVERTISED_IP = "10.244.255.254";

export interface LocalClusterOptions {
  /** Folder for state, certificates and logs; a new temp folder when absent. */
  dir?: string;
  /** Simulated nodes, spread round-robin over `zones`. */
  nodes?: number;
  zones?: string[];
  /** Seconds to wait for the API server and the nodes. */
  timeoutSeconds?: number;
  /**
   * One real node beside the kwok ones (real-node.ts): the pods of the app
   * and load-test namespaces run there, in containerd, from these images.
   */
  realNode?: { images: RealNodeImages };
}

/** Image archives (docker-archive tars) the real node imports, and the refs it needs itself. */
export interface RealNodeImages {
  pause: string;
  coredns: string;
  /** Every tar to import, the two above included. */
  tars: string[];
}

export interface LocalCluster {
  dir: string;
  kubeconfig: string;
  server: string;
  api: KubeApi;
  /** The real node, when asked for. */
  realNode?: RealNode;
  /** Stops every process (by PID) and removes the folder unless `keep`. */
  stop(opts?: { keep?: boolean }): Promise<void>;
}

function tool(name: string): string {
  const file = path.join(TOOLS, "bin", name);
  if (!existsSync(file)) throw new Error(`${name} not found in .tools/bin: run \`npm run setup\``);
  return file;
}

function freePort(preferred = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", (err) => (preferred ? freePort().then(resolve, reject) : reject(err)));
    srv.listen(preferred, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await sleep(250);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last}` : ""}`);
}

function kwokNode(name: string, zone: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      annotations: { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" },
      labels: {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "topology.kubernetes.io/zone": zone,
        type: "kwok",
      },
    },
    spec: {},
    status: {
      allocatable: { cpu: "32", memory: "128Gi", pods: "110" },
      capacity: { cpu: "32", memory: "128Gi", pods: "110" },
    },
  };
}

/** PIDs recorded in a cluster folder, so another process (`npm run cluster -- down`) can stop them. */
const pidFile = (dir: string) => path.join(dir, "pids");

export async function stopClusterDir(dir: string, opts: { keep?: boolean } = {}): Promise<void> {
  const pids = existsSync(pidFile(dir))
    ? readFileSync(pidFile(dir), "utf8").trim().split("\n").filter(Boolean).map(Number).reverse()
    : [];
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {}
  }
  const deadline = Date.now() + 10_000;
  while (pids.some(alive) && Date.now() < deadline) await sleep(100);
  for (const pid of pids.filter(alive)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
  // Pods, shims, mounts, cgroups, the network namespace and the sysctls:
  // also with `keep`, since they live outside the folder.
  const notes = await teardownRealNode(dir);
  if (notes.length > 0) console.error(`real node teardown:\n  ${notes.join("\n  ")}`);
  if (!opts.keep) rmSync(dir, { recursive: true, force: true });
}

/**
 * What the API server needs for a real node: a client certificate for the
 * kubelet's API (logs, exec, port-forward under the kubelet's webhook
 * authorization: gotcha 5), the node's address rather than its hostname, and
 * MutatingAdmissionPolicy (beta in 1.34, off by default) for the placement.
 */
function realNodeApiServerArgs(dir: string, pki: ReturnType<typeof makePki>): string[] {
  const client = issueCert(
    dir,
    pki,
    "apiserver-kubelet-client",
    "/O=system:masters/CN=kube-apiserver-kubelet-client",
    {
      clientAuth: true,
    },
  );
  return [
    `--kubelet-client-certificate=${client.cert}`,
    `--kubelet-client-key=${client.key}`,
    "--kubelet-preferred-address-types=InternalIP",
    "--feature-gates=MutatingAdmissionPolicy=true",
    "--runtime-config=admissionregistration.k8s.io/v1beta1=true",
  ];
}

type Start = (name: string, cmd: string, args: string[], env?: NodeJS.ProcessEnv) => ChildProcess;

/**
 * Brings the real node up: containerd (with the images imported), kubelet,
 * kube-proxy and the NetworkPolicy engine in the node's namespace, then the
 * cluster DNS as a pod on it. Resolves once the node and the DNS are Ready.
 */
async function startRealNode(
  node: RealNode,
  images: RealNodeImages,
  ctx: { api: KubeApi; pki: ReturnType<typeof makePki>; server: string; start: Start; timeoutMs: number },
): Promise<void> {
  const { api, pki, server, start, timeoutMs } = ctx;
  for (const obj of placementPolicy()) {
    const plural =
      obj.kind === "MutatingAdmissionPolicy"
        ? "mutatingadmissionpolicies"
        : "mutatingadmissionpolicybindings";
    await api.create(`/apis/admissionregistration.k8s.io/v1beta1/${plural}`, obj);
  }
  const creds = (name: string, subject: string, user: string) => {
    const c = issueCert(node.dir, pki, name, subject, { clientAuth: true });
    return writeKubeconfig(path.join(node.dir, `${name}.kubeconfig`), {
      server,
      caCert: pki.caCert,
      ...c,
      user,
    });
  };
  mkdirSync(node.dir, { recursive: true });
  const kubeletKubeconfig = creds("kubelet", `/O=system:nodes/CN=system:node:${node.nodeIp}`, "kubelet");
  const kubeProxyKubeconfig = creds("kube-proxy", "/CN=system:kube-proxy", "kube-proxy");
  const files = writeNodeConfig(node, {
    pauseImage: images.pause,
    caCert: pki.caCert,
    kubeletKubeconfig,
    kubeProxyKubeconfig,
  });
  holdSysctls(path.dirname(node.dir));
  createNodeCgroups(node);
  const env = {
    PATH: `${path.join(TOOLS, "bin")}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
  };
  const socket = path.join(node.dir, "containerd.sock");
  start("containerd", ...nodeCommand(node, tool("containerd"), ["--config", files.containerdConfig]), env);
  await until("containerd", timeoutMs, async () => (existsSync(socket) ? true : undefined));
  const ctr = (args: string[]) =>
    execFileSync(tool("ctr"), ["--address", socket, "--namespace", "k8s.io", ...args], { stdio: "pipe" });
  for (const tar of images.tars) ctr(["images", "import", tar]);
  start(
    "kubelet",
    ...nodeCommand(node, tool("kubelet"), [
      `--config=${files.kubeletConfig}`,
      `--kubeconfig=${kubeletKubeconfig}`,
      `--root-dir=${path.join(node.dir, "kubelet")}`,
      `--hostname-override=${node.nodeIp}`,
      `--node-ip=${node.nodeIp}`,
      `--node-labels=${REAL_NODE_LABEL}=real,type=real`,
      "--v=1",
    ]),
    env,
  );
  start(
    "kube-proxy",
    ...nodeCommand(node, tool("kube-proxy"), [`--config=${files.kubeProxyConfig}`, "--v=1"]),
    env,
  );
  start(
    "kube-network-policies",
    ...nodeCommand(node, tool("kube-network-policies"), [
      `--kubeconfig=${path.join(path.dirname(node.dir), "kubeconfig")}`,
      `--hostname-override=${node.nodeIp}`,
      "--disable-nri",
      "--metrics-bind-address=127.0.0.1:9080",
      "--v=1",
    ]),
    env,
  );
  await until("the real node Ready", timeoutMs, async () => {
    const res = await api.request<{ status?: { conditions?: { type: string; status: string }[] } }>(
      "GET",
      `/api/v1/nodes/${node.nodeIp}`,
    );
    return res.body.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")
      ? true
      : undefined;
  });
  for (const { path: p, obj } of clusterDns(images.coredns)) await api.create(p, obj);
  await until("the cluster DNS Ready", timeoutMs, async () => {
    const d = await api.get<{ status?: { readyReplicas?: number } }>(
      "/apis/apps/v1/namespaces/kube-system/deployments/coredns",
    );
    return (d.status?.readyReplicas ?? 0) >= 1 ? true : undefined;
  });
}

export async function startLocalCluster(opts: LocalClusterOptions = {}): Promise<LocalCluster> {
  const dir = opts.dir ?? mkdtempSync(path.join(tmpdir(), "golive-cluster-"));
  const timeoutMs = (opts.timeoutSeconds ?? 60) * 1000;
  const zones = opts.zones ?? ["zone-a", "zone-b", "zone-c"];
  mkdirSync(path.join(dir, "logs"), { recursive: true });
  const bins = {
    etcd: tool("etcd"),
    apiserver: tool("kube-apiserver"),
    controllerManager: tool("kube-controller-manager"),
    scheduler: tool("kube-scheduler"),
    kwok: tool("kwok"),
  };
  const stagesDir = path.join(TOOLS, "kwok-stages");
  if (!existsSync(stagesDir)) throw new Error("kwok stages not found in .tools: run `npm run setup`");

  // The real node's link comes first: the API server listens on its host end.
  let realNode: RealNode | undefined;
  try {
    realNode = opts.realNode ? reserveRealNodeNetwork(dir) : undefined;
  } catch (err) {
    await stopClusterDir(dir);
    throw err;
  }
  const pki = makePki(dir, SERVICE_IP, realNode ? [realNode.hostIp] : []);
  // 6443 when free: the port NetworkPolicies of real clusters allow for the
  // API server (and the one the stack's policies open). A real node's host
  // address is its cluster's own, so 6443 is always free there.
  const [etcdPort, etcdPeerPort] = [await freePort(), await freePort()];
  const apiPort = realNode ? 6443 : await freePort(6443);
  const apiHost = realNode?.hostIp ?? "127.0.0.1";
  const server = `https://${apiHost}:${apiPort}`;
  const kubeconfig = path.join(dir, "kubeconfig");
  writeFileSync(
    kubeconfig,
    YAML.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "golive-local", cluster: { server, "certificate-authority": pki.caCert } }],
      users: [
        { name: "golive-admin", user: { "client-certificate": pki.adminCert, "client-key": pki.adminKey } },
      ],
      contexts: [{ name: "golive-local", context: { cluster: "golive-local", user: "golive-admin" } }],
      "current-context": "golive-local",
    }),
  );

  const children: ChildProcess[] = [];
  const start = (name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) => {
    const log = openSync(path.join(dir, "logs", `${name}.log`), "a");
    const child = spawn(cmd, args, {
      stdio: ["ignore", log, log],
      detached: true,
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
    });
    child.unref();
    children.push(child);
    writeFileSync(pidFile(dir), `${children.map((c) => c.pid).join("\n")}\n`);
    return child;
  };
  const cluster: LocalCluster = {
    dir,
    kubeconfig,
    server,
    api: new KubeApi({
      server,
      ca: readFileSync(pki.caCert, "utf8"),
      cert: readFileSync(pki.adminCert, "utf8"),
      key: readFileSync(pki.adminKey, "utf8"),
    }),
    stop: (o) => stopClusterDir(dir, o),
  };

  try {
    start("etcd", bins.etcd, [
      "--name=golive",
      `--data-dir=${path.join(dir, "etcd")}`,
      `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-cluster=golive=http://127.0.0.1:${etcdPeerPort}`,
      "--log-level=warn",
    ]);
    start("kube-apiserver", bins.apiserver, [
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      `--bind-address=${apiHost}`,
      // What the `kubernetes` Service's endpoints hold; they cannot hold a
      // loopback address. With kwok nodes only nothing dials it (clients use
      // the kubeconfig); a real node's pods reach it through kube-proxy.
      `--advertise-address=${realNode?.hostIp ?? ADVERTISED_IP}`,
      `--secure-port=${apiPort}`,
      `--tls-cert-file=${pki.serverCert}`,
      `--tls-private-key-file=${pki.serverKey}`,
      `--client-ca-file=${pki.caCert}`,
      `--service-account-key-file=${pki.saPub}`,
      `--service-account-signing-key-file=${pki.saKey}`,
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      "--authorization-mode=Node,RBAC",
      // Pod Security admission is on by default; each namespace's labels set its level.
      "--enable-admission-plugins=NodeRestriction",
      ...(realNode ? realNodeApiServerArgs(dir, pki) : []),
      // No webhook server can run here (chart pods are simulated): the API
      // server would fail every call to cert-manager's and the operator's
      // webhooks. What the lane therefore does not exercise is in the README.
      "--disable-admission-plugins=MutatingAdmissionWebhook,ValidatingAdmissionWebhook",
      "--allow-privileged=false",
      "--profiling=false",
      "--v=1",
    ]);
    await until("the API server", timeoutMs, async () => {
      const res = await cluster.api.request("GET", "/readyz");
      return res.status === 200 ? true : undefined;
    });
    const common = [`--kubeconfig=${kubeconfig}`, "--leader-elect=false", "--secure-port=0", "--v=1"];
    start("kube-controller-manager", bins.controllerManager, [
      ...common,
      `--service-account-private-key-file=${pki.saKey}`,
      `--root-ca-file=${pki.caCert}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      "--use-service-account-credentials=true",
      // kwok assigns pod IPs; no cloud, no node IPAM.
      "--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller",
    ]);
    start("kube-scheduler", bins.scheduler, common);

    const stages = readdirSync(stagesDir)
      // With a real node, volume-provisioner.ts provisions claims instead (see there).
      .filter((f) => f.endsWith(".yaml") && f !== "storage-class.yaml")
      .filter((f) => !(realNode && f === "pvc-provision.yaml"))
      .sort()
      .map((f) => readFileSync(path.join(stagesDir, f), "utf8"));
    const kwokConfig = path.join(dir, "kwok-stages.yaml");
    writeFileSync(kwokConfig, stages.join("\n---\n"));
    start("kwok", bins.kwok, [
      `--kubeconfig=${kubeconfig}`,
      `--config=${kwokConfig}`,
      "--manage-all-nodes=false",
      "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
      "--node-ip=10.244.0.1",
      "--cidr=10.244.0.0/16",
      "--server-address=",
    ]);

    // The default StorageClass that kwok's volume stages provision for.
    const storageClass = YAML.parse(
      readFileSync(path.join(stagesDir, "storage-class.yaml"), "utf8"),
    ) as KubeObject;
    await cluster.api.create("/apis/storage.k8s.io/v1/storageclasses", storageClass);
    if (realNode) {
      start("volume-provisioner", process.execPath, [
        "--import",
        "tsx",
        path.join(__dirname, "volume-provisioner.ts"),
        dir,
        storageClass.metadata.name,
      ]);
    }
    const nodeCount = opts.nodes ?? 3;
    for (let i = 0; i < nodeCount; i++) {
      await cluster.api.create(
        "/api/v1/nodes",
        kwokNode(`kwok-node-${i}`, zones[i % zones.length] ?? "zone-a"),
      );
    }
    await until(`${nodeCount} Ready nodes`, timeoutMs, async () => {
      const nodes = await cluster.api.get<{
        items: { status?: { conditions?: { type: string; status: string }[] } }[];
      }>("/api/v1/nodes");
      const ready = nodes.items.filter((n) =>
        n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
      );
      return ready.length >= nodeCount ? true : undefined;
    });
    // Controllers seed every namespace with a `default` service account and the
    // `kube-root-ca.crt` ConfigMap; pods need both. Until they have, the
    // cluster is still changing by itself (and a snapshot of it is not stable).
    await until("the default service accounts and root CA ConfigMaps", timeoutMs, async () => {
      const names = (await cluster.api.get<{ items: KubeObject[] }>("/api/v1/namespaces")).items.map(
        (n) => n.metadata.name,
      );
      for (const ns of names) {
        for (const path of [`serviceaccounts/default`, `configmaps/kube-root-ca.crt`]) {
          if ((await cluster.api.request("GET", `/api/v1/namespaces/${ns}/${path}`)).status !== 200)
            return undefined;
        }
      }
      return true;
    });
    if (realNode && opts.realNode) {
      await startRealNode(realNode, opts.realNode.images, {
        api: cluster.api,
        pki,
        server,
        start,
        timeoutMs,
      });
      cluster.realNode = realNode;
    }
  } catch (err) {
    const logs = readdirSync(path.join(dir, "logs"))
      .map(
        (f) =>
          `--- ${f}\n${readFileSync(path.join(dir, "logs", f), "utf8")
            .split("\n")
            .slice(-15)
            .join("\n")}`,
      )
      .join("\n");
    await stopClusterDir(dir);
    throw new Error(`${err instanceof Error ? err.message : err}\n${logs}`);
  }
  return cluster;
}
