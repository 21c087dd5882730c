import { z } from 'zod';
import { isoDateBetween } from '../../workflows/text-rules.js';
import { CommonException, type FieldError } from './errors.js';

/** Parses `input` with `schema`, or throws a 400 that names every bad field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, prefix = ''): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw CommonException.validation(zodFieldErrors(result.error, prefix));
}

export function zodFieldErrors(error: z.ZodError, prefix = ''): FieldError[] {
  return error.issues.map((issue) => {
    const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
    const field = `${prefix}${path}`.replace(/^\./, '') || '(body)';
    return { field, message: issue.message };
  });
}

/**
 * An ISO date that PostgreSQL can store and compare: `z.iso.date()` alone lets through year 0000,
 * which PostgreSQL refuses (there is no year 0), so every date at the edge is bounded.
 */
export const boundedIsoDate = (min = '1900-01-01', max = '2199-12-31') => isoDateBetween(min, max);

const BIGINT_MAX = 9223372036854775807n;
/** A positive id of a PostgreSQL bigint column, as text (a `before=` page link). */
export const bigintIdSchema = z
  .string()
  .regex(/^[1-9][0-9]{0,18}$/, 'must be a positive whole number')
  // zod runs refinements after a failed regex too: BigInt('1e3') would throw.
  .refine((s) => !/^[0-9]+$/.test(s) || BigInt(s) <= BIGINT_MAX, 'must be at most 9223372036854775807');
