// JSON logs to stdout. Secrets and personal data are masked by key wherever
// they appear in a log object, so a careless `log.info({ req })` leaks nothing.
import pino from "pino";

export const REDACTED_KEYS = [
  "password",
  "*.password",
  "databaseUrl",
  "*.databaseUrl",
  "authorization",
  "*.authorization",
  "*.headers.authorization",
  "*.headers.cookie",
  "cookie",
  "email",
  "*.email",
  "body",
  "*.body",
  "token",
  "*.token",
];

export type Logger = pino.Logger;

export function createLogger(service: string, level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service },
      messageKey: "msg",
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACTED_KEYS, censor: "[redacted]" },
    },
    destination,
  );
}

/** Masks the credentials in a connection string for logs: postgres://user:***@host/db. */
export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "[unparseable url]";
  }
}
