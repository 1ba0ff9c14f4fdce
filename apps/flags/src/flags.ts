// The kit's feature flags as data: their keys, types, defaults and bounds
// (one place); the flagd flag file infra renders from golive:flags; and the
// check a service runs on that file before it uses it. A file that fails the
// check is refused whole: the service keeps the last good flags.
// docs/operations.md ("Feature flags") is the operator's side of this.
import { z } from "zod";

/** Flag file keys, as flagd and the file name them. */
export const FLAG_KEYS = [
  "likes-writes",
  "messages",
  "getfeed-added-latency-ms",
  "getfeed-error-share",
] as const;
export type FlagKey = (typeof FLAG_KEYS)[number];

interface BooleanFlag {
  readonly type: "boolean";
  readonly default: boolean;
  readonly about: string;
}
interface NumberFlag {
  readonly type: "number";
  readonly default: number;
  readonly min: number;
  readonly max: number;
  /** A failure-injection flag: anything but its default is refused where injection is not allowed. */
  readonly fault: true;
  readonly about: string;
}
export type FlagDefinition = BooleanFlag | NumberFlag;

export const FLAGS = {
  "likes-writes": {
    type: "boolean",
    default: true,
    about: "Kill switch: off, the gateway answers POST /v1/videos/{id}/likes with 503 FEATURE_DISABLED.",
  },
  messages: {
    type: "boolean",
    default: true,
    about: "Kill switch: off, the gateway refuses /v1/messages upgrades and sends with 503 FEATURE_DISABLED.",
  },
  "getfeed-added-latency-ms": {
    type: "number",
    default: 0,
    min: 0,
    max: 10_000,
    fault: true,
    about: "Drill fault: the feed waits this long before answering GetFeed (within the call's deadline).",
  },
  "getfeed-error-share": {
    type: "number",
    default: 0,
    min: 0,
    max: 1,
    fault: true,
    about: "Drill fault: this share of GetFeed calls fails with UNAVAILABLE.",
  },
} as const satisfies { readonly [K in FlagKey]: FlagDefinition };

/** The flags' values, as the services read them. */
export type FlagValues = {
  readonly [K in FlagKey]: (typeof FLAGS)[K]["type"] extends "boolean" ? boolean : number;
};

export const DEFAULT_FLAGS: FlagValues = Object.fromEntries(
  FLAG_KEYS.map((k) => [k, FLAGS[k].default]),
) as unknown as FlagValues;

/** Whether failure-injection flags may leave their defaults (the deployer's FAULT_INJECTION). */
export type FaultInjection = "allowed" | "refused";

export const isFault = (key: FlagKey) => "fault" in FLAGS[key];

/** A flag file that cannot be used; the message names the flag and the reason. */
export class FlagFileError extends Error {
  override name = "FlagFileError";
}

const FLAGD_SCHEMA = "https://flagd.dev/schema/v0/flags.json";

/** The flagd flag file for these values: booleans as on/off variants, numbers as one variant, "value". */
export function renderFlagFile(values: FlagValues): string {
  const flags = Object.fromEntries(
    FLAG_KEYS.map((key) => {
      const value = values[key];
      const flag =
        typeof value === "boolean"
          ? { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: value ? "on" : "off" }
          : { state: "ENABLED", variants: { value }, defaultVariant: "value" };
      return [key, flag];
    }),
  );
  return `${JSON.stringify({ $schema: FLAGD_SCHEMA, flags }, null, 2)}\n`;
}

// One flag of the file, in the part of flagd's schema this kit uses. Targeting
// is refused: the services evaluate flags once per change, with no request context.
const flagSchema = z
  .object({
    state: z.enum(["ENABLED", "DISABLED"]),
    variants: z.record(z.string().min(1), z.unknown()),
    defaultVariant: z.string(),
    metadata: z.record(z.string(), z.unknown()).optional(),
    targeting: z.unknown().optional(),
  })
  .strict();

const fileSchema = z
  .object({
    $schema: z.string().optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
    flags: z.record(z.string(), z.unknown()),
  })
  .strict();

/**
 * Checks a flag file's text and returns the values it sets. Refuses, naming
 * the flag: text that is not JSON, a flag missing (it would fall back to its
 * default without a word) or unknown (a typo), a default variant that is not
 * a variant or has the wrong type or range, targeting, and a fault flag off
 * its default where fault injection is refused.
 */
export function parseFlagFile(text: string, faultInjection: FaultInjection): FlagValues {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new FlagFileError(`not JSON: ${(err as Error).message}`);
  }
  const file = fileSchema.safeParse(json);
  if (!file.success) throw new FlagFileError(describe(file.error, ""));
  const found = Object.keys(file.data.flags);
  const unknown = found.filter((k) => !(FLAG_KEYS as readonly string[]).includes(k));
  if (unknown.length > 0) {
    throw new FlagFileError(`flags.${unknown[0]}: not a flag of this kit (known: ${FLAG_KEYS.join(", ")})`);
  }
  const values: Record<string, boolean | number> = {};
  for (const key of FLAG_KEYS) {
    const raw = file.data.flags[key];
    if (raw === undefined) throw new FlagFileError(`flags.${key}: missing (every flag must be in the file)`);
    values[key] = flagValue(key, raw);
  }
  const parsed = values as unknown as FlagValues;
  if (faultInjection === "refused") {
    const fault = FLAG_KEYS.find((k) => isFault(k) && parsed[k] !== FLAGS[k].default);
    if (fault) {
      throw new FlagFileError(
        `flags.${fault}: failure injection is refused here (FAULT_INJECTION=refused: the prod stack allows it only with golive:allowFaultInjection)`,
      );
    }
  }
  return parsed;
}

function flagValue(key: FlagKey, raw: unknown): boolean | number {
  const flag = flagSchema.safeParse(raw);
  if (!flag.success) throw new FlagFileError(describe(flag.error, `flags.${key}`));
  const { state, variants, defaultVariant, targeting } = flag.data;
  const def = FLAGS[key];
  if (targeting !== undefined) {
    throw new FlagFileError(
      `flags.${key}.targeting: not supported (flags are read once per change, per process)`,
    );
  }
  if (state === "DISABLED") return def.default;
  if (!(defaultVariant in variants)) {
    throw new FlagFileError(
      `flags.${key}.defaultVariant: "${defaultVariant}" is not one of its variants (${Object.keys(variants).join(", ")})`,
    );
  }
  for (const [name, value] of Object.entries(variants)) {
    const where = `flags.${key}.variants.${name}`;
    if (typeof value !== def.type)
      throw new FlagFileError(`${where}: must be a ${def.type}, got ${JSON.stringify(value)}`);
    if (def.type === "number" && !((value as number) >= def.min && (value as number) <= def.max)) {
      throw new FlagFileError(`${where}: must be between ${def.min} and ${def.max}, got ${value}`);
    }
  }
  return variants[defaultVariant] as boolean | number;
}

function describe(error: z.ZodError, prefix: string): string {
  const issue = error.issues[0] as z.core.$ZodIssue;
  const path = [prefix, ...issue.path.map(String)].filter(Boolean).join(".");
  return `${path || "file"}: ${issue.message}`;
}
