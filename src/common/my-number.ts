/**
 * Detection of individual numbers (個人番号, "My Number") so that the system can refuse them
 * a 12-digit number whose last digit is the check digit defined by the ministerial
 * ordinance (行政手続における特定の個人を識別するための番号の利用等に関する法律施行令 第8条).
 */

/** Whether 12 ASCII digits form a valid individual number. */
export function isValidMyNumber(digits: string): boolean {
  if (!/^\d{12}$/.test(digits)) return false;
  let sum = 0;
  for (let n = 1; n <= 11; n++) {
    const p = digits.charCodeAt(11 - n) - 48;
    const q = n <= 6 ? n + 1 : n - 5;
    sum += p * q;
  }
  const r = sum % 11;
  const check = r <= 1 ? 0 : 11 - r;
  return check === digits.charCodeAt(11) - 48;
}

// Digit runs, allowing the separators people type inside a number (spaces, hyphens, dashes).
const DIGIT_RUN = /\d(?:[\s\-‐‑–—−ー]?\d)*/g;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Whether a string holds a valid individual number anywhere, in ASCII or full-width digits: twelve
 * digits in a row, or written in the usual three groups of four ("1234 5678 9018", "1234-5678-9018").
 * A UUID (the forms' idempotency keys) is an identifier, never a number someone typed.
 */
export function containsMyNumber(text: string): boolean {
  const normalized = text.normalize('NFKC');
  if (UUID.test(normalized.trim())) return false;
  for (const match of normalized.matchAll(DIGIT_RUN)) {
    const groups = match[0].split(/\D/);
    for (let i = 0; i < groups.length; i++) {
      if (groups[i].length === 12 && isValidMyNumber(groups[i])) return true;
      const three = groups.slice(i, i + 3);
      if (three.length === 3 && three.every((g) => g.length === 4) && isValidMyNumber(three.join(''))) return true;
    }
  }
  return false;
}

/** The path of the first string field (at any depth) that holds an individual number, or undefined. */
export function findMyNumberField(value: unknown, path = ''): string | undefined {
  if (typeof value === 'string') return containsMyNumber(value) ? path || '(value)' : undefined;
  if (typeof value === 'number') return Number.isInteger(value) && containsMyNumber(String(value)) ? path || '(value)' : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const hit = findMyNumberField(value[i], `${path}[${i}]`);
      if (hit) return hit;
    }
    return undefined;
  }
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (containsMyNumber(k)) return path ? `${path}.(key)` : '(key)';
      const hit = findMyNumberField(v, path ? `${path}.${k}` : k);
      if (hit) return hit;
    }
  }
  return undefined;
}
