import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { CommonException } from './errors.js';
import { containsMyNumber, findField, findMyNumberField, MAX_DEPTH, TooDeepError } from './my-number.js';

/** Request headers whose values are stored or logged (Temporal update ids, the access log's address). */
const CHECKED_HEADERS = ['idempotency-key', 'x-forwarded-for'] as const;

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

/**
 * Refuses any request whose path, body, query or stored headers hold an individual number, before
 * anything reads it; refuses with 400 bodies nested deeper than MAX_DEPTH and any text
 * holding a NUL (PostgreSQL can store none, and the driver fails on it).
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
      field ??= findMyNumberField(req.body, 'body') ?? findMyNumberField(req.query, 'query');
      const nul = field ? undefined : (findField(req.body, hasNul, 'body') ?? findField(req.query, hasNul, 'query'));
      if (nul) {
        req.body = undefined;
        return next(CommonException.validation([{ field: nul.replace(/^(body|query)\./, ''), message: 'must not contain a NUL character' }]));
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
