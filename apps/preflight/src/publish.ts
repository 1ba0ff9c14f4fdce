// What every run does with its report: the table on stdout, the JSON report
// where asked ("-": stdout, one line, for the Job's logs), the metrics to the
// collector when there is one. Returns the exit code: the verdict.
import { writeFileSync } from "node:fs";
import { exportReport } from "./metrics";
import { formatTable, type PreflightReport } from "./report";
import { errorMessage } from "./result";

export interface PublishOptions {
  /** A file for the JSON report, or "-" for stdout. */
  json?: string;
  /** The collector's OTLP/HTTP base URL. */
  otlpEndpoint?: string;
  timeoutMs: number;
}

export async function publishReport(report: PreflightReport, options: PublishOptions): Promise<number> {
  console.log(formatTable(report));
  if (options.json === "-") console.log(JSON.stringify({ preflightReport: report }));
  else if (options.json) writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);
  if (options.otlpEndpoint) {
    // The verdict stands without its metrics; the missing export is said loudly.
    await exportReport(report, options.otlpEndpoint, options.timeoutMs).catch((err) =>
      console.error(`preflight: metrics export to ${options.otlpEndpoint} failed: ${errorMessage(err)}`),
    );
  }
  return report.verdict === "pass" ? 0 : 1;
}
