import type { z } from 'zod';
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
