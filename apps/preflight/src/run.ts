// Runs every check of a plan at once (they are independent and each has its
// own deadline) and gathers the report, lines in a fixed order.
import { checkAlertReceivers } from "./checks/alert-receivers";
import { checkDatabase } from "./checks/database";
import { checkDns } from "./checks/dns";
import { checkTls } from "./checks/tls";
import { checkPayment } from "./payments/check";
import { PROCESSORS } from "./payments/index";
import type { PreflightPlan } from "./plan";
import { buildReport, type PreflightReport } from "./report";
import { type CheckResult, skipped } from "./result";

export async function runPreflight(plan: PreflightPlan): Promise<PreflightReport> {
  const startedAt = new Date();
  const unknown = Object.keys(plan.payments).filter((name) => !PROCESSORS.some((p) => p.name === name));
  const checks: Promise<CheckResult>[] = [
    checkDns({ host: plan.publicHost, server: plan.dnsServer, timeoutMs: plan.timeoutMs }),
    checkTls({ host: plan.publicHost, ...plan.tls, timeoutMs: plan.timeoutMs }),
    plan.databaseUrl
      ? checkDatabase({ url: plan.databaseUrl, timeoutMs: plan.timeoutMs })
      : Promise.resolve(skipped("database", "no database URL given")),
    plan.alertmanager
      ? checkAlertReceivers({
          ...plan.alertmanager,
          alertmanagerUrl: plan.alertmanager.url,
          runId: plan.runId,
          timeoutMs: plan.timeoutMs,
        })
      : Promise.resolve(skipped("alert-receivers", "no Alertmanager URL given")),
    ...PROCESSORS.map((module) => {
      const settings = plan.payments[module.name];
      const { currency, ...credentials } = settings ?? {};
      return checkPayment({
        module,
        credentials: settings === undefined ? undefined : credentials,
        currency: typeof currency === "string" ? currency : undefined,
        live: plan.live,
        endpoint: plan.paymentEndpoints[module.name],
        timeoutMs: plan.timeoutMs,
        runId: plan.runId,
      });
    }),
    ...unknown.map((name) =>
      Promise.resolve<CheckResult>({
        name: `payment:${name}`,
        status: "failed",
        latencyMs: 0,
        reason: `unknown processor (known: ${PROCESSORS.map((p) => p.name).join(", ")})`,
      }),
    ),
  ];
  return buildReport(plan.stack, plan.runId, startedAt, await Promise.all(checks));
}
