/**
 * Errors on a form are shown on that form. Page controllers register, for each form they handle, a
 * renderer that draws the form again with the errors beside its fields and what was typed kept;
 * the errors filter calls it for any error on that form's POST, whether the controller threw it
 * (a conflict, a blank reason) or the My Number guard refused it (which keeps only the fields
 * without a number, and refuses the post after the sign-in and CSRF checks).
 */
import { Global, Injectable, Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import type { Request, Response } from 'express';
import { MyNumberRefusal } from '../common/my-number.middleware.js';
import { exceptionErrors, type PageError } from './messages.js';

export interface FormErrorContext {
  req: Request;
  res: Response;
  /** The path's groups matched by the form's pattern. */
  params: string[];
  /** The HTTP status the error answers with. */
  status: number;
  errors: PageError[];
  /** The form's fields as posted, without any that held an individual number. */
  input: Record<string, unknown>;
}

/** Draws the form again; false if this error is better answered by the error page (a 404, a 403). */
type Renderer = (ctx: FormErrorContext) => Promise<boolean | void>;

@Injectable()
export class FormErrorRenderers {
  private readonly forms: { pattern: RegExp; render: Renderer }[] = [];

  /** `pattern` matches the path of the form's POST. */
  register(pattern: RegExp, render: Renderer): void {
    this.forms.push({ pattern, render });
  }

  /** Renders the form again with the error; false if the request is not a known form's post. */
  async render(req: Request, res: Response, status: number, exception: unknown): Promise<boolean> {
    if (req.method !== 'POST' || req.path.startsWith('/api')) return false;
    // Without a signed-in user there is no form to return to (the guard redirects to sign-in first).
    if (!(req as { web?: unknown }).web) return false;
    for (const form of this.forms) {
      const m = form.pattern.exec(req.path);
      if (!m) continue;
      const body = req.body && typeof req.body === 'object' ? (req.body as Record<string, unknown>) : {};
      const drawn = await form.render({ req, res, params: m.slice(1).map((p) => decodeURIComponent(p)), status, errors: exceptionErrors(exception), input: body });
      return drawn !== false;
    }
    return false;
  }
}

@Global()
@Module({ providers: [FormErrorRenderers, { provide: APP_INTERCEPTOR, useClass: MyNumberRefusal }], exports: [FormErrorRenderers] })
export class WebFormsModule {}

/** Errors by field for a view: `{ reason: '…' }`, and those without a field. */
export function errorsByField(errors: PageError[], known: readonly string[]): { fields: Record<string, string>; general: string[] } {
  const fields: Record<string, string> = {};
  const general: string[] = [];
  for (const e of errors) {
    if (e.field && known.includes(e.field) && !fields[e.field]) fields[e.field] = e.message;
    else general.push(e.message);
  }
  return { fields, general };
}
