// What a log line keeps of each sensitive field: the one table. The logger
// (logger.ts) applies it to every log object at any depth and, for the same
// names written as `name=value` or `"name": "value"`, inside strings;
// docs/operations.md shows it (a test holds the two together), and
// apps/shared/test/masking-table.test.ts proves each row through the real
// logger.

/** How a value is masked. */
export type Mask = "redact" | "last4" | "email" | "phone" | "card";

export interface MaskingRow {
  /**
   * Field names. Matched with case, `_` and `-` ignored, so `apiKey`,
   * `api_key` and `X-API-Key` are one name.
   */
  readonly keys: readonly string[];
  readonly mask: Mask;
  /** What the row covers, as the docs show it. */
  readonly covers: string;
  /** Also as `name=value` inside strings (default true; not for words common in prose). */
  readonly inText?: boolean;
}

export const MASKING_TABLE: readonly MaskingRow[] = [
  {
    keys: ["password", "passwd", "secret", "clientSecret", "privateKey"],
    mask: "redact",
    covers: "passwords and secrets",
  },
  {
    keys: ["authorization", "cookie", "setCookie", "databaseUrl", "connectionString"],
    mask: "redact",
    covers: "credentials in headers and connection strings",
  },
  {
    keys: ["token", "accessToken", "refreshToken", "idToken", "apiKey", "xApiKey"],
    mask: "last4",
    covers: "tokens and API keys: the last 4 characters, enough to tell two apart",
  },
  { keys: ["email"], mask: "email", covers: "e-mail addresses: the first letter and the domain" },
  { keys: ["phone", "phoneNumber"], mask: "phone", covers: "phone numbers: the last 4 digits" },
  { keys: ["cardNumber", "pan"], mask: "card", covers: "payment card numbers: the last 4 digits" },
  {
    keys: ["ssn", "nationalId", "socialSecurityNumber"],
    mask: "redact",
    covers: "national identity numbers",
  },
  {
    keys: ["body"],
    mask: "redact",
    covers: "message bodies (what users write to each other); by field name only",
    inText: false,
  },
];

/** A key as the table matches it: `X-API-Key` and `api_key` are both `xapikey`/`apikey`. */
export const normalizeKey = (key: string): string => key.toLowerCase().replace(/[-_]/g, "");

const BY_KEY = new Map<string, Mask>(
  MASKING_TABLE.flatMap((row) => row.keys.map((k) => [normalizeKey(k), row.mask] as const)),
);

/** Keys seen before and their rule (or none): log objects repeat the same few keys. */
const seen = new Map<string, Mask | null>();
const SEEN_MAX = 2048;

/** The mask for a field name, or undefined when the field is not in the table. */
export function maskFor(key: string): Mask | undefined {
  let mask = seen.get(key);
  if (mask === undefined) {
    mask = BY_KEY.get(normalizeKey(key)) ?? null;
    // Bounded: keys can come from a client's JSON.
    if (seen.size < SEEN_MAX) seen.set(key, mask);
  }
  return mask ?? undefined;
}

/**
 * Every table name as a pattern for free text, words separated by an
 * optional `_` or `-` (`api[-_]?key`), longest first so `accessToken` is not
 * read as `token`.
 */
export const KEY_PATTERN: string = MASKING_TABLE.filter((row) => row.inText !== false)
  .flatMap((row) => row.keys)
  .map((k) =>
    k
      .replace(/([a-z])([A-Z])/g, "$1 $2")
      .toLowerCase()
      .split(" ")
      .join("[-_]?"),
  )
  .sort((a, b) => b.length - a.length)
  .join("|");

/** The table as the Markdown rows docs/operations.md shows. */
export function maskingTableMarkdown(): string {
  const example: Record<Mask, string> = {
    redact: "`[redacted]`",
    last4: "`****f00d`",
    email: "`j***@example.com`",
    phone: "`***4567`",
    card: "`****1111`",
  };
  return [
    "| fields (any depth; case, `_` and `-` ignored) | covers | logged as |",
    "|---|---|---|",
    ...MASKING_TABLE.map(
      (row) => `| ${row.keys.map((k) => `\`${k}\``).join(", ")} | ${row.covers} | ${example[row.mask]} |`,
    ),
  ].join("\n");
}
