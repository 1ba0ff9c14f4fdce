// The security settings every pod we own runs with: the Pod Security
// "restricted" profile plus a read-only root filesystem. Kept in one place so
// the workloads, jobs and the load test cannot drift apart.
import type * as k8s from "@pulumi/kubernetes";

type PodSecurityContext = k8s.types.input.core.v1.PodSecurityContext;
type SecurityContext = k8s.types.input.core.v1.SecurityContext;

/** The uid our images run as (USER 10001 in apps/*\/Dockerfile). */
export const APP_UID = 10001;

export function podSecurity(uid = APP_UID): PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    fsGroup: uid,
    seccompProfile: { type: "RuntimeDefault" },
  };
}

export function containerSecurity(uid = APP_UID): SecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    privileged: false,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  };
}

/** A writable /tmp for runtimes that need scratch space under a read-only root. */
export const tmpVolume = { name: "tmp", emptyDir: { sizeLimit: "64Mi" } };
export const tmpMount = { name: "tmp", mountPath: "/tmp" };
