// The backup and retention CronJobs as rendered for every committed stack:
// schedules from stack config, the repo's backup.sh in the ConfigMap, the
// security settings, and NetworkPolicies that let exactly these pods reach
// Postgres and DNS.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { checkAll, type KubeObject, OBJECT_RULES } from "../../policy/rules";
import { BACKUP_SCRIPT, OFFSITE_SCRIPT } from "../components/backup";
import { RETENTION_COMMAND } from "../components/retention";
import { parseStackConfig } from "../config";
import { type K8sObject, REDACTED, runWithMocks, toObjects } from "../render/mock-runtime";
import { goLiveStack } from "../stack";
import { REPO_ROOT, rawStackConfig, readStackFile } from "../stack-files";
import { renderStack } from "./support/render";

type Any = Record<string, any>;
const spec = (o: K8sObject) => o.spec as Any;
const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);
const podOf = (cron: K8sObject) => spec(cron).jobTemplate.spec.template as Any;

describe("backup and retention CronJobs", () => {
  for (const stack of ["staging", "prod", "local"]) {
    const ns = `golive-${stack}`;
    const cfg = parseStackConfig(rawStackConfig(stack));

    it(`${stack}: both CronJobs exist with the schedules from stack config, one run at a time`, async () => {
      const r = await renderStack(stack);
      const backup = r.find("CronJob", "backup", ns);
      const retention = r.find("CronJob", "retention", ns);
      assert.equal(spec(backup).schedule, cfg.backup.schedule);
      assert.equal(spec(retention).schedule, cfg.retention.jobSchedule);
      for (const cron of [backup, retention]) {
        assert.equal(spec(cron).concurrencyPolicy, "Forbid");
        assert.equal(podOf(cron).spec.restartPolicy, "Never");
      }
    });

    it(`${stack}: the backup runs the repo's backup.sh from the ConfigMap in the postgres image onto the PVC`, async () => {
      const r = await renderStack(stack);
      const cm = r.find("ConfigMap", "backup-script", ns) as Any;
      assert.equal(cm.data["backup.sh"], readFileSync(path.join(REPO_ROOT, BACKUP_SCRIPT), "utf8"));
      const pod = podOf(r.find("CronJob", "backup", ns)).spec;
      const c = pod.containers[0];
      assert.equal(c.image, cfg.images.postgres);
      const scriptMount = c.volumeMounts.find((m: Any) => m.name === "script");
      assert.deepEqual(c.command, ["bash", `${scriptMount.mountPath}/backup.sh`]);
      const scriptVolume = pod.volumes.find((v: Any) => v.name === "script");
      assert.equal(scriptVolume.configMap.name, "backup-script");
      const env = Object.fromEntries(c.env.map((e: Any) => [e.name, e.value ?? e.valueFrom]));
      assert.equal(env.BACKUP_KEEP, String(cfg.backup.keep));
      const backupsMount = c.volumeMounts.find((m: Any) => m.name === "backups");
      assert.equal(env.BACKUP_DIR, backupsMount.mountPath);
      const claim = pod.volumes.find((v: Any) => v.name === "backups").persistentVolumeClaim.claimName;
      const pvc = r.find("PersistentVolumeClaim", claim, ns);
      assert.equal(spec(pvc).resources.requests.storage, `${cfg.backup.storageGi}Gi`);
      assert.deepEqual(env.DATABASE_URL, { secretKeyRef: { name: "feed-database", key: "DATABASE_URL" } });
      r.find("Secret", "feed-database", ns);
    });

    it(`${stack}: the retention job runs the jobs image's entry with RETENTION_DAYS from config`, async () => {
      const r = await renderStack(stack);
      const c = podOf(r.find("CronJob", "retention", ns)).spec.containers[0];
      assert.equal(c.image, cfg.images.jobs);
      const dockerfile = readFileSync(path.join(REPO_ROOT, "apps", "jobs", "Dockerfile"), "utf8");
      const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)?.[1] ?? "[]") as string[];
      assert.deepEqual(c.command.slice(1), cmd, "same script as the image's CMD");
      assert.deepEqual(c.command, RETENTION_COMMAND);
      const days = c.env.find((e: Any) => e.name === "RETENTION_DAYS").value;
      assert.equal(days, String(cfg.retention.deletedUsersDays));
      assert.ok(c.env.find((e: Any) => e.name === "DATABASE_URL").valueFrom.secretKeyRef);
    });

    it(`${stack}: both job pods are non-root with a read-only root, a tmp emptyDir and limits`, async () => {
      const r = await renderStack(stack);
      for (const name of ["backup", "retention"]) {
        const cron = r.find("CronJob", name, ns);
        const pod = podOf(cron).spec;
        const c = pod.containers[0];
        assert.equal(pod.securityContext.runAsNonRoot, true);
        assert.notEqual(c.securityContext.runAsUser, 0);
        assert.equal(c.securityContext.readOnlyRootFilesystem, true);
        assert.deepEqual(c.securityContext.capabilities.drop, ["ALL"]);
        assert.equal(pod.automountServiceAccountToken, false);
        const tmp = c.volumeMounts.find((m: Any) => m.mountPath === "/tmp");
        assert.ok(pod.volumes.find((v: Any) => v.name === tmp.name).emptyDir, `${name}: /tmp is an emptyDir`);
        assert.ok(c.resources.limits.cpu && c.resources.limits.memory, `${name}: limits`);
        for (const rule of OBJECT_RULES) assert.deepEqual(rule.check(cron as KubeObject), [], rule.name);
      }
      assert.deepEqual(checkAll(r.objects as KubeObject[]), []);
    });

    it(`${stack}: NetworkPolicies let the job pods reach Postgres on 5432 and DNS, and Postgres admits them`, async () => {
      const r = await renderStack(stack);
      const pg = spec(r.find("StatefulSet", "postgres", ns)).template.metadata.labels;
      const pgIngress = spec(r.find("NetworkPolicy", "postgres-ingress", ns));
      const dns = spec(r.find("NetworkPolicy", "allow-dns", ns));
      for (const name of ["backup", "retention"]) {
        const labels = podOf(r.find("CronJob", name, ns)).metadata.labels;
        const egress = spec(r.find("NetworkPolicy", `${name}-egress`, ns));
        assert.ok(matches(egress.podSelector.matchLabels, labels), `${name}-egress selects the ${name} pods`);
        assert.deepEqual(egress.policyTypes, ["Egress"]);
        assert.ok(matches(egress.egress[0].to[0].podSelector.matchLabels, pg), "to the Postgres pods");
        assert.deepEqual(egress.egress[0].ports, [{ protocol: "TCP", port: 5432 }]);
        const admitted = pgIngress.ingress.some(
          (rule: Any) =>
            rule.ports.some((p: Any) => p.port === 5432) &&
            rule.from.some((peer: Any) => matches(peer.podSelector.matchLabels, labels)),
        );
        assert.ok(admitted, `postgres-ingress admits the ${name} pods`);
        assert.ok(matches(dns.podSelector.matchLabels ?? {}, labels), "allow-dns covers every pod");
        assert.ok(dns.egress[0].ports.some((p: Any) => p.port === 53));
        // The feed's policies must not select the job pods (they would widen or narrow them by accident).
        assert.ok(!matches(spec(r.find("NetworkPolicy", "feed-egress", ns)).podSelector.matchLabels, labels));
      }
    });
  }
});

describe("off-site copies (backup.offsite)", () => {
  const SECRET = "offsite-secret-key-value";
  const KEYS = new Set(["backupOffsiteAccessKeyId", "backupOffsiteSecretAccessKey"]);
  const ns = "golive-prod";
  const render = async () => {
    const raw = rawStackConfig("prod") as Any;
    raw.backup = { ...raw.backup, offsite: { bucket: "golive-prod-backups", region: "eu-west-1", keep: 56 } };
    raw.backupOffsiteAccessKeyId = "AKIAEXAMPLEKEY";
    raw.backupOffsiteSecretAccessKey = SECRET;
    const cfg = parseStackConfig(raw, KEYS);
    const { resources } = await runWithMocks("prod", readStackFile("prod").config, () => goLiveStack(cfg));
    const objects = toObjects(resources);
    const find = (kind: string, name: string) => {
      const hit = objects.find((o) => o.kind === kind && o.metadata.name === name);
      assert.ok(hit, `no ${kind} ${name}`);
      return hit as K8sObject & Any;
    };
    return { cfg, objects, find };
  };

  it("dumps first (init container), then runs offsite.sh from the ConfigMap in the pinned rclone image", async () => {
    const { cfg, find } = await render();
    const pod = podOf(find("CronJob", "backup")).spec;
    assert.deepEqual(
      pod.initContainers.map((c: Any) => c.name),
      ["backup"],
    );
    assert.equal(pod.initContainers[0].image, cfg.images.postgres);
    const [upload] = pod.containers;
    assert.equal(upload.image, cfg.images.rclone);
    assert.match(upload.image, /^docker\.io\/rclone\/rclone:[\d.]+@sha256:[a-f0-9]{64}$/);
    assert.deepEqual(upload.command, ["/bin/sh", "/scripts/offsite.sh"]);
    const cm = find("ConfigMap", "backup-script");
    assert.equal(cm.data["offsite.sh"], readFileSync(path.join(REPO_ROOT, OFFSITE_SCRIPT), "utf8"));
    const env = Object.fromEntries(upload.env.map((e: Any) => [e.name, e.value]));
    assert.equal(
      env.OFFSITE_REMOTE,
      "offsite:golive-prod-backups/prod",
      "the folder defaults to the environment",
    );
    assert.equal(env.OFFSITE_KEEP, "56");
    assert.equal(env.RCLONE_CONFIG_OFFSITE_TYPE, "s3");
    assert.equal(env.RCLONE_CONFIG_OFFSITE_PROVIDER, "AWS");
    assert.equal(env.RCLONE_CONFIG_OFFSITE_REGION, "eu-west-1");
    assert.equal(
      env.BACKUP_PREFIX,
      pod.initContainers[0].env.find((e: Any) => e.name === "BACKUP_PREFIX").value,
    );
    // Each script's variables (BACKUP_*, OFFSITE_*) are exactly what its container is given.
    for (const [script, container] of [
      [BACKUP_SCRIPT, pod.initContainers[0]],
      [OFFSITE_SCRIPT, upload],
    ] as const) {
      const read = [
        ...readFileSync(path.join(REPO_ROOT, script), "utf8").matchAll(/\$\{?((?:BACKUP|OFFSITE)_[A-Z_]+)/g),
      ];
      const given = container.env.map((e: Any) => e.name).filter((n: string) => /^(BACKUP|OFFSITE)_/.test(n));
      assert.deepEqual([...new Set(read.map((m) => m[1]))].sort(), [...new Set(given)].sort(), script);
    }
    const volume = upload.volumeMounts.find((m: Any) => m.name === "backups");
    assert.equal(volume.readOnly, true, "the upload only reads the volume");
    assert.equal(upload.securityContext.readOnlyRootFilesystem, true);
  });

  it("the bucket key is a Secret read through envFrom, never written into the pod spec or the render", async () => {
    const { objects, find } = await render();
    const secret = find("Secret", "backup-offsite");
    assert.deepEqual(Object.keys(secret.stringData).sort(), [
      "RCLONE_CONFIG_OFFSITE_ACCESS_KEY_ID",
      "RCLONE_CONFIG_OFFSITE_SECRET_ACCESS_KEY",
    ]);
    assert.equal(secret.stringData.RCLONE_CONFIG_OFFSITE_SECRET_ACCESS_KEY, REDACTED);
    const [upload] = podOf(find("CronJob", "backup")).spec.containers;
    assert.deepEqual(upload.envFrom, [{ secretRef: { name: "backup-offsite" } }]);
    assert.ok(!JSON.stringify(objects).includes(SECRET), "the secret key shows up in the render");
  });

  it("the backup pod may reach the bucket's HTTPS port and Postgres, nothing else; policies still pass", async () => {
    const { objects, find } = await render();
    const egress = spec(find("NetworkPolicy", "backup-egress")).egress;
    assert.equal(egress.length, 2);
    assert.deepEqual(egress[1], {
      to: [{ ipBlock: { cidr: "0.0.0.0/0" } }],
      ports: [{ protocol: "TCP", port: 443 }],
    });
    assert.deepEqual(checkAll(objects as KubeObject[]), []);
    assert.equal(find("CronJob", "backup").metadata.namespace, ns);
  });
});
