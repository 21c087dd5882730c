/**
 * A page form with files, parsed before the guard runs, so that the guard finds the form's CSRF
 * token in req.body as for any other form (guards run before interceptors, so FileInterceptor would
 * be too late). The global My Number middleware ran before this body existed: its text fields are
 * checked here (the files' contents are checked by whoever reads them).
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import multer from 'multer';
import { cookieNames } from '../auth/web-cookies.js';
import { CommonException } from '../common/errors.js';
import { findMyNumberField } from '../common/my-number.js';
import type { AppConfig } from '../config/app-config.js';

/** Why an upload was not read: too large, or a form that is not the page's. The page explains it. */
export type UploadRequest = Request & { uploadError?: 'too_large' | 'bad_form' };

/** The middleware body around a multer handler (memory storage, with its limits). */
export function formUpload(config: AppConfig, upload: RequestHandler) {
  return (req: UploadRequest, res: Response, next: NextFunction): void => {
    // Without a session the guard sends the browser to sign in: the upload is not worth reading.
    if (!req.cookies?.[cookieNames(config).session]) return next();
    upload(req, res, (err: unknown) => {
      if (err instanceof multer.MulterError) {
        // Fields before the file (the CSRF token) are kept: the guard still decides, and the page explains.
        req.uploadError = err.code === 'LIMIT_FILE_SIZE' ? 'too_large' : 'bad_form';
        return next();
      }
      if (err) return next(err);
      const field = findMyNumberField(req.body, 'body');
      if (field) {
        req.body = undefined;
        return next(CommonException.myNumber(field.replace(/^body\./, '')));
      }
      next();
    });
  };
}
