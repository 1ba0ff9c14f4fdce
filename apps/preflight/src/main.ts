// The in-cluster preflight Job (infra/components/preflight.ts): the plan
// from its environment, the report in its log, the metrics to the
// collector, the verdict as exit code (0 pass, 1 fail, 2 bad environment).
import { planFromEnv } from "./plan";
import { publishReport } from "./publish";
import { errorMessage } from "./result";
import { runPreflight } from "./run";

async function main(): Promise<number> {
  let plan: ReturnType<typeof planFromEnv>;
  try {
    plan = planFromEnv(process.env);
  } catch (err) {
    console.error(errorMessage(err));
    return 2;
  }
  const report = await runPreflight(plan);
  return publishReport(report, {
    json: "-",
    otlpEndpoint: plan.metricsEndpoint,
    timeoutMs: plan.timeoutMs,
  });
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`preflight: ${errorMessage(err)}`);
    process.exit(1);
  },
);
