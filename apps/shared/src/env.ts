// Parses process environment with a zod schema once, at start-up. On failure
// it throws ConfigError whose message is one line naming each bad variable,
// so the process can print it and exit without a stack trace.
import { z } from "zod";

export class ConfigError extends Error {
  override name = "ConfigError";
}

export function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const variable = issue.path.join(".") || "(environment)";
    return `${variable}: ${issue.message}`;
  });
  throw new ConfigError(`invalid configuration: ${problems.join("; ")}`);
}

/** Environment values are strings: these read them into typed values. */
export const envInt = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
export const envBool = z
  .enum(["true", "false", "1", "0"])
  .transform((value) => value === "true" || value === "1");
/** pino's levels: one schema for LOG_LEVEL and the stack's golive:logLevel. */
export const logLevelName = z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"], {
  error: "must be one of fatal, error, warn, info, debug, trace, silent",
});
export const logLevel = logLevelName.default("info");
