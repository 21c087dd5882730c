import { HttpStatus } from '@nestjs/common';
import { DomainException } from '../common/errors.js';

export enum MailingErrorCode {
  BATCH_NOT_FOUND = 'BATCH_NOT_FOUND',
  NOTHING_DUE = 'BATCH_NOTHING_DUE',
  STEP_REFUSED = 'BATCH_STEP_REFUSED',
  NOT_IN_BATCH = 'BATCH_CARD_NOT_WAITING',
  DOCUMENT_NOT_FOUND = 'BATCH_DOCUMENT_NOT_FOUND',
}

const STATUS: Record<MailingErrorCode, HttpStatus> = {
  [MailingErrorCode.BATCH_NOT_FOUND]: HttpStatus.NOT_FOUND,
  [MailingErrorCode.NOTHING_DUE]: HttpStatus.CONFLICT,
  [MailingErrorCode.STEP_REFUSED]: HttpStatus.CONFLICT,
  [MailingErrorCode.NOT_IN_BATCH]: HttpStatus.CONFLICT,
  [MailingErrorCode.DOCUMENT_NOT_FOUND]: HttpStatus.NOT_FOUND,
};

export class MailingException extends DomainException<MailingErrorCode> {
  constructor(code: MailingErrorCode, message: string, details?: unknown) {
    super(STATUS, code, message, details);
  }
}
