// The stack's feature flags (golive:flags) as the flagd flag file the
// services read (apps/shared/src/feature-flags.ts), in a ConfigMap mounted
// as a folder: the kubelet swaps the folder's files when the ConfigMap
// changes, so a flag flips with no restart (a subPath mount would never see
// the change). No checksum on the pods for it, on purpose.
import { renderFlagFile } from "@golive/flags/flags";
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config";
import { appLabels } from "./labels";

export const FLAGS_CONFIG_MAP = "golive-flags";
const MOUNT_DIR = "/etc/golive/flags";
const FILE = "flags.json";
/** What a service's FLAGS_FILE is (EnvSource `{ flags: "file" }`). */
export const FLAGS_FILE_PATH = `${MOUNT_DIR}/${FILE}`;

export interface FlagFileMount {
  volume: k8s.types.input.core.v1.Volume;
  mount: k8s.types.input.core.v1.VolumeMount;
}

export function featureFlags(
  namespace: string,
  config: StackConfig,
  opts: pulumi.CustomResourceOptions,
): FlagFileMount {
  const configMap = new k8s.core.v1.ConfigMap(
    FLAGS_CONFIG_MAP,
    {
      metadata: { name: FLAGS_CONFIG_MAP, namespace, labels: appLabels(FLAGS_CONFIG_MAP) },
      data: { [FILE]: renderFlagFile(config.flags) },
    },
    opts,
  );
  return {
    // The output name: pods wait for the ConfigMap.
    volume: { name: "feature-flags", configMap: { name: configMap.metadata.name } },
    mount: { name: "feature-flags", mountPath: MOUNT_DIR, readOnly: true },
  };
}
