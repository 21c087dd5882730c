import { HttpStatus } from '@nestjs/common';
import { DomainException } from '../common/errors.js';

export enum AdminErrorCode {
  USER_NOT_FOUND = 'USER_NOT_FOUND',
  USERNAME_TAKEN = 'USERNAME_TAKEN',
  TOKEN_NOT_FOUND = 'TOKEN_NOT_FOUND',
  /** An administrator may not disable or demote their own account (no one would be left to undo it). */
  SELF_CHANGE_REFUSED = 'SELF_CHANGE_REFUSED',
}

const STATUS: Record<AdminErrorCode, HttpStatus> = {
  [AdminErrorCode.USER_NOT_FOUND]: HttpStatus.NOT_FOUND,
  [AdminErrorCode.USERNAME_TAKEN]: HttpStatus.CONFLICT,
  [AdminErrorCode.TOKEN_NOT_FOUND]: HttpStatus.NOT_FOUND,
  [AdminErrorCode.SELF_CHANGE_REFUSED]: HttpStatus.CONFLICT,
};

/** Errors of user administration; messages are shown on the admin pages, so they are in Japanese. */
export class AdminException extends DomainException<AdminErrorCode> {
  constructor(code: AdminErrorCode, message: string, details?: unknown) {
    super(STATUS, code, message, details);
  }
}
