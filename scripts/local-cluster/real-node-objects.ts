// The cluster objects a real node needs: the placement of the app namespaces'
// pods on it, and the cluster DNS running there as a pod (the stack's
// NetworkPolicies allow DNS to pods labelled k8s-app=kube-dns in kube-system,
// as on a real cluster, so a DNS server outside a pod would be denied).
import type { KubeObject } from "./kube-api";
import { CLUSTER_DNS_IP, REAL_NODE_LABEL, REAL_NODE_ROLES, REAL_NODE_TAINT } from "./real-node";

/**
 * Pods created in a namespace whose `golive.dev/role` is app or loadtest get
 * the real node's selector and toleration at admission, so the stack's own
 * manifests stay as users get them, and nothing else lands on the real node
 * (it is tainted). A MutatingAdmissionPolicy (CEL, in the API server), rather
 * than the PodNodeSelector plugin's namespace annotations, because it matches
 * the stack's own namespace labels: no annotation has to win a race with
 * `pulumi up` creating the namespace and its first pods.
 */
const TOLERATION = `{"key": "${REAL_NODE_TAINT}", "operator": "Exists", "effect": "NoSchedule"}`;

export function placementPolicy(): KubeObject[] {
  const name = "golive-real-node-placement";
  return [
    {
      apiVersion: "admissionregistration.k8s.io/v1beta1",
      kind: "MutatingAdmissionPolicy",
      metadata: { name },
      spec: {
        failurePolicy: "Fail",
        reinvocationPolicy: "Never",
        matchConstraints: {
          resourceRules: [
            { apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"] },
          ],
          namespaceSelector: {
            matchExpressions: [{ key: "golive.dev/role", operator: "In", values: [...REAL_NODE_ROLES] }],
          },
        },
        mutations: [
          {
            patchType: "JSONPatch",
            jsonPatch: {
              // Adds to what the pod already has rather than replacing it.
              expression: `(has(object.spec.nodeSelector)
  ? [JSONPatch{op: "add", path: "/spec/nodeSelector/" + jsonpatch.escapeKey("${REAL_NODE_LABEL}"), value: "real"}]
  : [JSONPatch{op: "add", path: "/spec/nodeSelector", value: {"${REAL_NODE_LABEL}": "real"}}])
+ (has(object.spec.tolerations)
  ? [JSONPatch{op: "add", path: "/spec/tolerations/-", value: ${TOLERATION}}]
  : [JSONPatch{op: "add", path: "/spec/tolerations", value: [${TOLERATION}]}])`,
            },
          },
        ],
      },
    },
    {
      apiVersion: "admissionregistration.k8s.io/v1beta1",
      kind: "MutatingAdmissionPolicyBinding",
      metadata: { name },
      spec: { policyName: name },
    },
  ];
}

const DNS_LABELS = { "k8s-app": "kube-dns" };

/** CoreDNS (the project's build, `kubernetes` plugin, no `forward`: no name leaves the cluster). */
export function clusterDns(image: string): { path: string; obj: KubeObject }[] {
  const ns = "kube-system";
  const corefile = `.:53 {
    errors
    health :8080
    ready :8181
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 30
    loop
    reload
    loadbalance
}
`;
  const core = (kind: string) => `/api/v1/namespaces/${ns}/${kind}`;
  return [
    {
      path: core("serviceaccounts"),
      obj: { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "coredns", namespace: ns } },
    },
    {
      path: "/apis/rbac.authorization.k8s.io/v1/clusterroles",
      obj: {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRole",
        metadata: { name: "golive:coredns" },
        rules: [
          {
            apiGroups: [""],
            resources: ["endpoints", "services", "pods", "namespaces"],
            verbs: ["list", "watch"],
          },
          { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch"] },
        ],
      },
    },
    {
      path: "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
      obj: {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: "golive:coredns" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "golive:coredns" },
        subjects: [{ kind: "ServiceAccount", name: "coredns", namespace: ns }],
      },
    },
    {
      path: core("configmaps"),
      obj: {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "coredns", namespace: ns },
        data: { Corefile: corefile },
      },
    },
    {
      path: `/apis/apps/v1/namespaces/${ns}/deployments`,
      obj: {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "coredns", namespace: ns, labels: DNS_LABELS },
        spec: {
          replicas: 1,
          selector: { matchLabels: DNS_LABELS },
          template: {
            metadata: { labels: DNS_LABELS },
            spec: {
              serviceAccountName: "coredns",
              nodeSelector: { [REAL_NODE_LABEL]: "real" },
              tolerations: [{ key: REAL_NODE_TAINT, operator: "Exists", effect: "NoSchedule" }],
              securityContext: {
                runAsNonRoot: true,
                runAsUser: 65532,
                seccompProfile: { type: "RuntimeDefault" },
              },
              containers: [
                {
                  name: "coredns",
                  image,
                  imagePullPolicy: "Never",
                  args: ["-conf", "/etc/coredns/Corefile"],
                  ports: [
                    { name: "dns", containerPort: 53, protocol: "UDP" },
                    { name: "dns-tcp", containerPort: 53, protocol: "TCP" },
                  ],
                  readinessProbe: { httpGet: { path: "/ready", port: 8181 }, periodSeconds: 2 },
                  livenessProbe: { httpGet: { path: "/health", port: 8080 }, periodSeconds: 10 },
                  resources: { requests: { cpu: "20m", memory: "32Mi" }, limits: { memory: "96Mi" } },
                  securityContext: {
                    allowPrivilegeEscalation: false,
                    readOnlyRootFilesystem: true,
                    capabilities: { drop: ["ALL"] },
                  },
                  volumeMounts: [{ name: "config", mountPath: "/etc/coredns", readOnly: true }],
                },
              ],
              volumes: [{ name: "config", configMap: { name: "coredns" } }],
            },
          },
        },
      },
    },
    {
      path: core("services"),
      obj: {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "kube-dns", namespace: ns, labels: DNS_LABELS },
        spec: {
          clusterIP: CLUSTER_DNS_IP,
          selector: DNS_LABELS,
          ports: [
            { name: "dns", port: 53, targetPort: 53, protocol: "UDP" },
            { name: "dns-tcp", port: 53, targetPort: 53, protocol: "TCP" },
          ],
        },
      },
    },
  ];
}
