/**
 * Errors on the residents' pages are answered in the resident's language, in the residents' layout:
 * a session that timed out goes back to sign-in with a message, bad input and expired forms say so,
 * anything else is a short apology with the request id. The staff error page is never shown here.
 */
import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { ZodError } from 'zod';
import { AuthErrorCode, AuthException } from '../auth/auth.exception.js';
import { CommonErrorCode, CommonException } from '../common/errors.js';
import { redacted } from '../common/redact.js';
import { requestIdOf } from '../common/request-id.js';
import { HTML_LANG, chooseLanguage, translator } from './resident-i18n.js';
import { RESIDENT_PREFIX } from './resident-config.js';
import type { ResidentRequest } from './resident-pages.controller.js';

/** Why a residents' page refuses: back to sign-in (`signIn`, `expired`) or a message (`badInput`). */
export class ResidentRefusal extends Error {
  constructor(readonly kind: 'signIn' | 'expired' | 'badInput' | 'notFound') {
    super(`resident page refused: ${kind}`);
  }
}
export const residentRefusal = (kind: ResidentRefusal['kind']) => new ResidentRefusal(kind);

@Catch()
export class ResidentErrorsFilter implements ExceptionFilter {
  private readonly logger = new Logger('resident');

  catch(exception: unknown, host: ArgumentsHost): void {
    const req = host.switchToHttp().getRequest<ResidentRequest>();
    const res = host.switchToHttp().getResponse<Response>();
    if (res.headersSent) return void res.destroy();
    if (exception instanceof ResidentRefusal && (exception.kind === 'signIn' || exception.kind === 'expired')) {
      return res.redirect(303, exception.kind === 'expired' ? `${RESIDENT_PREFIX}?expired=1` : RESIDENT_PREFIX);
    }
    const lang = req.resident?.lang ?? chooseLanguage(req).lang;
    const t = translator(lang);
    let status = 500;
    let key = 'error.generic';
    if (exception instanceof ResidentRefusal) [status, key] = exception.kind === 'notFound' ? [404, 'error.notFound'] : [400, 'error.badInput'];
    else if (exception instanceof ZodError) [status, key] = [400, 'error.badInput'];
    else if (exception instanceof AuthException && [AuthErrorCode.CSRF, AuthErrorCode.CROSS_SITE].includes(exception.code)) [status, key] = [403, 'signIn.formExpired'];
    else if (exception instanceof CommonException) [status, key] = [exception.code === CommonErrorCode.MY_NUMBER_REFUSED ? 422 : 400, 'error.badInput'];
    else if (exception instanceof HttpException && exception.getStatus() < 500) [status, key] = [exception.getStatus(), exception.getStatus() === 404 ? 'error.notFound' : 'error.badInput'];
    else if ((exception as { code?: unknown })?.code === 'WORKFLOW_UNAVAILABLE') [status, key] = [503, 'error.busy'];
    else this.logger.error({ err: redacted(exception), path: req.route?.path ?? 'unknown' }, 'resident page failed');
    res.status(status).render('resident/error', {
      layout: 'resident/layout',
      lang,
      htmlLang: HTML_LANG[lang],
      title: t('error.title'),
      message: t(key),
      requestId: requestIdOf(req, res),
      signedIn: Boolean(req.resident?.session),
      csrf: req.resident?.session?.csrfToken,
      languages: [],
    });
  }
}
