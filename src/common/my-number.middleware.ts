import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { CommonException } from './errors.js';
import { findMyNumberField } from './my-number.js';

/** Refuses any request whose body or query holds an individual number, before anything reads it. */
@Injectable()
export class MyNumberMiddleware implements NestMiddleware {
  use(req: Request, _res: Response, next: NextFunction): void {
    const field = findMyNumberField(req.body, 'body') ?? findMyNumberField(req.query, 'query');
    if (field) {
      // Drop the body so that nothing later (logs, error reporters) can see it.
      req.body = undefined;
      return next(CommonException.myNumber(field.replace(/^(body|query)\./, '')));
    }
    next();
  }
}
