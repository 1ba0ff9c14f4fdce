// Masking for logs, per the table in masking-table.ts: enough left to tell
// two values apart when debugging (first letter and domain of an e-mail,
// last four digits of a phone or card number, last four characters of a
// token), never enough to contact, charge or log in.
import { KEY_PATTERN, type Mask, maskFor } from "./masking-table";

const EMAIL = /([A-Za-z0-9])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})/g;
/**
 * 13-19 digits, single spaces or dashes between groups: a card number
 * candidate. Not next to a letter, digit or dash, so a UUID's digit groups
 * never match.
 */
const CARD = /(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])/g;
/** International format only (+ then 8-15 digits): bare digit runs are ids and times too often. */
const PHONE = /\+\d(?:[ ().-]{0,2}\d){7,14}\b/g;

/** 123-45-6789: a US social security number, in free text. */
const SSN = /(?<![\w-])\d{3}-\d{2}-\d{4}(?![\w-])/g;
/** `name=value`, `name: value` and `"name":"value"` for a name in the table. */
const KEYED = new RegExp(
  `\\b(${KEY_PATTERN})\\b(["']?\\s*[=:]\\s*["']?)((?:(?:Bearer|Basic|Digest)\\s+)?[^\\s"'&,;]+)`,
  "gi",
);
/** An HTTP bearer credential written out: `Bearer <token>`. */
const BEARER = /\b(Bearer\s+)([A-Za-z0-9._~+/=-]+)/gi;

const digitsOf = (s: string) => s.replace(/\D/g, "");

export const REDACTED = "[redacted]";

/**
 * A token or key -> ****f00d (its last four characters). Shorter than 12,
 * four characters would be a third of it: redacted whole.
 */
export function maskLast4(value: string): string {
  return value.length >= 12 ? `****${value.slice(-4)}` : REDACTED;
}

/** A value under a masked name, by its table row. */
export function applyMask(mask: Mask, value: unknown): unknown {
  if (mask === "redact") return REDACTED;
  const text = typeof value === "string" ? value : typeof value === "number" ? String(value) : undefined;
  if (text === undefined) return REDACTED;
  switch (mask) {
    case "last4":
      return maskLast4(text);
    case "email":
      // Not shaped like an e-mail: nothing to keep a hint of.
      return /@[^@\s]+\.[A-Za-z]{2,}$/.test(text) ? maskEmail(text) : REDACTED;
    case "phone":
      return maskPhone(text);
    case "card":
      return maskCard(text);
  }
}

/** jane.doe@example.com -> j***@example.com */
export function maskEmail(value: string): string {
  return value.replace(EMAIL, "$1***@$2");
}

/** Any phone number -> ***1234 (its last four digits). */
export function maskPhone(value: string): string {
  const digits = digitsOf(value);
  return digits.length >= 4 ? `***${digits.slice(-4)}` : "***";
}

/** A card number -> ****1234 (its last four digits). */
export function maskCard(value: string): string {
  const digits = digitsOf(value);
  return digits.length >= 4 ? `****${digits.slice(-4)}` : "****";
}

/** The Luhn check every payment card number passes (and most digit runs do not). */
function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** Masks, in free text, table names with a value, bearer tokens, e-mails, SSNs, card numbers (Luhn-valid) and international phone numbers. */
export function maskText(text: string): string {
  // Cheap looks first: most log strings (ids, routes, messages) hold none of
  // what a pattern needs and skip the regular expressions.
  let digits = 0;
  for (let i = 0; i < text.length && digits < 13; i += 1) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) digits += 1;
  }
  let out = text;
  if (text.includes("=") || text.includes(":")) {
    out = out.replace(KEYED, (_m, name: string, sep: string, value: string) => {
      const mask = maskFor(name) ?? "redact";
      return `${name}${sep}${applyMask(mask, value)}`;
    });
  }
  if (text.includes("earer"))
    out = out.replace(BEARER, (_m, head: string, token: string) => head + maskLast4(token));
  if (text.includes("@")) out = maskEmail(out);
  if (digits >= 9) out = out.replace(SSN, REDACTED);
  if (digits >= 13)
    out = out.replace(CARD, (match) => (luhnValid(digitsOf(match)) ? maskCard(match) : match));
  if (text.includes("+")) out = out.replace(PHONE, maskPhone);
  return out;
}
