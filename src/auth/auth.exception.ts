import { HttpStatus } from '@nestjs/common';
import { DomainException } from '../common/errors.js';

export enum AuthErrorCode {
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  FORBIDDEN = 'FORBIDDEN',
  USER_NOT_FOUND = 'USER_NOT_FOUND',
  USER_EXISTS = 'USER_EXISTS',
}

const STATUS: Record<AuthErrorCode, HttpStatus> = {
  [AuthErrorCode.UNAUTHENTICATED]: HttpStatus.UNAUTHORIZED,
  [AuthErrorCode.FORBIDDEN]: HttpStatus.FORBIDDEN,
  [AuthErrorCode.USER_NOT_FOUND]: HttpStatus.NOT_FOUND,
  [AuthErrorCode.USER_EXISTS]: HttpStatus.CONFLICT,
};

export class AuthException extends DomainException {
  readonly status: HttpStatus;
  constructor(code: AuthErrorCode, message: string, details?: unknown) {
    super(code, message, details);
    this.status = STATUS[code];
  }
}
