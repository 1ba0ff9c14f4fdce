// Volumes a real kubelet can write to, for a cluster with a real node
// (started by cluster.ts as one of its processes, stopped by PID). kwok's own
// provisioning stage makes hostPath volumes that the kubelet creates as
// root-owned 0755 directories, where a non-root pod (Postgres as uid 999)
// cannot write, and hostPath volumes get no fsGroup. Like the local-path
// provisioner that kind ships, this one creates each claim's directory
// world-writable under the cluster folder first, then the PersistentVolume
// that points at it, pre-bound to the claim; the controller manager binds it.
// So a volume never exists before its directory. Claims of other classes are
// left alone.
//   node --import tsx volume-provisioner.ts <cluster dir> <storage class>
import { chmodSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { KubeApi, type KubeObject } from "./kube-api";

interface Claim extends KubeObject {
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    resourceVersion: string;
    deletionTimestamp?: string;
  };
  spec: {
    storageClassName?: string;
    volumeName?: string;
    accessModes: string[];
    volumeMode?: string;
    resources: { requests: { storage: string } };
  };
}

async function main() {
  const [dir, storageClass] = process.argv.slice(2);
  if (!dir || !storageClass) throw new Error("usage: volume-provisioner.ts <cluster dir> <storage class>");
  const kubeconfig = readFileSync(path.join(dir, "kubeconfig"), "utf8");
  const server = /server: (\S+)/.exec(kubeconfig)?.[1];
  if (!server) throw new Error(`no server in ${dir}/kubeconfig`);
  const api = new KubeApi({
    server,
    ca: readFileSync(path.join(dir, "ca.crt"), "utf8"),
    cert: readFileSync(path.join(dir, "admin.crt"), "utf8"),
    key: readFileSync(path.join(dir, "admin.key"), "utf8"),
  });
  const volumes = path.join(dir, "volumes");
  mkdirSync(volumes, { recursive: true });
  const done = new Set<string>();
  // Polls: a claim waits at most one interval; the process lives as long as the cluster.
  for (;;) {
    try {
      const claims = await api.get<{ items: Claim[] }>("/api/v1/persistentvolumeclaims");
      for (const c of claims.items) {
        if (c.spec.storageClassName !== storageClass || c.spec.volumeName || c.metadata.deletionTimestamp)
          continue;
        if (done.has(c.metadata.uid)) continue;
        const name = `pvc-${c.metadata.uid}`;
        const hostPath = path.join(volumes, name);
        mkdirSync(hostPath, { recursive: true });
        chmodSync(hostPath, 0o777);
        await api.create("/api/v1/persistentvolumes", {
          apiVersion: "v1",
          kind: "PersistentVolume",
          metadata: {
            name,
            annotations: { "pv.kubernetes.io/provisioned-by": "golive.dev/volume-provisioner" },
          },
          spec: {
            accessModes: c.spec.accessModes,
            capacity: { storage: c.spec.resources.requests.storage },
            persistentVolumeReclaimPolicy: "Delete",
            storageClassName: storageClass,
            volumeMode: c.spec.volumeMode ?? "Filesystem",
            claimRef: {
              apiVersion: "v1",
              kind: "PersistentVolumeClaim",
              name: c.metadata.name,
              namespace: c.metadata.namespace,
              uid: c.metadata.uid,
            },
            hostPath: { path: hostPath, type: "Directory" },
          },
        });
        done.add(c.metadata.uid);
        console.log(`provisioned ${name} for ${c.metadata.namespace}/${c.metadata.name}`);
      }
    } catch (err) {
      console.error(`volume-provisioner: ${err instanceof Error ? err.message : err}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
