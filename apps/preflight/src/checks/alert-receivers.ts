// The alert receivers are wired: one test alert per severity that has
// receivers is posted to Alertmanager, and the check waits until
// Alertmanager has routed each to exactly the receivers the stack lists
// for that severity. Alertmanager then notifies them (after group_wait);
// the people on the other end see "PreflightTestNotification".
import type { CheckResult } from "../result";
import { skipped, timed } from "../result";

export const TEST_ALERT = "PreflightTestNotification";

export interface AlertReceiversInput {
  alertmanagerUrl: string;
  /** Receiver names per severity, as the stack routes them (golive:alerting.routes). */
  routes: Record<string, string[]>;
  runId: string;
  timeoutMs: number;
  /** How long the test alerts stay firing; they resolve by themselves. */
  firingMs?: number;
}

interface AlertGroup {
  receiver: { name: string };
  alerts: { labels: Record<string, string> }[];
}

export function checkAlertReceivers(input: AlertReceiversInput): Promise<CheckResult> {
  const severities = Object.entries(input.routes).filter(([, receivers]) => receivers.length > 0);
  if (severities.length === 0)
    return Promise.resolve(
      skipped("alert-receivers", "no receivers configured (golive:alerting): alerts go to the null receiver"),
    );
  return timed("alert-receivers", async () => {
    const base = input.alertmanagerUrl.replace(/\/$/, "");
    const now = Date.now();
    const alerts = severities.map(([severity]) => ({
      labels: {
        alertname: TEST_ALERT,
        severity,
        // Its own service per severity: the inhibit rules (equal on
        // alertname, namespace, service) must not let the critical one mute the others.
        service: `preflight-${severity}`,
        preflight_run: input.runId,
      },
      annotations: {
        summary: `Preflight test notification (${severity}): no action needed`,
        description: `Sent by the go-live preflight run ${input.runId} to prove this receiver is wired.`,
      },
      startsAt: new Date(now).toISOString(),
      endsAt: new Date(now + (input.firingMs ?? 5 * 60_000)).toISOString(),
    }));
    const posted = await fetch(`${base}/api/v2/alerts`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(alerts),
      signal: AbortSignal.timeout(input.timeoutMs),
    });
    if (!posted.ok)
      return {
        status: "failed",
        reason: `POST /api/v2/alerts: HTTP ${posted.status} ${await posted.text()}`,
      };

    const deadline = Date.now() + input.timeoutMs;
    let missing: string[] = [];
    do {
      const routed = await routedReceivers(base, input.runId, input.timeoutMs);
      missing = severities.flatMap(([severity, receivers]) =>
        receivers.filter((r) => !routed.get(severity)?.has(r)).map((r) => `${r} (${severity})`),
      );
      if (missing.length === 0) {
        const summary = severities.map(([severity, receivers]) => `${severity} -> ${receivers.join(", ")}`);
        return { status: "ok", reason: `test alerts routed: ${summary.join("; ")}` };
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    } while (Date.now() < deadline);
    return { status: "failed", reason: `not routed within ${input.timeoutMs} ms to ${missing.join(", ")}` };
  });
}

/** severity -> the receivers Alertmanager has grouped this run's test alerts under. */
async function routedReceivers(base: string, runId: string, timeoutMs: number) {
  const filter = encodeURIComponent(`preflight_run="${runId}"`);
  const res = await fetch(`${base}/api/v2/alerts/groups?filter=${filter}`, {
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!res.ok) throw new Error(`GET /api/v2/alerts/groups: HTTP ${res.status}`);
  const routed = new Map<string, Set<string>>();
  for (const group of (await res.json()) as AlertGroup[]) {
    for (const alert of group.alerts) {
      const severity = alert.labels.severity ?? "";
      if (!routed.has(severity)) routed.set(severity, new Set());
      routed.get(severity)?.add(group.receiver.name);
    }
  }
  return routed;
}
