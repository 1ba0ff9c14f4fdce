// Rolls the pods that read a generated secret when its value changes.
// Kubernetes does not restart pods whose env came from a Secret that was
// updated, so every pod template that reads one carries a hash of its data:
// a new password changes the hash, the template, and so the rollout.
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";

/** Pod template annotation holding the hash of the secrets the pod reads. */
export const SECRET_CHECKSUM_ANNOTATION = "golive.dev/secret-checksum";

type SecretData = pulumi.Input<Record<string, pulumi.Input<string>>>;

/**
 * sha256 over the resolved key/value pairs (keys sorted, so the order the
 * object was built in does not matter). The result is deliberately not a
 * Pulumi secret: the annotation must show up in `pulumi preview` diffs, and a
 * hash of a 32-character random password reveals nothing about it.
 */
export function secretChecksum(...data: SecretData[]): pulumi.Output<string> {
  const hash = pulumi.all(data.map((d) => pulumi.output(d))).apply((resolved) => {
    const h = createHash("sha256");
    for (const entries of resolved) {
      for (const key of Object.keys(entries).sort()) h.update(`${key}\0${entries[key]}\0`);
      h.update("\u0001");
    }
    return h.digest("hex");
  });
  return pulumi.unsecret(hash);
}

/** The annotation object for a pod template's metadata. */
export function checksumAnnotations(checksum: pulumi.Input<string>): Record<string, pulumi.Input<string>> {
  return { [SECRET_CHECKSUM_ANNOTATION]: checksum };
}
