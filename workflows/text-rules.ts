/**
 * What a stored string or date may hold (zod). Pure, so the workflow sandbox, the API and the pages
 * share one definition: every string the system stores has a bounded length and no control
 * characters, and dates lie in ranges PostgreSQL and the ward's business both accept.
 */
import { z } from 'zod';

/** C0 and C1 controls (NUL included) and DEL. */
const CONTROL = /\p{Cc}/u;
/** C0 controls but the tab, line feed and carriage return a multi-line text may hold. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_BUT_LINES = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/u;
/**
 * Format characters (bidi overrides and isolates, zero-width spaces, soft hyphens, BOM, tags), but
 * ZWNJ and ZWJ that some scripts and emoji need; and U+FFFD, which stands for bytes already lost.
 */
const FORMAT = /(?![\u200C\u200D])[\p{Cf}\uFFFD]/u;
/** Characters that show nothing: spaces, format characters, marks alone, fillers. */
const INVISIBLE = /[\s\p{Cf}\p{Z}\p{M}\u115F\u1160\u3164\uFFA0\u2800]/gu;

export const TEXT_MESSAGES = {
  control: 'must not contain control characters',
  format: 'must not contain bidirectional, zero-width or other invisible formatting characters',
  invisible: 'must contain visible characters',
} as const;

/** The first rule `s` breaks, or undefined. */
function textProblem(s: string, control: RegExp, visible: boolean): string | undefined {
  if (control.test(s)) return TEXT_MESSAGES.control;
  if (FORMAT.test(s)) return TEXT_MESSAGES.format;
  if (visible && s.replace(INVISIBLE, '').length === 0) return TEXT_MESSAGES.invisible;
  return undefined;
}

/**
 * A stored one-line person text (name, kana, address...): trimmed, 1..max, no control or format
 * characters, not only invisible ones. One shared rule for every such field; one message per field.
 */
export const personText = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .superRefine((s, ctx) => {
      const problem = s.length === 0 || s.length > max ? undefined : textProblem(s, CONTROL, true);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });

/** A stored free text (a reason): up to max, lines allowed, no other control or format characters. */
export const freeText = (max: number) =>
  z
    .string()
    .max(max)
    .superRefine((s, ctx) => {
      const problem = s.length > max ? undefined : textProblem(s, CONTROL_BUT_LINES, false);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });

/** A venue id as the ward configuration writes them (the API also checks that it is configured). */
export const venueIdSchema = z.string().regex(/^[a-z0-9_-]{1,30}$/, 'must be a venue id (1-30 lower-case letters, digits, _ or -)');

/** An ISO date (YYYY-MM-DD) within [min, max], both ISO dates; a function gives a bound computed at parse time. */
export const isoDateBetween = (min: string | (() => string), max: string | (() => string)) =>
  z.iso.date().superRefine((s, ctx) => {
    const lo = typeof min === 'function' ? min() : min;
    const hi = typeof max === 'function' ? max() : max;
    if (s < lo || s > hi) ctx.addIssue({ code: 'custom', message: `must be between ${lo} and ${hi}` });
  });

/** Today in Asia/Tokyo as YYYY-MM-DD. Not for workflow code (it reads the clock). */
export const tokyoToday = () => new Date(Date.now() + 9 * 3_600_000).toISOString().slice(0, 10);

/** Birth dates: 1900-01-01 up to today. */
export const birthDateSchema = isoDateBetween('1900-01-01', tokyoToday);
/** Card expiry and residence period end: within the decades a card can be valid. */
export const EXPIRY_MIN = '2000-01-01';
export const EXPIRY_MAX = '2100-12-31';
export const expiryDateSchema = isoDateBetween(EXPIRY_MIN, EXPIRY_MAX);

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
const INSTANT_MIN = Date.parse('2000-01-01T00:00:00Z');
const INSTANT_MAX = Date.parse('2101-01-01T00:00:00Z');
/** An ISO date-time with an offset, in 2000..2100. */
export const instantSchema = z
  .string()
  .max(40)
  .regex(ISO_INSTANT, 'must be an ISO date-time with offset')
  .refine((s) => {
    const t = Date.parse(s);
    return t >= INSTANT_MIN && t < INSTANT_MAX;
  }, 'must be a real date-time between 2000 and 2100');
