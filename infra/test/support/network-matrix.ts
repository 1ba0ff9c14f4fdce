// The NetworkPolicy matrix (infra/network-matrix.yaml), measured: one
// throwaway pod per identity, with that identity's labels in its namespace,
// on the real node, opens a real connection to every target and prints what
// happened. A connection that is accepted or refused (RST: the port is
// closed, but the packet got there) counts as reachable; a timeout or an
// unreachable route counts as blocked. Probe pods are never Ready (their
// readiness check always fails), so a probe wearing the gateway's labels is
// never an endpoint of the gateway Service.
//
// The engine learns a new pod's address from the API server (NRI, which
// would tell it at sandbox creation, is off on this node), so a pod's first
// packets can pass before its policies apply: the probes idle until the
// engine's address set holds them, then the script runs through `kubectl exec`.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { z } from "zod";
import type { KubeApi, KubeObject } from "../../../scripts/local-cluster/kube-api";
import {
  CLUSTER_DNS_IP,
  inNode,
  REAL_NODE_LABEL,
  REAL_NODE_TAINT,
  type RealNode,
} from "../../../scripts/local-cluster/real-node";
import { type NamespaceNames, namespaceNames } from "../../components/namespaces";
import { REPO_ROOT } from "../../stack-files";
import { blockedBy, type Endpoint, type NetworkPolicy, selects as selectorSelects } from "./network-policy";

const KUBECTL = path.join(REPO_ROOT, ".tools", "bin", "kubectl");

const MATRIX_FILE = path.join(REPO_ROOT, "infra", "network-matrix.yaml");
/** An address no route leads to (TEST-NET-2). */
const OUTSIDE = { ip: "198.51.100.7", port: 443 };
const API_SERVICE = { ip: "10.96.0.1", port: 443 };

const labels = z.record(z.string(), z.string());
const namespace = z.string();
const matrixSchema = z.strictObject({
  identities: z.record(z.string(), z.strictObject({ namespace, labels })),
  targets: z.record(
    z.string(),
    z.union([
      z.strictObject({ namespace, labels, port: z.number().int() }),
      z.strictObject({ special: z.enum(["dns", "api-server", "outside"]) }),
    ]),
  ),
  allowed: z.record(z.string(), z.array(z.string())),
  /** Flows a stack setting opens: "<key>: <value>" -> identity -> more targets. */
  allowedWhen: z.record(z.string(), z.record(z.string(), z.array(z.string()))).default({}),
});
export type Matrix = z.infer<typeof matrixSchema>;

/**
 * The matrix for a stack: `allowed`, plus the `allowedWhen` entries of the
 * settings it uses (each "<key>: <value>", such as "loadtest.target: gateway").
 */
export function loadMatrix(settings: string[] = [], file = MATRIX_FILE): Matrix {
  const m = matrixSchema.parse(YAML.parse(readFileSync(file, "utf8")));
  for (const setting of settings) {
    const extra = m.allowedWhen[setting];
    if (!extra) throw new Error(`${file}: no allowedWhen entry "${setting}"`);
    for (const [who, to] of Object.entries(extra)) m.allowed[who] = [...(m.allowed[who] ?? []), ...to];
  }
  for (const [who, to] of Object.entries(m.allowed)) {
    if (!m.identities[who]) throw new Error(`${file}: allowed names unknown identity ${who}`);
    for (const t of to) if (!m.targets[t]) throw new Error(`${file}: ${who} is allowed unknown target ${t}`);
  }
  return m;
}

/** A namespace role (`app`) or a literal name (`default`). */
export function resolveNamespace(ns: string, environment: string): string {
  const names = namespaceNames(environment);
  return ns in names ? names[ns as keyof NamespaceNames] : ns;
}

export type Verdict = "reachable" | "blocked";
export interface Measured {
  from: string;
  to: string;
  expected: Verdict;
  measured: Verdict;
  /** What the connection did: connected, refused, timeout, unreachable, resolved, failed. */
  detail: string;
  /** The NetworkPolicy evaluator's answer over the live objects, for pod targets. */
  audit?: Verdict;
}

interface PodTarget {
  name: string;
  ip: string;
  port: number;
}

type PodObj = KubeObject & {
  metadata: { labels?: Record<string, string>; namespace: string; name: string };
  status?: { phase?: string; podIP?: string; containerStatuses?: { ready: boolean }[] };
  spec?: { containers?: { ports?: { name?: string; containerPort: number }[] }[] };
};

function selects(want: Record<string, string>, have: Record<string, string> = {}): boolean {
  return Object.entries(want).every(([k, v]) => have[k] === v);
}

/** The pod targets' addresses: a Ready pod of the stack (not a probe) that the labels select. */
async function resolveTargets(api: KubeApi, m: Matrix, environment: string) {
  const out = new Map<string, PodTarget & { pod: PodObj }>();
  for (const [name, t] of Object.entries(m.targets)) {
    if ("special" in t) continue;
    const ns = resolveNamespace(t.namespace, environment);
    const pods = (await api.get<{ items: PodObj[] }>(`/api/v1/namespaces/${ns}/pods`)).items;
    const pod = pods.find(
      (p) =>
        selects(t.labels, p.metadata.labels) &&
        !p.metadata.labels?.["golive.dev/probe"] &&
        p.status?.phase === "Running" &&
        p.status.containerStatuses?.every((c) => c.ready) &&
        p.status.podIP,
    );
    if (!pod?.status?.podIP) throw new Error(`no Ready pod for target ${name} in ${ns}`);
    out.set(name, { name, ip: pod.status.podIP, port: t.port, pod });
  }
  return out;
}

/** The probe: busybox sh, every target at once, one RESULT line each. */
function probeScript(targets: { name: string; ip?: string; port?: number; dns?: boolean }[]): string {
  const lines = targets.map((t) =>
    t.dns ? `dns_probe ${t.name} &` : `tcp_probe ${t.name} ${t.ip} ${t.port} &`,
  );
  return `tcp_probe() {
  out=$(timeout 4 nc -w 3 "$2" "$3" </dev/null 2>&1); rc=$?
  case "$out" in
    *refused*) s=refused ;;
    *unreachable*) s=unreachable ;;
    *) if [ "$rc" = 0 ]; then s=connected; else s=timeout; fi ;;
  esac
  echo "RESULT $1 $s"
}
dns_probe() {
  if timeout 4 nslookup kubernetes.default.svc.cluster.local ${CLUSTER_DNS_IP} >/dev/null 2>&1; then s=resolved; else s=failed; fi
  echo "RESULT $1 $s"
}
${lines.join("\n")}
wait
echo DONE
`;
}

const REACHABLE = new Set(["connected", "refused", "resolved"]);

function probePod(name: string, ns: string, podLabels: Record<string, string>, image: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: ns, labels: { ...podLabels, "golive.dev/probe": "true" } },
    spec: {
      restartPolicy: "Never",
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      nodeSelector: { [REAL_NODE_LABEL]: "real" },
      tolerations: [{ key: REAL_NODE_TAINT, operator: "Exists", effect: "NoSchedule" }],
      securityContext: { runAsNonRoot: true, runAsUser: 65534, seccompProfile: { type: "RuntimeDefault" } },
      containers: [
        {
          name: "probe",
          image,
          imagePullPolicy: "Never",
          // Idles until the test runs the probe script in it.
          command: ["/bin/sleep", "600"],
          readinessProbe: { exec: { command: ["/bin/false"] }, periodSeconds: 60 },
          resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "200m", memory: "32Mi" } },
          securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"] },
          },
        },
      ],
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Measures the pairs (every identity x every target, or `only`), comparing
 * each with the matrix and with the policy evaluator over the live objects.
 */
export async function measureMatrix(
  api: KubeApi,
  opts: {
    node: RealNode;
    kubeconfig: string;
    environment: string;
    probeImage: string;
    matrix?: Matrix;
    only?: { from: string; to: string[] }[];
    round?: string;
  },
): Promise<Measured[]> {
  const m = opts.matrix ?? loadMatrix();
  const targets = await resolveTargets(api, m, opts.environment);
  const policies = (await api.get<{ items: NetworkPolicy[] }>("/apis/networking.k8s.io/v1/networkpolicies"))
    .items;
  const nsLabels = new Map(
    (await api.get<{ items: KubeObject[] }>("/api/v1/namespaces")).items.map((n) => [
      n.metadata.name,
      (n.metadata.labels as Record<string, string> | undefined) ?? {},
    ]),
  );
  const plan = opts.only ?? Object.keys(m.identities).map((from) => ({ from, to: Object.keys(m.targets) }));
  const round = opts.round ?? Date.now().toString(36);
  const pods: { from: string; ns: string; name: string; to: string[]; script: string }[] = [];
  for (const { from, to } of plan) {
    const id = m.identities[from];
    if (!id) throw new Error(`unknown identity ${from}`);
    const ns = resolveNamespace(id.namespace, opts.environment);
    const script = probeScript(
      to.map((name) => {
        const t = m.targets[name];
        if (!t) throw new Error(`unknown target ${name}`);
        if (!("special" in t)) {
          const pt = targets.get(name);
          return { name, ip: pt?.ip, port: pt?.port };
        }
        if (t.special === "dns") return { name, dns: true };
        const addr = t.special === "api-server" ? API_SERVICE : OUTSIDE;
        return { name, ...addr };
      }),
    );
    const name = `probe-${from}-${round}`;
    await api.create(`/api/v1/namespaces/${ns}/pods`, probePod(name, ns, id.labels, opts.probeImage));
    pods.push({ from, ns, name, to, script });
  }
  const results: Measured[] = [];
  try {
    const policed = (ns: string, podLabels: Record<string, string>) =>
      policies.some((p) => p.metadata.namespace === ns && selectorSelects(p.spec.podSelector, podLabels));
    const logs = await Promise.all(
      pods.map(async (p) => {
        const deadline = Date.now() + 60_000;
        const id = m.identities[p.from];
        for (;;) {
          if (Date.now() > deadline)
            throw new Error(`probe ${p.ns}/${p.name} not running and policed in 60 s`);
          const pod = await api.get<PodObj>(`/api/v1/namespaces/${p.ns}/pods/${p.name}`);
          const ip = pod.status?.podIP;
          if (pod.status?.phase === "Running" && ip) {
            if (!policed(p.ns, id?.labels ?? {})) break;
            const set = inNode(opts.node, "nft", [
              "list",
              "set",
              "inet",
              "kube-network-policies",
              "podips-v4",
            ]);
            if (new RegExp(`[{ ,]${ip.replace(/\./g, "\\.")}[ ,}]`).test(set)) break;
          }
          await sleep(200);
        }
        return new Promise<string>((resolve, reject) => {
          execFile(
            KUBECTL,
            ["--kubeconfig", opts.kubeconfig, "-n", p.ns, "exec", p.name, "--", "/bin/sh", "-c", p.script],
            { encoding: "utf8", timeout: 60_000 },
            (err, stdout, stderr) =>
              err ? reject(new Error(`${p.name}: ${err.message}\n${stderr}`)) : resolve(stdout),
          );
        });
      }),
    );
    for (const [i, p] of pods.entries()) {
      const log = logs[i] ?? "";
      if (!log.includes("DONE")) throw new Error(`probe ${p.ns}/${p.name} did not finish: ${log}`);
      const id = m.identities[p.from];
      for (const to of p.to) {
        const detail = new RegExp(`^RESULT ${to} (\\S+)$`, "m").exec(log)?.[1] ?? "missing";
        const expected: Verdict = m.allowed[p.from]?.includes(to) ? "reachable" : "blocked";
        const measured: Verdict = REACHABLE.has(detail) ? "reachable" : "blocked";
        const pt = targets.get(to);
        let audit: Verdict | undefined;
        if (pt && id) {
          const fromEp: Endpoint = {
            namespace: p.ns,
            labels: id.labels,
            ip: "0.0.0.0",
          };
          const toEp: Endpoint = {
            namespace: pt.pod.metadata.namespace,
            labels: pt.pod.metadata.labels ?? {},
            ip: pt.ip,
          };
          audit = blockedBy(policies, nsLabels, fromEp, toEp, pt.port) ? "blocked" : "reachable";
        }
        results.push({ from: p.from, to, expected, measured, detail, audit });
      }
    }
  } finally {
    for (const p of pods) {
      await api.request("DELETE", `/api/v1/namespaces/${p.ns}/pods/${p.name}?gracePeriodSeconds=0`);
    }
  }
  return results;
}

/** The matrix as a table for the log: one line per pair. */
export function formatMatrix(rows: Measured[]): string {
  const w = Math.max(...rows.map((r) => `${r.from} -> ${r.to}`.length));
  return rows
    .map((r) => {
      const pair = `${r.from} -> ${r.to}`.padEnd(w);
      const mark = r.expected === r.measured ? "ok  " : "DIFF";
      const audit = r.audit ? ` audit ${r.audit}` : "";
      return `${mark} ${pair}  expected ${r.expected.padEnd(9)} measured ${r.measured.padEnd(9)} (${r.detail})${audit}`;
    })
    .join("\n");
}
