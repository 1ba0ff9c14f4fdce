// One real Kubernetes node beside kwok's simulated ones (recipe and gotchas:
// ../shared/tools/REAL-NODE.md on the machines that have it): containerd with
// runc, kubelet, kube-proxy and the NetworkPolicy engine
// (kube-network-policies), all in a network namespace of their own with no
// default route, so nothing a pod runs can reach past this machine and every
// iptables/nftables rule they make stays in that namespace. A veth pair (a /30
// of its own) links it to the host, where the API server listens on the host
// end. Everything the node changes on the machine is named after one index
// reserved by creating the veth (the kernel refuses a second link of the same
// name), recorded in the cluster folder, and removed by `teardownRealNode`:
// pod processes (by the PIDs in the node's cgroups), containerd shims, mounts
// under the folder, cgroups, the namespace, the link, and the sysctls the
// kubelet sets machine-wide.
import { execFileSync } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import YAML from "yaml";

/** Taint on the real node and label that selects it (see `REAL_NODE_POLICY`). */
export const REAL_NODE_TAINT = "golive.dev/real-node";
export const REAL_NODE_LABEL = "golive.dev/node";
/** Namespaces whose pods run on the real node, by the `golive.dev/role` label the stack sets. */
export const REAL_NODE_ROLES = ["app", "loadtest"] as const;
/** The cluster DNS Service address (kubelet's clusterDNS). */
export const CLUSTER_DNS_IP = "10.96.0.10";

const MAX_NODES = 64;
/** Host sysctls the kubelet sets (gotcha 6): saved by the first real node, restored by the last. */
const KUBELET_SYSCTLS = ["kernel.panic", "kernel.panic_on_oops", "vm.overcommit_memory"];
const SYSCTL_STATE_DIR = "/run/golive-kit";
const CGROUP_ROOT = "/sys/fs/cgroup";

export interface RealNode {
  index: number;
  /** Network namespace, under /run/netns. */
  netns: string;
  hostIf: string;
  nodeIf: string;
  /** The host end of the link: where the API server listens and what it advertises. */
  hostIp: string;
  /** The node's address, also its name (gotcha 4: the API server would resolve a hostname). */
  nodeIp: string;
  podCidr: string;
  /** The kubelet's cgroup parent, in every v1 hierarchy. */
  cgroup: string;
  /** The node's own folder inside the cluster folder. */
  dir: string;
}

const stateFile = (clusterDir: string) => path.join(clusterDir, "real-node.json");

function sh(cmd: string, args: string[], opts: { input?: string } = {}): string {
  return execFileSync(cmd, args, {
    encoding: "utf8",
    input: opts.input,
    stdio: ["pipe", "pipe", "pipe"],
  });
}

function trySh(cmd: string, args: string[]): boolean {
  try {
    sh(cmd, args);
    return true;
  } catch {
    return false;
  }
}

/** Runs a command inside the node's network namespace (same mount namespace: gotcha 3). */
export function inNode(node: Pick<RealNode, "netns">, cmd: string, args: string[]): string {
  return sh("nsenter", [`--net=/run/netns/${node.netns}`, "--", cmd, ...args]);
}

export function nodeCommand(node: Pick<RealNode, "netns">, cmd: string, args: string[]): [string, string[]] {
  return ["nsenter", [`--net=/run/netns/${node.netns}`, "--", cmd, ...args]];
}

/**
 * Reserves an index by creating its veth pair, then builds the namespace and
 * addresses on it. Index i owns 10.250.i.0/30 (host .1, node .2) and the pod
 * range 10.251.i.0/24, so two clusters on one machine never share one.
 */
export function reserveRealNodeNetwork(clusterDir: string): RealNode {
  for (let index = 0; index < MAX_NODES; index++) {
    const hostIf = `glk${index}h`;
    const nodeIf = `glk${index}n`;
    if (!trySh("ip", ["link", "add", hostIf, "type", "veth", "peer", "name", nodeIf])) continue;
    const node: RealNode = {
      index,
      netns: `golive-node-${index}`,
      hostIf,
      nodeIf,
      hostIp: `10.250.${index}.1`,
      nodeIp: `10.250.${index}.2`,
      podCidr: `10.251.${index}.0/24`,
      cgroup: `golive-node-${index}`,
      dir: path.join(clusterDir, "node"),
    };
    // Recorded first, so a failure below is still cleaned up by teardown.
    writeFileSync(stateFile(clusterDir), `${JSON.stringify(node, null, 2)}\n`);
    if (existsSync(`/run/netns/${node.netns}`)) {
      // Left by a run that crashed before its teardown: its link is gone, so
      // nothing else owns this index any more.
      trySh("ip", ["netns", "delete", node.netns]);
    }
    sh("ip", ["netns", "add", node.netns]);
    sh("ip", ["link", "set", nodeIf, "netns", node.netns]);
    sh("ip", ["addr", "add", `${node.hostIp}/30`, "dev", hostIf]);
    sh("ip", ["link", "set", hostIf, "up"]);
    inNode(node, "ip", ["addr", "add", `${node.nodeIp}/30`, "dev", nodeIf]);
    inNode(node, "ip", ["link", "set", nodeIf, "up"]);
    inNode(node, "ip", ["link", "set", "lo", "up"]);
    // Namespace-local: pods route through the node, and Service traffic
    // between two pods on the one bridge passes iptables (kube-proxy's DNAT).
    inNode(node, "sysctl", ["-q", "-w", "net.ipv4.ip_forward=1", "net.bridge.bridge-nf-call-iptables=1"]);
    return node;
  }
  throw new Error(`no free real-node index below ${MAX_NODES} (links glk<i>h all exist)`);
}

export function readRealNode(clusterDir: string): RealNode | undefined {
  if (!existsSync(stateFile(clusterDir))) return undefined;
  return JSON.parse(readFileSync(stateFile(clusterDir), "utf8")) as RealNode;
}

/** cgroup v1 hierarchies (this machine's layout) or the single v2 one. */
function cgroupHierarchies(): string[] {
  if (existsSync(path.join(CGROUP_ROOT, "cgroup.controllers"))) return [CGROUP_ROOT];
  return readdirSync(CGROUP_ROOT)
    .map((d) => path.join(CGROUP_ROOT, d))
    .filter((d) => existsSync(path.join(d, "cgroup.procs")) && !d.endsWith("/unified"));
}

/** The kubelet needs its cgroupRoot to exist; cpuset children start empty and need cpus/mems. */
export function createNodeCgroups(node: RealNode): void {
  for (const h of cgroupHierarchies()) {
    const dir = path.join(h, node.cgroup);
    mkdirSync(dir, { recursive: true });
    for (const f of ["cpuset.cpus", "cpuset.mems"]) {
      const own = path.join(dir, f);
      if (existsSync(own) && readFileSync(own, "utf8").trim() === "") {
        writeFileSync(own, readFileSync(path.join(h, f), "utf8"));
      }
    }
  }
}

/** Every PID in the node's cgroups (pods, their shims' children), deepest first. */
function cgroupTree(node: RealNode): { dirs: string[]; pids: number[] } {
  const dirs: string[] = [];
  const pids = new Set<number>();
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(dir, e.name));
    }
    dirs.push(dir);
    for (const p of readFileSync(path.join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean)) {
      pids.add(Number(p));
    }
  };
  for (const h of cgroupHierarchies()) walk(path.join(h, node.cgroup));
  return { dirs, pids: [...pids] };
}

/** Shims are reparented to init and sit outside the cgroups: found by our containerd's address. */
function shimPids(node: RealNode): number[] {
  const address = containerdSocket(node);
  const out: number[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if (cmdline[0]?.endsWith("containerd-shim-runc-v2") && cmdline.includes(address)) out.push(Number(pid));
    } catch {}
  }
  return out;
}

function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Mount points under `dir` (the kubelet's volumes, containerd's rootfs and netns mounts), deepest first. */
function mountsUnder(dir: string): string[] {
  const prefix = `${path.resolve(dir)}/`;
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4])
    .filter((m): m is string => m?.startsWith(prefix) === true)
    .map((m) => m.replace(/\\040/g, " "))
    .sort((a, b) => b.length - a.length);
}

/**
 * Removes everything the real node changed on the machine. Safe to call on a
 * half-built node and twice. The node's own processes (containerd, kubelet,
 * ...) are stopped by the cluster's PID file before this runs.
 */
export async function teardownRealNode(clusterDir: string): Promise<string[]> {
  const node = readRealNode(clusterDir);
  if (!node) return [];
  const notes: string[] = [];
  // Pod processes and shims: SIGKILL, then wait until the cgroups are empty.
  for (let round = 0; round < 50; round++) {
    const pids = [...cgroupTree(node).pids, ...shimPids(node)];
    if (pids.length === 0) break;
    killAll(pids);
    await sleep(100);
  }
  for (const m of mountsUnder(clusterDir)) {
    if (!trySh("umount", [m]) && !trySh("umount", ["-l", m])) notes.push(`could not unmount ${m}`);
  }
  for (const dir of cgroupTree(node).dirs) {
    try {
      rmdirSync(dir);
    } catch (err) {
      notes.push(`cgroup ${dir}: ${(err as Error).message}`);
    }
  }
  if (existsSync(`/run/netns/${node.netns}`) && !trySh("ip", ["netns", "delete", node.netns])) {
    notes.push(`could not delete netns ${node.netns}`);
  }
  // Deleting the namespace deletes the pair; a pair never moved is deleted here.
  trySh("ip", ["link", "delete", node.hostIf]);
  releaseSysctls(clusterDir);
  rmSync(stateFile(clusterDir), { force: true });
  return notes;
}

// --- host sysctls, shared by every real node on the machine ------------------

interface SysctlState {
  saved: Record<string, string>;
  holders: string[];
}

function withSysctlLock(fn: (state: SysctlState | undefined) => SysctlState | undefined): void {
  mkdirSync(SYSCTL_STATE_DIR, { recursive: true });
  const lock = path.join(SYSCTL_STATE_DIR, "sysctls.lock");
  const file = path.join(SYSCTL_STATE_DIR, "sysctls.json");
  const deadline = Date.now() + 10_000;
  let fd: number | undefined;
  while (fd === undefined) {
    try {
      fd = openSync(lock, "wx");
    } catch {
      // A lock older than a minute was left by a killed process.
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 60_000) rmSync(lock, { force: true });
      if (Date.now() > deadline) throw new Error(`${lock} held for 10 s`);
      execFileSync("sleep", ["0.05"]);
    }
  }
  try {
    const before = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as SysctlState) : undefined;
    const after = fn(before);
    if (after) writeFileSync(file, `${JSON.stringify(after, null, 2)}\n`);
    else rmSync(file, { force: true });
  } finally {
    closeSync(fd);
    rmSync(lock, { force: true });
  }
}

/** Saves the kubelet's sysctls unless another live real node already did. */
export function holdSysctls(clusterDir: string): void {
  withSysctlLock((state) => {
    const live = (state?.holders ?? []).filter((d) => existsSync(stateFile(d)));
    if (state && live.length > 0) return { saved: state.saved, holders: [...live, clusterDir] };
    const saved = state?.saved ?? {};
    if (!state) for (const k of KUBELET_SYSCTLS) saved[k] = sh("sysctl", ["-n", k]).trim();
    return { saved, holders: [clusterDir] };
  });
}

function releaseSysctls(clusterDir: string): void {
  withSysctlLock((state) => {
    if (!state) return undefined;
    const live = state.holders.filter((d) => d !== clusterDir && existsSync(stateFile(d)));
    if (live.length > 0) return { saved: state.saved, holders: live };
    for (const [k, v] of Object.entries(state.saved)) trySh("sysctl", ["-q", "-w", `${k}=${v}`]);
    return undefined;
  });
}

// --- configuration files ------------------------------------------------------

export function containerdSocket(node: RealNode): string {
  return path.join(node.dir, "containerd.sock");
}

export interface NodeFiles {
  containerdConfig: string;
  kubeletConfig: string;
  kubeProxyConfig: string;
  resolvConf: string;
}

/**
 * The node's configuration (gotcha 7): containerd with its own paths, runc
 * with cgroupfs, the pause image pinned, NRI and CDI off; the kubelet with
 * webhook authn/z, no image GC or eviction that would drop an imported
 * image, the node tainted; kube-proxy in iptables mode leaving conntrack
 * sysctls alone.
 */
export function writeNodeConfig(
  node: RealNode,
  opts: { pauseImage: string; caCert: string; kubeletKubeconfig: string; kubeProxyKubeconfig: string },
): NodeFiles {
  const d = (...p: string[]) => path.join(node.dir, ...p);
  for (const sub of ["containerd/root", "containerd/state", "cni/net.d", "cni/ipam", "kubelet", "logs"]) {
    mkdirSync(d(sub), { recursive: true });
  }
  const socket = containerdSocket(node);
  if (socket.length > 100) throw new Error(`containerd socket path too long for a unix socket: ${socket}`);
  const files: NodeFiles = {
    containerdConfig: d("containerd.toml"),
    kubeletConfig: d("kubelet.yaml"),
    kubeProxyConfig: d("kube-proxy.yaml"),
    // Empty: pods resolve only through the cluster DNS, which has no upstream.
    resolvConf: d("resolv.conf"),
  };
  writeFileSync(files.resolvConf, "");
  writeFileSync(
    d("cni/net.d/10-golive.conflist"),
    JSON.stringify({
      cniVersion: "1.0.0",
      name: "golive",
      plugins: [
        {
          type: "bridge",
          bridge: "cni0",
          isGateway: true,
          // Pod traffic leaving the node (to the API server on the host end)
          // carries the node's address, to which the host has a route.
          ipMasq: true,
          hairpinMode: true,
          ipam: {
            type: "host-local",
            ranges: [[{ subnet: node.podCidr }]],
            routes: [{ dst: "0.0.0.0/0" }],
            dataDir: d("cni/ipam"),
          },
        },
        { type: "portmap", capabilities: { portMappings: true } },
      ],
    }),
  );
  const q = (s: string) => JSON.stringify(s);
  writeFileSync(
    files.containerdConfig,
    `version = 3
root = ${q(d("containerd/root"))}
state = ${q(d("containerd/state"))}
disabled_plugins = ["io.containerd.nri.v1.nri", "io.containerd.internal.v1.opt", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = ${q(socket)}

[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = ${q(opts.pauseImage)}

[plugins."io.containerd.cri.v1.runtime"]
  enable_cdi = false
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["/usr/lib/cni"]
    conf_dir = ${q(d("cni/net.d"))}

[plugins."io.containerd.grpc.v1.cri"]
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
`,
  );
  writeFileSync(
    files.kubeletConfig,
    YAML.stringify({
      apiVersion: "kubelet.config.k8s.io/v1beta1",
      kind: "KubeletConfiguration",
      address: node.nodeIp,
      readOnlyPort: 0,
      healthzBindAddress: "127.0.0.1",
      authentication: {
        anonymous: { enabled: false },
        webhook: { enabled: true },
        x509: { clientCAFile: opts.caCert },
      },
      authorization: { mode: "Webhook" },
      cgroupDriver: "cgroupfs",
      cgroupRoot: `/${node.cgroup}`,
      failCgroupV1: false,
      containerRuntimeEndpoint: `unix://${socket}`,
      clusterDNS: [CLUSTER_DNS_IP],
      clusterDomain: "cluster.local",
      resolvConf: files.resolvConf,
      failSwapOn: false,
      // An image GC or eviction would delete an imported image, which cannot
      // be pulled back here.
      imageGCHighThresholdPercent: 100,
      imageGCLowThresholdPercent: 99,
      evictionHard: { "nodefs.available": "1%", "imagefs.available": "1%", "memory.available": "100Mi" },
      registerWithTaints: [{ key: REAL_NODE_TAINT, value: "true", effect: "NoSchedule" }],
      serializeImagePulls: false,
      // Pods' logs in the node's folder, not /var/log/pods.
      podLogsDir: d("logs"),
      maxPods: 60,
    }),
  );
  writeFileSync(
    files.kubeProxyConfig,
    YAML.stringify({
      apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
      kind: "KubeProxyConfiguration",
      clientConnection: { kubeconfig: opts.kubeProxyKubeconfig },
      mode: "iptables",
      hostnameOverride: node.nodeIp,
      bindAddress: node.nodeIp,
      clusterCIDR: node.podCidr,
      healthzBindAddress: "127.0.0.1:10256",
      metricsBindAddress: "127.0.0.1:10249",
      // 0 leaves the machine's conntrack sysctls as they are.
      conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: "0s", tcpCloseWaitTimeout: "0s" },
      iptables: { localhostNodePorts: false },
    }),
  );
  return files;
}

/** A kubeconfig for a node component, with its own client certificate. */
export function writeKubeconfig(
  file: string,
  opts: { server: string; caCert: string; cert: string; key: string; user: string },
): string {
  writeFileSync(
    file,
    YAML.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        {
          name: "golive-local",
          cluster: { server: opts.server, "certificate-authority": opts.caCert },
        },
      ],
      users: [{ name: opts.user, user: { "client-certificate": opts.cert, "client-key": opts.key } }],
      contexts: [{ name: "golive-local", context: { cluster: "golive-local", user: opts.user } }],
      "current-context": "golive-local",
    }),
  );
  return file;
}
