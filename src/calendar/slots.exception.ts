import { HttpStatus } from '@nestjs/common';
import { DomainException } from '../common/errors.js';

export enum SlotsErrorCode {
  /** No venue of the ward has that id. */
  UNKNOWN_VENUE = 'UNKNOWN_VENUE',
  /** No slot starts at that time at the venue. */
  UNKNOWN_SLOT = 'UNKNOWN_SLOT',
}

const STATUS: Record<SlotsErrorCode, HttpStatus> = {
  [SlotsErrorCode.UNKNOWN_VENUE]: HttpStatus.NOT_FOUND,
  [SlotsErrorCode.UNKNOWN_SLOT]: HttpStatus.NOT_FOUND,
};

export class SlotsException extends DomainException<SlotsErrorCode> {
  constructor(code: SlotsErrorCode, message: string, details?: unknown) {
    super(STATUS, code, message, details);
  }
}
