/**
 * Detection of individual numbers (個人番号, "My Number") so that the system can refuse them
 * a 12-digit number whose last digit is the check digit defined by the ministerial
 * ordinance (行政手続における特定の個人を識別するための番号の利用等に関する法律施行令 第8条).
 */
import { randomUUID } from 'node:crypto';

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

/**
 * Digit runs, allowing any short separator people (or an attacker) put inside a number: spaces,
 * hyphens, dashes, dots, slashes, two spaces… anything that is neither a letter nor a digit, up to
 * four characters. Format characters (zero-width space, soft hyphen, …) are removed before.
 */
const DIGIT_RUN = /\d(?:[^\p{L}\p{N}]{0,4}\d)*/gu;
const SEPARATOR = /[^\p{L}\p{N}]+/u;
const FORMAT = /\p{Cf}/gu;

/** The text as the check reads it: NFKC (full-width digits become ASCII), without format characters. */
export function normaliseForCheck(text: string): string {
  return text.normalize('NFKC').replace(FORMAT, '');
}

/**
 * Whether a string holds a valid individual number anywhere, in ASCII or full-width digits: twelve
 * digits in a row, or written in three groups of four with any separator ("1234 5678 9018",
 * "1234.5678.9018", "1234  5678-9018"). Identifiers are not exempt: a UUID whose last group is a
 * valid number holds one (the server's own ids never do: see safeRandomUUID).
 */
export function containsMyNumber(text: string): boolean {
  const normalized = normaliseForCheck(text);
  for (const match of normalized.matchAll(DIGIT_RUN)) {
    if (match[0].length < 12) continue;
    const groups = match[0].split(SEPARATOR);
    for (let i = 0; i < groups.length; i++) {
      if (groups[i].length === 12 && isValidMyNumber(groups[i])) return true;
      if (i + 2 < groups.length && groups[i].length === 4 && groups[i + 1].length === 4 && groups[i + 2].length === 4 && isValidMyNumber(groups[i] + groups[i + 1] + groups[i + 2])) return true;
    }
  }
  return false;
}

/** A random UUID that never holds an individual number (about one in a few thousand would), for every id the server makes. */
export function safeRandomUUID(): string {
  for (;;) {
    const id = randomUUID();
    if (!containsMyNumber(id)) return id;
  }
}

/** Bodies nested deeper than this are refused (no form or API body comes near it). */
export const MAX_DEPTH = 32;

export class TooDeepError extends Error {
  constructor() {
    super(`nested deeper than ${MAX_DEPTH} levels`);
  }
}

/**
 * The path of the first string (value or key, at any depth) that `test` holds true for, or
 * undefined; integers are tested as their digits. Iterative, so that no body can overflow the
 * stack; a value nested deeper than MAX_DEPTH throws TooDeepError.
 */
export function findField(value: unknown, test: (text: string) => boolean, path = ''): string | undefined {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value, path, depth: 0 }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    const v = item.value;
    if (typeof v === 'string') {
      if (test(v)) return item.path || '(value)';
    } else if (typeof v === 'number') {
      if (Number.isInteger(v) && test(String(v))) return item.path || '(value)';
    } else if (v && typeof v === 'object') {
      if (item.depth >= MAX_DEPTH) throw new TooDeepError();
      const children: { value: unknown; path: string; depth: number }[] = [];
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) children.push({ value: v[i], path: `${item.path}[${i}]`, depth: item.depth + 1 });
      } else {
        for (const [k, child] of Object.entries(v)) {
          if (test(k)) return item.path ? `${item.path}.(key)` : '(key)';
          children.push({ value: child, path: item.path ? `${item.path}.${k}` : k, depth: item.depth + 1 });
        }
      }
      // Pushed in reverse so that fields are visited in order and the first hit is the one named.
      for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]);
    }
  }
  return undefined;
}

/** The path of the first string field (at any depth) that holds an individual number, or undefined. */
export function findMyNumberField(value: unknown, path = ''): string | undefined {
  return findField(value, containsMyNumber, path);
}
