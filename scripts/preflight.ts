// `npm run preflight -- --stack <name>`: the go-live preflight from a laptop
// or CI, with the stack's own config (through the Automation API, so the
// payment keys are decrypted from the stack's secrets). What lives inside
// the cluster is reached through flags (port-forwards); what is not given
// is reported skipped. docs/preflight.md has the details.
import { parseArgs } from "node:util";
import { newRunId, type PreflightPlan } from "@golive/preflight/plan";
import { publishReport } from "@golive/preflight/publish";
import { runPreflight } from "@golive/preflight/run";
import { selectStack } from "../infra/automation";
import { parseConfigMap, type StackConfig } from "../infra/config";

const USAGE = `usage: npm run preflight -- --stack <name>
  [--database-url <url>]        the app's login (kubectl port-forward to the database first)
  [--alertmanager-url <url>]    e.g. http://127.0.0.1:9093 (kubectl port-forward svc/alertmanager-operated 9093)
  [--tls-address <host>] [--tls-port <port>] [--ca-file <pem>] [--dns-server <host:port>]
  [--json <file|->] [--work-dir <dir>] [--payment-endpoint <processor>=<url>]...`;

function planFromStack(
  config: StackConfig,
  stack: string,
  flags: {
    databaseUrl?: string;
    alertmanagerUrl?: string;
    tlsAddress?: string;
    tlsPort?: number;
    caFile?: string;
    dnsServer?: string;
    paymentEndpoints?: Record<string, string>;
    metricsEndpoint?: string;
  },
): PreflightPlan {
  const { preflight } = config;
  return {
    stack,
    live: config.environment === "prod",
    runId: newRunId(),
    timeoutMs: preflight.timeoutMs,
    publicHost: config.domain,
    dnsServer: flags.dnsServer,
    tls: {
      port: flags.tlsPort ?? 443,
      address: flags.tlsAddress,
      caFile: flags.caFile,
      minDays: preflight.minCertDays,
    },
    databaseUrl: flags.databaseUrl,
    alertmanager:
      flags.alertmanagerUrl && preflight.testNotification
        ? { url: flags.alertmanagerUrl, routes: config.alerting.routes }
        : undefined,
    payments: preflight.payments as Record<string, Record<string, unknown>>,
    paymentEndpoints: flags.paymentEndpoints ?? {},
    metricsEndpoint: flags.metricsEndpoint,
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      stack: { type: "string" },
      "database-url": { type: "string" },
      "alertmanager-url": { type: "string" },
      "tls-address": { type: "string" },
      "tls-port": { type: "string" },
      "ca-file": { type: "string" },
      "dns-server": { type: "string" },
      json: { type: "string" },
      "work-dir": { type: "string" },
      "payment-endpoint": { type: "string", multiple: true },
    },
  });
  if (!values.stack) {
    console.error(USAGE);
    return 2;
  }
  const paymentEndpoints: Record<string, string> = {};
  for (const pair of values["payment-endpoint"] ?? []) {
    const [name, url] = pair.split(/=(.*)/s);
    if (!name || !url) {
      console.error(`--payment-endpoint ${pair}: expected <processor>=<url>\n${USAGE}`);
      return 2;
    }
    paymentEndpoints[name] = url;
  }
  const tlsPort = values["tls-port"] === undefined ? undefined : Number(values["tls-port"]);
  if (tlsPort !== undefined && !(Number.isInteger(tlsPort) && tlsPort >= 1 && tlsPort <= 65535)) {
    console.error(`--tls-port ${values["tls-port"]}: expected a port number (1-65535)\n${USAGE}`);
    return 2;
  }
  const stack = await selectStack({ stack: values.stack, workDir: values["work-dir"] });
  const config = parseConfigMap(await stack.getAllConfig());
  const plan = planFromStack(config, values.stack, {
    databaseUrl: values["database-url"] ?? process.env.DATABASE_URL,
    alertmanagerUrl: values["alertmanager-url"],
    tlsAddress: values["tls-address"],
    tlsPort,
    caFile: values["ca-file"],
    dnsServer: values["dns-server"],
    paymentEndpoints,
    metricsEndpoint: process.env.OTEL_EXPORTER_OTLP_ENDPOINT || undefined,
  });
  const report = await runPreflight(plan);
  return publishReport(report, {
    json: values.json,
    otlpEndpoint: plan.metricsEndpoint,
    timeoutMs: plan.timeoutMs,
  });
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      console.error(`preflight: ${(err as Error).message}`);
      process.exit(2);
    },
  );
}
