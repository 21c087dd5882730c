import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import type { Observable } from 'rxjs';
import { CommonException } from './errors.js';
import { findMyNumberField } from './my-number.js';

/** A page form post that held an individual number: the field that held it (the number itself is gone). */
type MarkedRequest = Request & { myNumberRefused?: string };

/** The top-level fields of a page form that hold no individual number (nor a key that is one). */
function fieldsWithoutMyNumber(body: unknown): Record<string, unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return {};
  return Object.fromEntries(Object.entries(body as Record<string, unknown>).filter(([k, v]) => !findMyNumberField({ [k]: v })));
}

/**
 * Refuses any request whose body or query holds an individual number, before anything reads it.
 * The API is answered at once. A page form post keeps only its fields without a number and is
 * marked, so that `MyNumberRefusal` refuses it after sign-in and CSRF checks, and the form is drawn
 * again with the error beside the field and the other input kept.
 */
@Injectable()
export class MyNumberMiddleware implements NestMiddleware {
  use(req: Request, _res: Response, next: NextFunction): void {
    const field = findMyNumberField(req.body, 'body') ?? findMyNumberField(req.query, 'query');
    if (field) {
      if (req.method === 'POST' && !req.path.startsWith('/api') && field.startsWith('body.') && !findMyNumberField(req.query, 'query')) {
        req.body = fieldsWithoutMyNumber(req.body);
        (req as MarkedRequest).myNumberRefused = field.replace(/^body\./, '');
        return next();
      }
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
