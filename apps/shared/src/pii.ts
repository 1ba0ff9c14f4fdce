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

/**
 * Whether a string could hold anything maskText masks: an e-mail needs an @,
 * a phone a +, a card 13 digits. Most log strings (ids, routes, messages)
 * hold none and skip the regular expressions.
 */
function mayHoldPii(text: string): boolean {
  if (text.includes("@") || text.includes("+")) return true;
  let digits = 0;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57 && ++digits >= 13) return true;
  }
  return false;
}

/** Masks e-mails, card numbers (Luhn-valid) and international phone numbers found in free text. */
export function maskText(text: string): string {
  if (!mayHoldPii(text)) return text;
  return maskEmail(text)
    .replace(CARD, (match) => (luhnValid(digitsOf(match)) ? maskCard(match) : match))
    .replace(PHONE, maskPhone);
}
