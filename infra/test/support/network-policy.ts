// Kubernetes NetworkPolicy semantics, evaluated over the objects a real API
// server holds: may a connection from one pod (or address) reach another on a
// port? Used to prove that Prometheus can reach every target it scrapes.

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: {
    key: string;
    operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
    values?: string[];
  }[];
}

interface Peer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}
interface PortRule {
  protocol?: string;
  port?: number | string;
  endPort?: number;
}
interface Rule {
  from?: Peer[];
  to?: Peer[];
  ports?: PortRule[];
}
export interface NetworkPolicy {
  metadata: { name: string; namespace: string };
  spec: { podSelector: LabelSelector; policyTypes?: string[]; ingress?: Rule[]; egress?: Rule[] };
}

/** A pod (labels, namespace, named ports) or an address outside the cluster's pods. */
export interface Endpoint {
  namespace?: string;
  labels?: Record<string, string>;
  ip: string;
  /** Container port names to numbers, for named ports in rules. */
  ports?: Record<string, number>;
}

export function selects(selector: LabelSelector | undefined, labels: Record<string, string> = {}): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = e.key in labels;
    const value = labels[e.key];
    const ok =
      e.operator === "Exists"
        ? has
        : e.operator === "DoesNotExist"
          ? !has
          : e.operator === "In"
            ? has && (e.values ?? []).includes(value as string)
            : !has || !(e.values ?? []).includes(value as string);
    if (!ok) return false;
  }
  return true;
}

function ipToInt(ip: string): number {
  return ip.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

export function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split("/");
  const mask = Number(bits ?? 32);
  if (mask === 0) return true;
  const shift = 32 - mask;
  return Math.floor(ipToInt(ip) / 2 ** shift) === Math.floor(ipToInt(base ?? "0.0.0.0") / 2 ** shift);
}

function peerMatches(
  peer: Peer,
  policyNamespace: string,
  other: Endpoint,
  namespaceLabels: Map<string, Record<string, string>>,
): boolean {
  if (peer.ipBlock) {
    return (
      inCidr(other.ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((c) => inCidr(other.ip, c))
    );
  }
  if (other.namespace === undefined) return false; // selectors only match pods
  const nsOk = peer.namespaceSelector
    ? selects(peer.namespaceSelector, namespaceLabels.get(other.namespace))
    : other.namespace === policyNamespace;
  return nsOk && selects(peer.podSelector, other.labels);
}

function portMatches(rules: PortRule[] | undefined, port: number, target: Endpoint): boolean {
  if (!rules || rules.length === 0) return true;
  return rules.some((r) => {
    if ((r.protocol ?? "TCP") !== "TCP") return false;
    if (r.port === undefined) return true;
    const n = typeof r.port === "number" ? r.port : target.ports?.[r.port];
    if (n === undefined) return false;
    return r.endPort ? port >= n && port <= r.endPort : port === n;
  });
}

/**
 * Whether `from` may open a TCP connection to `to` on `port`: allowed by the
 * egress policies that select `from` (if any) and by the ingress policies
 * that select `to` (if any), as the API defines it. Returns the side that
 * blocks, or undefined when the connection is allowed.
 */
export function blockedBy(
  policies: NetworkPolicy[],
  namespaceLabels: Map<string, Record<string, string>>,
  from: Endpoint,
  to: Endpoint,
  port: number,
): "egress" | "ingress" | undefined {
  const side = (dir: "Egress" | "Ingress", self: Endpoint, other: Endpoint) => {
    if (self.namespace === undefined) return true; // not a pod: no policy applies
    const applying = policies.filter(
      (p) =>
        p.metadata.namespace === self.namespace &&
        selects(p.spec.podSelector, self.labels) &&
        (p.spec.policyTypes ?? (dir === "Ingress" ? ["Ingress"] : [])).includes(dir),
    );
    if (applying.length === 0) return true;
    const target = dir === "Egress" ? other : self;
    return applying.some((p) =>
      ((dir === "Egress" ? p.spec.egress : p.spec.ingress) ?? []).some((rule) => {
        const peers = dir === "Egress" ? rule.to : rule.from;
        const peerOk =
          !peers ||
          peers.length === 0 ||
          peers.some((peer) => peerMatches(peer, p.metadata.namespace, other, namespaceLabels));
        return peerOk && portMatches(rule.ports, port, target);
      }),
    );
  };
  if (!side("Egress", from, to)) return "egress";
  if (!side("Ingress", to, from)) return "ingress";
  return undefined;
}
