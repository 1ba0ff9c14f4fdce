// What one preflight run checks, whoever starts it: the in-cluster Job
// builds it from its environment (jobEnvSchema, set by
// infra/components/preflight.ts), `npm run preflight` from the stack's
// config and its flags (scripts/preflight.ts).
import { randomBytes } from "node:crypto";
import { z } from "zod";

export interface PreflightPlan {
  stack: string;
  /** prod: live keys and the processors' production hosts; otherwise their sandboxes. */
  live: boolean;
  runId: string;
  /** Per call to anything outside. */
  timeoutMs: number;
  publicHost: string;
  dnsServer?: string;
  tls: { port: number; address?: string; caFile?: string; skipChainCheck?: boolean; minDays: number };
  /** The app's login; absent: the database line is skipped. */
  databaseUrl?: string;
  /** Absent: the alert receivers line is skipped. */
  alertmanager?: { url: string; routes: Record<string, string[]> };
  /** processor name -> its settings: `currency` (optional) and its credentials. */
  payments: Record<string, Record<string, unknown>>;
  /** processor name -> another API base URL (tests: a local server). */
  paymentEndpoints: Record<string, string>;
  /** The collector's OTLP/HTTP base URL: where the run's metrics go (none: not exported). */
  metricsEndpoint?: string;
}

/** Sortable and unique: the start time and a few random bytes. */
export function newRunId(now = new Date()): string {
  return `${now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z")}-${randomBytes(3).toString("hex")}`;
}

const json = <T extends z.ZodType>(schema: T) =>
  z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: "custom", message: "is not JSON" });
        return z.NEVER;
      }
    })
    .pipe(schema);

const optional = z
  .string()
  .optional()
  .transform((v) => (v === "" ? undefined : v));

/** The Job's contract: every variable infra/components/preflight.ts sets. */
export const jobEnvSchema = z.object({
  PREFLIGHT_STACK: z.string().min(1),
  PREFLIGHT_LIVE: z.enum(["true", "false"]).transform((v) => v === "true"),
  PREFLIGHT_PUBLIC_HOST: z.string().min(1),
  PREFLIGHT_DNS_SERVER: optional,
  PREFLIGHT_TLS_PORT: z.coerce.number().int().min(1).max(65535).default(443),
  PREFLIGHT_TLS_ADDRESS: optional,
  PREFLIGHT_CA_FILE: optional,
  PREFLIGHT_TLS_SKIP_CHAIN_CHECK: z
    .enum(["true", "false"])
    .default("false")
    .transform((v) => v === "true"),
  PREFLIGHT_MIN_CERT_DAYS: z.coerce.number().int().min(0).default(14),
  PREFLIGHT_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  DATABASE_URL: optional,
  PREFLIGHT_ALERTMANAGER_URL: optional,
  PREFLIGHT_ALERT_ROUTES: json(z.record(z.string(), z.array(z.string()))).default({}),
  /** From a Secret: processor name -> { currency?, ...credentials }. */
  PREFLIGHT_PAYMENTS: json(z.record(z.string(), z.record(z.string(), z.unknown()))).default({}),
  PREFLIGHT_PAYMENT_ENDPOINTS: json(z.record(z.string(), z.url())).default({}),
  OTEL_EXPORTER_OTLP_ENDPOINT: optional.pipe(z.url().optional()),
});

export function planFromEnv(env: NodeJS.ProcessEnv, runId = newRunId()): PreflightPlan {
  const parsed = jobEnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new Error(`invalid preflight environment:\n${lines.join("\n")}`);
  }
  const e = parsed.data;
  return {
    stack: e.PREFLIGHT_STACK,
    live: e.PREFLIGHT_LIVE,
    runId,
    timeoutMs: e.PREFLIGHT_TIMEOUT_MS,
    publicHost: e.PREFLIGHT_PUBLIC_HOST,
    dnsServer: e.PREFLIGHT_DNS_SERVER,
    tls: {
      port: e.PREFLIGHT_TLS_PORT,
      address: e.PREFLIGHT_TLS_ADDRESS,
      caFile: e.PREFLIGHT_CA_FILE,
      skipChainCheck: e.PREFLIGHT_TLS_SKIP_CHAIN_CHECK,
      minDays: e.PREFLIGHT_MIN_CERT_DAYS,
    },
    databaseUrl: e.DATABASE_URL,
    alertmanager: e.PREFLIGHT_ALERTMANAGER_URL
      ? { url: e.PREFLIGHT_ALERTMANAGER_URL, routes: e.PREFLIGHT_ALERT_ROUTES }
      : undefined,
    payments: e.PREFLIGHT_PAYMENTS,
    paymentEndpoints: e.PREFLIGHT_PAYMENT_ENDPOINTS,
    metricsEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
  };
}
