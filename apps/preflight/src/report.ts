// The preflight's answer: a table for people (one line per check), a JSON
// document for machines, and the verdict the exit code carries.
import type { CheckResult } from "./result";

export interface PreflightReport {
  stack: string;
  runId: string;
  startedAt: string;
  verdict: "pass" | "fail";
  /** Checks that got an authorization they could not release, or cannot tell. */
  moneyMayBeHeld: string[];
  checks: CheckResult[];
}

export function buildReport(
  stack: string,
  runId: string,
  startedAt: Date,
  checks: CheckResult[],
): PreflightReport {
  return {
    stack,
    runId,
    startedAt: startedAt.toISOString(),
    verdict: checks.some((c) => c.status === "failed") ? "fail" : "pass",
    moneyMayBeHeld: checks.filter((c) => c.moneyMayBeHeld).map((c) => c.name),
    checks,
  };
}

export function formatTable(report: PreflightReport): string {
  const width = Math.max(5, ...report.checks.map((c) => c.name.length));
  const lines = [
    `preflight of stack ${report.stack}, run ${report.runId}`,
    `${"check".padEnd(width)}  status   latency  reason`,
    ...report.checks.map(
      (c) => `${c.name.padEnd(width)}  ${c.status.padEnd(7)} ${`${c.latencyMs} ms`.padStart(8)}  ${c.reason}`,
    ),
  ];
  const count = (status: string) => report.checks.filter((c) => c.status === status).length;
  if (report.moneyMayBeHeld.length > 0)
    lines.push(
      `MONEY MAY BE HELD by ${report.moneyMayBeHeld.join(", ")}: release it by hand (see the lines above)`,
    );
  lines.push(
    `verdict: ${report.verdict.toUpperCase()} (${count("ok")} ok, ${count("failed")} failed, ${count("skipped")} skipped)`,
  );
  return lines.join("\n");
}
