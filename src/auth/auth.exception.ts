import { HttpStatus } from '@nestjs/common';
import { DomainException } from '../common/errors.js';

export enum AuthErrorCode {
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  FORBIDDEN = 'FORBIDDEN',
  USER_NOT_FOUND = 'USER_NOT_FOUND',
  USER_EXISTS = 'USER_EXISTS',
  CSRF = 'CSRF',
  CROSS_SITE = 'CROSS_SITE',
  TOO_MANY_REQUESTS = 'TOO_MANY_REQUESTS',
}

const STATUS: Record<AuthErrorCode, HttpStatus> = {
  [AuthErrorCode.UNAUTHENTICATED]: HttpStatus.UNAUTHORIZED,
  [AuthErrorCode.FORBIDDEN]: HttpStatus.FORBIDDEN,
  [AuthErrorCode.USER_NOT_FOUND]: HttpStatus.NOT_FOUND,
  [AuthErrorCode.USER_EXISTS]: HttpStatus.CONFLICT,
  [AuthErrorCode.CSRF]: HttpStatus.FORBIDDEN,
  [AuthErrorCode.CROSS_SITE]: HttpStatus.FORBIDDEN,
  [AuthErrorCode.TOO_MANY_REQUESTS]: HttpStatus.TOO_MANY_REQUESTS,
};

export class AuthException extends DomainException<AuthErrorCode> {
  constructor(code: AuthErrorCode, message: string, details?: unknown) {
    super(STATUS, code, message, details);
  }
}

/** Sends a page request elsewhere (to sign in, to give the second factor). */
export class RedirectException extends Error {
  constructor(readonly location: string) {
    super(`redirect to ${location}`);
  }
}
