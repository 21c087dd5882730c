import { HttpStatus } from '@nestjs/common';
import { DomainException } from '../common/errors.js';

export enum VenuesErrorCode {
  /** Check-in for a card with no booking today at this venue. */
  NO_BOOKING_TODAY = 'VENUE_NO_BOOKING_TODAY',
  /** The card is not kept at this venue (another venue's, or not yet received). */
  CARD_NOT_HERE = 'VENUE_CARD_NOT_HERE',
  /** The card already has a visit today (booked and checked in, or already queued). */
  ALREADY_QUEUED = 'VENUE_ALREADY_QUEUED',
  TASK_NOT_FOUND = 'TASK_NOT_FOUND',
  /** A shelf reconciliation session that is not this venue's (or does not exist). */
  RECONCILIATION_NOT_FOUND = 'RECONCILIATION_NOT_FOUND',
  /** A scan or a close on a session already closed: closed sessions are read-only. */
  RECONCILIATION_CLOSED = 'RECONCILIATION_CLOSED',
}

const STATUS: Record<VenuesErrorCode, HttpStatus> = {
  [VenuesErrorCode.NO_BOOKING_TODAY]: HttpStatus.CONFLICT,
  [VenuesErrorCode.CARD_NOT_HERE]: HttpStatus.CONFLICT,
  [VenuesErrorCode.ALREADY_QUEUED]: HttpStatus.CONFLICT,
  [VenuesErrorCode.TASK_NOT_FOUND]: HttpStatus.NOT_FOUND,
  [VenuesErrorCode.RECONCILIATION_NOT_FOUND]: HttpStatus.NOT_FOUND,
  [VenuesErrorCode.RECONCILIATION_CLOSED]: HttpStatus.CONFLICT,
};

export class VenuesException extends DomainException<VenuesErrorCode> {
  constructor(code: VenuesErrorCode, message: string, details?: unknown) {
    super(STATUS, code, message, details);
  }
}
