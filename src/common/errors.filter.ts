import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { DriverException } from '@mikro-orm/core';
import type { Request, Response } from 'express';
import { RedirectException } from '../auth/auth.exception.js';
import { DomainException, type ErrorBody } from './errors.js';
import { containsMyNumber } from './my-number.js';
import { FormErrorRenderers } from '../web/form-errors.js';
import { pageErrors } from '../web/messages.js';
import { redacted } from './redact.js';
import { requestIdOf } from './request-id.js';

const ERROR_TITLES: Partial<Record<number, string>> = {
  400: '入力に誤りがあります',
  403: 'この操作は許可されていません',
  404: 'ページが見つかりません',
  409: 'この状態では操作できません',
  422: '個人番号は入力できません',
  500: 'システムエラー',
};

const HTTP_CODES: Partial<Record<number, string>> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
};

const isClientHttpError = (e: unknown): e is { status: number; type?: string } => {
  const status = (e as { status?: unknown; expose?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 400 && status < 500 && (e as { expose?: unknown }).expose === true;
};

/** Renders every error in the one shape; never echoes request bodies, which may hold personal data. */
@Catch()
export class ErrorsFilter implements ExceptionFilter {
  private readonly logger = new Logger('errors');

  constructor(private readonly forms: FormErrorRenderers) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const res = ctx.getResponse<Response>();
    const req = ctx.getRequest<Request>();
    if (exception instanceof RedirectException) {
      res.redirect(303, exception.location);
      return;
    }
    let status: number;
    let body: ErrorBody;
    if (exception instanceof DomainException) {
      status = exception.status;
      body = { error: { code: exception.code, message: exception.message, details: exception.details } };
    } else if (exception instanceof HttpException) {
      status = exception.getStatus();
      const message = status === 400 && /JSON/i.test(exception.message) ? 'the body is not valid JSON' : exception.message;
      body = { error: { code: HTTP_CODES[status] ?? `HTTP_${status}`, message } };
    } else if ((exception as { type?: string })?.type === 'entity.too.large') {
      status = HttpStatus.PAYLOAD_TOO_LARGE;
      body = { error: { code: 'PAYLOAD_TOO_LARGE', message: 'the body is too large' } };
    } else if (isClientHttpError(exception)) {
      // body-parser and other http-errors raised before Nest's handlers (bad JSON, bad charset, …).
      status = exception.status;
      body = { error: { code: HTTP_CODES[status] ?? `HTTP_${status}`, message: exception.type === 'entity.parse.failed' ? 'the body is not valid JSON' : 'the request cannot be read' } };
    } else if (exception instanceof DriverException && /^22/.test(String((exception as { code?: string }).code))) {
      // SQL state class 22 (data exception): a value the database cannot hold that no schema at the
      // edge caught (a year-0000 date, a NUL). The client's input is at fault, so 400; logged (redacted)
      // as a warning because the edge's schema should have refused it first.
      status = HttpStatus.BAD_REQUEST;
      body = { error: { code: 'VALIDATION_FAILED', message: 'a value in the request is outside what can be stored (a date out of range, a control character, …)' } };
      this.logger.warn({ err: redacted(exception), path: req.route?.path ?? 'unknown' }, 'database refused a value the edge let through');
    } else {
      status = HttpStatus.INTERNAL_SERVER_ERROR;
      body = { error: { code: 'INTERNAL_ERROR', message: 'an unexpected error occurred; it has been logged' } };
      this.logger.error({ err: redacted(exception), path: req.route?.path ?? 'unknown' }, 'unhandled error');
    }
    body.requestId = requestIdOf(req, res);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (req.path.startsWith('/api/') || req.path === '/api') {
      res.status(status).json(body);
      return;
    }
    void this.renderPage(req, res, status, body, exception);
  }

  /**
   * Pages answer in Japanese: an error on a known form draws that form again with the message
   * beside the field and the input kept; any other error is a page that says what to do and links
   * back, keeping the stable code for support staff.
   */
  private async renderPage(req: Request, res: Response, status: number, body: ErrorBody, exception: unknown): Promise<void> {
    try {
      if (await this.forms.render(req, res, status, exception)) return;
    } catch (e) {
      this.logger.error({ err: redacted(e), path: req.route?.path ?? 'unknown' }, 'form error page failed');
      if (res.headersSent) return void res.destroy();
    }
    const referer = req.get('referer');
    let back: string | undefined;
    try {
      const url = referer ? new URL(referer) : undefined;
      // Same site only, and never a link that would carry an individual number back into the page.
      if (url && url.host === req.get('host') && url.pathname !== req.path && !containsMyNumber(decodeURIComponent(url.pathname + url.search))) back = url.pathname + url.search;
    } catch {
      back = undefined;
    }
    const web = (req as { web?: unknown }).web;
    res.status(status).render('error', {
      title: ERROR_TITLES[status] ?? 'エラー',
      status,
      code: body.error.code,
      messages: pageErrors(body.error.code, body.error.message, body.error.details).map((e) => e.message),
      requestId: body.requestId,
      web,
      back,
    });
  }
}
