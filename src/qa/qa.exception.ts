import { HttpStatus } from '@nestjs/common';
import { DomainException } from '../common/errors.js';

export enum QaErrorCode {
  ENTRY_NOT_FOUND = 'QA_ENTRY_NOT_FOUND',
  ILLEGAL_TRANSITION = 'QA_ILLEGAL_TRANSITION',
  STALE_VERSION = 'QA_STALE_VERSION',
}

const STATUS: Record<QaErrorCode, HttpStatus> = {
  [QaErrorCode.ENTRY_NOT_FOUND]: HttpStatus.NOT_FOUND,
  [QaErrorCode.ILLEGAL_TRANSITION]: HttpStatus.CONFLICT,
  [QaErrorCode.STALE_VERSION]: HttpStatus.CONFLICT,
};

export class QaException extends DomainException<QaErrorCode> {
  constructor(code: QaErrorCode, message: string, details?: unknown) {
    super(STATUS, code, message, details);
  }
}
