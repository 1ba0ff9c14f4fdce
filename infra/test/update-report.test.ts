// What a lane's `pulumi up` reports (support/update-report.ts): the slowest
// creations, and on failure the cause first, so a CI log that keeps only a
// message's head keeps it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  diagnosticsOf,
  latestWarnings,
  slowestCreations,
  stillCreating,
  unreadyPods,
  updateFailure,
} from "./support/update-report";

const OUTPUT = [
  "Updating (local):\n",
  " +  pulumi:pulumi:Stack golive-local creating (0s) \n",
  " +  golive:platform:Namespaces namespaces creating (0s) \n",
  " +  golive:platform:Namespaces namespaces created (70s) \n",
  " +  random:index:RandomPassword drill-token creating (0s) \n",
  " +  random:index:RandomPassword drill-token created (0.06s) \n",
  " +  kubernetes:helm.sh/v3:Release loki creating (0s) \n",
  " +  kubernetes:helm.sh/v3:Release loki created (1m5s) \n",
  " +  kubernetes:apps/v1:StatefulSet postgres creating (0s) \n",
  " +  kubernetes:apps/v1:StatefulSet postgres created (12s) \n",
  " +  kubernetes:batch/v1:Job migrate creating (40s) \n",
  `${" +  kubernetes:apps/v1:Deployment feed creating (3s) \n".repeat(400)}`,
  " +  kubernetes:apps/v1:Deployment feed creating failed error: 1 error occurred\n",
  "Diagnostics:\n",
  "  kubernetes:apps/v1:Deployment (feed):\n",
  "    error: 1 error occurred:\n",
  "    \t* resource golive-local/feed was not ready: Minimum number of live Pods was not attained\n",
  "\n",
  "Resources:\n",
  "    + 80 created\n",
  "\n",
  "Duration: 5m32s\n",
].join("");

describe("a failed update's report", () => {
  it("takes Pulumi's Diagnostics section, without the summary after it", () => {
    const d = diagnosticsOf(OUTPUT);
    assert.match(d, /^Diagnostics:\n {2}kubernetes:apps\/v1:Deployment \(feed\):/);
    assert.match(d, /Minimum number of live Pods was not attained$/);
    assert.doesNotMatch(d, /Resources:|created/);
    assert.equal(diagnosticsOf("Updating (local):\n + x creating\n"), "");
  });

  it("lists the slowest creations and what was still being created when it stopped", () => {
    assert.deepEqual(slowestCreations(OUTPUT, 2), [
      "kubernetes:helm.sh/v3:Release loki 65s",
      "kubernetes:apps/v1:StatefulSet postgres 12s",
    ]);
    assert.deepEqual(stillCreating(OUTPUT), ["kubernetes:batch/v1:Job migrate (40s)"]);
  });

  it("leads with the diagnostics and keeps the command's message short, last", async () => {
    const err = new Error(
      `code: 1\n stdout: ${OUTPUT}\n stderr: Command failed with exit code 1: pulumi up --yes\n err?: Error`,
    );
    const report = (await updateFailure(err, [OUTPUT])).message;
    assert.ok(report.startsWith("pulumi up failed:\nDiagnostics:"), report.slice(0, 200));
    assert.match(report, /\nstill being created: .*kubernetes:batch\/v1:Job migrate \(40s\)\n/);
    assert.ok(report.length < 5000, `${report.length} characters`);
    assert.match(report, /Command failed with exit code 1: pulumi up --yes$/);
    // The diagnostics once, at the head; the progress lines before them.
    assert.equal(report.split("Diagnostics:").length, 2);
    assert.match(report, /Deployment feed creating failed error: 1 error occurred\n/);
  });

  it("names each pod that is not ready with its containers' states, and skips the ready and the done", () => {
    const pod = (name: string, status: object) => ({
      metadata: { namespace: "app", name },
      spec: { nodeName: "10.0.0.2" },
      status,
    });
    const lines = unreadyPods([
      pod("feed-1", {
        phase: "Running",
        conditions: [{ type: "Ready", status: "False" }],
        containerStatuses: [
          {
            name: "feed",
            ready: false,
            restartCount: 4,
            state: { waiting: { reason: "CrashLoopBackOff" } },
            lastState: { terminated: { reason: "Error", exitCode: 1 } },
          },
        ],
      }),
      pod("migrate-2", {
        phase: "Failed",
        initContainerStatuses: [
          { name: "db-roles", ready: false, restartCount: 0, state: { waiting: { reason: "StartError" } } },
        ],
        containerStatuses: [
          {
            name: "migrate",
            ready: false,
            restartCount: 0,
            state: { waiting: { reason: "PodInitializing" } },
          },
        ],
      }),
      pod("gateway-1", { phase: "Running", conditions: [{ type: "Ready", status: "True" }] }),
      pod("migrate-1", { phase: "Succeeded" }),
      pod("postgres-0", { phase: "Pending" }),
    ]);
    assert.deepEqual(lines, [
      "app/feed-1 on 10.0.0.2: Running; feed waiting (CrashLoopBackOff), 4 restarts, last terminated Error exit 1",
      "app/migrate-2 on 10.0.0.2: Failed; db-roles waiting (StartError), 0 restarts; migrate waiting (PodInitializing), 0 restarts",
      "app/postgres-0 on 10.0.0.2: Pending; no container started",
    ]);
  });

  it("keeps the latest warnings, oldest first", () => {
    const ev = (reason: string, at: string, type = "Warning") => ({
      type,
      reason,
      message: `${reason} happened`,
      involvedObject: { kind: "Pod", namespace: "app", name: "feed-1" },
      lastTimestamp: at,
    });
    const lines = latestWarnings(
      [
        ev("BackOff", "2026-12-05T08:03:00Z"),
        ev("Pulled", "2026-12-05T08:04:00Z", "Normal"),
        ev("Unhealthy", "2026-12-05T08:02:00Z"),
        ev("FailedMount", "2026-12-05T08:01:00Z"),
      ],
      2,
    );
    assert.deepEqual(lines, [
      "2026-12-05T08:02:00Z Pod app/feed-1 Unhealthy: Unhealthy happened",
      "2026-12-05T08:03:00Z Pod app/feed-1 BackOff: BackOff happened",
    ]);
  });
});
