// Partial masking of personal data for logs: enough left to tell two values
// apart when debugging (first letter and domain of an e-mail, last four
// digits of a phone or card number), never enough to contact or charge.

const EMAIL = /([A-Za-z0-9])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})/g;
/**
 * 13-19 digits, single spaces or dashes between groups: a card number
 * candidate. Not next to a letter, digit or dash, so a UUID's digit groups
 * never match.
 */
const CARD = /(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])/g;
/** International format only (+ then 8-15 digits): bare digit runs are ids and times too often. */
const PHONE = /\+\d(?:[ ().-]{0,2}\d){7,14}\b/g;

const digitsOf = (s: string) => s.replace(/\D/g, "");

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

/** Masks e-mails, card numbers (Luhn-valid) and international phone numbers found in free text. */
export function maskText(text: string): string {
  return maskEmail(text)
    .replace(CARD, (match) => (luhnValid(digitsOf(match)) ? maskCard(match) : match))
    .replace(PHONE, maskPhone);
}

/** maskText applied to every string in a value (objects and arrays walked, depth-bounded). */
export function maskDeep(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return maskText(value);
  if (depth > 6 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => maskDeep(v, depth + 1));
  if (value instanceof Error) {
    // Still an instance of its class (pino's err serializer names the type
    // after it), with its message, stack and own fields masked.
    const masked = Object.create(Object.getPrototypeOf(value)) as Error;
    Object.assign(masked, maskDeep({ ...value }, depth + 1));
    masked.message = maskText(value.message);
    masked.stack = maskText(value.stack ?? "");
    return masked;
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskDeep(v, depth + 1)]));
}
