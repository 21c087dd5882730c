import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import type { Observable } from 'rxjs';
import { CommonException } from './errors.js';
import { containsMyNumber, findField, findMyNumberField, MAX_DEPTH, TooDeepError } from './my-number.js';

/** Request headers whose values are stored or logged (Temporal update ids, the access log's address). */
const CHECKED_HEADERS = ['idempotency-key', 'x-forwarded-for'] as const;

/** A page form post that held an individual number: the field that held it (the number itself is gone). */
type MarkedRequest = Request & { myNumberRefused?: string };

/** The whole path as requested (a middleware's `req.path` is relative to where it is mounted). */
function decodedPath(req: Request): string {
  const path = (req.originalUrl ?? req.url).split('?')[0];
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

const hasNul = (text: string) => text.includes('\0');
/** A lone surrogate (an unpaired \uD800-\uDFFF escape in JSON): no text PostgreSQL can hold. */
const illFormed = (text: string) => !(text as unknown as { isWellFormed(): boolean }).isWellFormed();

/** The top-level fields of a page form that hold no individual number (nor a key that is one). */
function fieldsWithoutMyNumber(body: unknown): Record<string, unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return {};
  return Object.fromEntries(Object.entries(body as Record<string, unknown>).filter(([k, v]) => !findMyNumberField({ [k]: v })));
}

/**
 * Refuses any request whose path, body, query or stored headers hold an individual number, before
 * anything reads it; refuses with 400 bodies nested deeper than MAX_DEPTH and any text
 * holding a NUL or a lone surrogate (PostgreSQL can store neither, and the driver fails on them).
 * The API is answered at once. A page form post whose body alone holds the number keeps only its
 * fields without one and is marked, so that `MyNumberRefusal` refuses it after the sign-in and CSRF
 * checks, and the form is drawn again with the error beside the field and the other input kept.
 */
@Injectable()
export class MyNumberMiddleware implements NestMiddleware {
  use(req: Request, _res: Response, next: NextFunction): void {
    let field: string | undefined;
    try {
      if (containsMyNumber(decodedPath(req))) field = 'path';
      for (const name of CHECKED_HEADERS) {
        const value = req.headers[name];
        if (!field && value !== undefined && containsMyNumber(String(value))) field = `header ${name}`;
      }
      field ??= findMyNumberField(req.query, 'query') ?? findMyNumberField(req.body, 'body');
      const nul = field ? undefined : (findField(req.body, hasNul, 'body') ?? findField(req.query, hasNul, 'query'));
      if (nul) {
        req.body = undefined;
        return next(CommonException.validation([{ field: nul.replace(/^(body|query)\./, ''), message: 'must not contain a NUL character' }]));
      }
      const lone = field ? undefined : (findField(req.body, illFormed, 'body') ?? findField(req.query, illFormed, 'query'));
      if (lone) {
        req.body = undefined;
        return next(CommonException.validation([{ field: lone.replace(/^(body|query)\./, ''), message: 'must not contain a lone surrogate (an unpaired \\uD800-\\uDFFF escape)' }]));
      }
      if (field?.startsWith('body.') && req.method === 'POST' && !decodedPath(req).startsWith('/api')) {
        req.body = fieldsWithoutMyNumber(req.body);
        (req as MarkedRequest).myNumberRefused = field.replace(/^body\./, '');
        return next();
      }
    } catch (e) {
      if (!(e instanceof TooDeepError)) throw e;
      req.body = undefined;
      return next(CommonException.validation([{ field: '(body)', message: `nested deeper than ${MAX_DEPTH} levels` }]));
    }
    if (field) {
      // Drop the body so that nothing later (logs, error reporters) can see it.
      req.body = undefined;
      return next(CommonException.myNumber(field.replace(/^(body|query)\./, '')));
    }
    next();
  }
}

/** Refuses a page form post the middleware marked, before any controller reads it. */
@Injectable()
export class MyNumberRefusal implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const field = context.switchToHttp().getRequest<MarkedRequest>().myNumberRefused;
    if (field) throw CommonException.myNumber(field);
    return next.handle();
  }
}
