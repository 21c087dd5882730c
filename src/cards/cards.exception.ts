import { HttpStatus } from '@nestjs/common';
import { DomainException } from '../common/errors.js';

export enum CardsErrorCode {
  CARD_NOT_FOUND = 'CARD_NOT_FOUND',
  UNKNOWN_ACTION = 'UNKNOWN_ACTION',
  ILLEGAL_TRANSITION = 'ILLEGAL_TRANSITION',
  ROLE_NOT_ALLOWED = 'ROLE_NOT_ALLOWED',
  REASON_REQUIRED = 'REASON_REQUIRED',
  INVALID_DATA = 'INVALID_DATA',
  CARD_CLOSED = 'CARD_CLOSED',
  BAD_CURSOR = 'BAD_CURSOR',
  TOO_MANY_CARDS = 'TOO_MANY_CARDS',
  WORKFLOW_UNAVAILABLE = 'WORKFLOW_UNAVAILABLE',
  VENUE_NOT_YOURS = 'VENUE_NOT_YOURS',
  /** The Idempotency-Key was used before for another card, action or body. */
  IDEMPOTENCY_KEY_REUSED = 'IDEMPOTENCY_KEY_REUSED',
  /** The database refused to record the change (data it will never take); the card did not change. */
  CHANGE_REFUSED = 'CHANGE_REFUSED',
  /** The database did not record the change in time; the card did not change, try again. */
  CHANGE_NOT_RECORDED = 'CHANGE_NOT_RECORDED',
}

const STATUS: Record<CardsErrorCode, HttpStatus> = {
  [CardsErrorCode.CARD_NOT_FOUND]: HttpStatus.NOT_FOUND,
  [CardsErrorCode.UNKNOWN_ACTION]: HttpStatus.NOT_FOUND,
  [CardsErrorCode.ILLEGAL_TRANSITION]: HttpStatus.CONFLICT,
  [CardsErrorCode.ROLE_NOT_ALLOWED]: HttpStatus.FORBIDDEN,
  [CardsErrorCode.REASON_REQUIRED]: HttpStatus.BAD_REQUEST,
  [CardsErrorCode.INVALID_DATA]: HttpStatus.BAD_REQUEST,
  [CardsErrorCode.CARD_CLOSED]: HttpStatus.CONFLICT,
  [CardsErrorCode.BAD_CURSOR]: HttpStatus.BAD_REQUEST,
  [CardsErrorCode.TOO_MANY_CARDS]: HttpStatus.PAYLOAD_TOO_LARGE,
  [CardsErrorCode.WORKFLOW_UNAVAILABLE]: HttpStatus.SERVICE_UNAVAILABLE,
  [CardsErrorCode.VENUE_NOT_YOURS]: HttpStatus.FORBIDDEN,
  [CardsErrorCode.IDEMPOTENCY_KEY_REUSED]: HttpStatus.UNPROCESSABLE_ENTITY,
  [CardsErrorCode.CHANGE_REFUSED]: HttpStatus.UNPROCESSABLE_ENTITY,
  [CardsErrorCode.CHANGE_NOT_RECORDED]: HttpStatus.SERVICE_UNAVAILABLE,
};

export class CardsException extends DomainException<CardsErrorCode> {
  constructor(code: CardsErrorCode, message: string, details?: unknown) {
    super(STATUS, code, message, details);
  }
}
