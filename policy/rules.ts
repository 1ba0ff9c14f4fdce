// The go-live policy rules as pure functions over Kubernetes objects, so the
// same code runs in the Pulumi policy pack (pulumi preview --policy-pack policy)
// and in the tests over the rendered manifests of every stack.
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  [key: string]: unknown;
}

type Any = Record<string, any>;

export interface ObjectRule {
  name: string;
  description: string;
  check(obj: KubeObject): string[];
}

/** The pod spec inside any workload kind, or undefined for non-workloads. */
export function podSpecOf(obj: KubeObject): Any | undefined {
  const spec = obj.spec as Any | undefined;
  switch (obj.kind) {
    case "Pod":
      return spec;
    case "Deployment":
    case "StatefulSet":
    case "DaemonSet":
    case "ReplicaSet":
    case "Job":
      return spec?.template?.spec;
    case "CronJob":
      return spec?.jobTemplate?.spec?.template?.spec;
    default:
      return undefined;
  }
}

function containers(obj: KubeObject): Any[] {
  const pod = podSpecOf(obj);
  return pod ? [...(pod.initContainers ?? []), ...(pod.containers ?? [])] : [];
}

const id = (obj: KubeObject, c?: Any) =>
  `${obj.kind} ${obj.metadata.namespace ?? ""}/${obj.metadata.name}${c ? ` container ${c.name}` : ""}`;

export function isPinned(image: string): boolean {
  if (/@sha256:[a-f0-9]{64}$/.test(image)) return true;
  const tag = image.slice(image.lastIndexOf("/") + 1).split(":")[1];
  return tag !== undefined && tag !== "" && tag !== "latest";
}

const SECRET_NAME = /(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIALS?|DATABASE_URL)/i;
const URL_WITH_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i;

export const OBJECT_RULES: ObjectRule[] = [
  {
    name: "no-latest-tags",
    description: "Every container image is pinned by a tag other than latest, or by digest.",
    check: (obj) =>
      containers(obj)
        .filter((c) => !isPinned(String(c.image)))
        .map((c) => `${id(obj, c)}: image ${c.image} is not pinned`),
  },
  {
    name: "resource-limits",
    description: "Every container sets CPU and memory requests and limits.",
    check: (obj) =>
      containers(obj)
        .filter(
          (c) =>
            !(
              c.resources?.limits?.cpu &&
              c.resources?.limits?.memory &&
              c.resources?.requests?.cpu &&
              c.resources?.requests?.memory
            ),
        )
        .map((c) => `${id(obj, c)}: CPU/memory requests and limits must be set`),
  },
  {
    name: "run-as-non-root",
    description: "Pods run as a non-root user.",
    check: (obj) => {
      const pod = podSpecOf(obj);
      if (!pod) return [];
      return containers(obj)
        .filter((c) => {
          const nonRoot = c.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot;
          const uid = c.securityContext?.runAsUser ?? pod.securityContext?.runAsUser;
          return nonRoot !== true || uid === 0;
        })
        .map((c) => `${id(obj, c)}: must set runAsNonRoot: true with a non-zero uid`);
    },
  },
  {
    name: "read-only-root-filesystem",
    description: "Containers mount their root filesystem read-only.",
    check: (obj) =>
      containers(obj)
        .filter((c) => c.securityContext?.readOnlyRootFilesystem !== true)
        .map((c) => `${id(obj, c)}: readOnlyRootFilesystem must be true`),
  },
  {
    name: "probes-present",
    description:
      "Long-running containers have liveness and readiness probes (Jobs and CronJobs run to completion).",
    check: (obj) => {
      if (!["Deployment", "StatefulSet", "DaemonSet"].includes(obj.kind)) return [];
      return (podSpecOf(obj)?.containers ?? [])
        .filter((c: Any) => !c.livenessProbe || !c.readinessProbe)
        .map((c: Any) => `${id(obj, c)}: liveness and readiness probes are required`);
    },
  },
  {
    name: "no-plaintext-secrets-in-env",
    description: "Secrets reach containers through secretKeyRef, never as literal env values.",
    check: (obj) =>
      containers(obj).flatMap((c) =>
        (c.env ?? [])
          .filter(
            (e: Any) =>
              typeof e.value === "string" && (SECRET_NAME.test(e.name) || URL_WITH_PASSWORD.test(e.value)),
          )
          .map(
            (e: Any) => `${id(obj, c)}: env ${e.name} carries a literal secret; use valueFrom.secretKeyRef`,
          ),
      ),
  },
];

export const STACK_RULE = {
  name: "namespaces-default-denied",
  description: "Every namespace the stack creates has a default-deny NetworkPolicy for ingress and egress.",
  check(objects: KubeObject[]): string[] {
    const denied = new Set(
      objects
        .filter((o) => o.kind === "NetworkPolicy")
        .filter((o) => {
          const spec = o.spec as Any;
          const all =
            spec?.podSelector &&
            Object.keys(spec.podSelector).every((k) => Object.keys(spec.podSelector[k] ?? {}).length === 0);
          const types = spec?.policyTypes ?? [];
          return (
            all &&
            types.includes("Ingress") &&
            types.includes("Egress") &&
            !spec.ingress?.length &&
            !spec.egress?.length
          );
        })
        .map((o) => o.metadata.namespace),
    );
    return objects
      .filter((o) => o.kind === "Namespace" && !denied.has(o.metadata.name))
      .map((o) => `Namespace ${o.metadata.name}: no default-deny NetworkPolicy`);
  },
};

export function checkAll(objects: KubeObject[]): { rule: string; message: string }[] {
  const out: { rule: string; message: string }[] = [];
  for (const obj of objects)
    for (const rule of OBJECT_RULES)
      for (const message of rule.check(obj)) out.push({ rule: rule.name, message });
  for (const message of STACK_RULE.check(objects)) out.push({ rule: STACK_RULE.name, message });
  return out;
}
