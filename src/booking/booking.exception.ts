import { HttpStatus } from '@nestjs/common';
import { DomainException } from '../common/errors.js';

/** Why a booking is refused. Pages turn each code into Japanese (`web/messages.ts`), resident pages into their languages. */
export enum BookingErrorCode {
  /** No free place left in the slot; details: `nearest`, up to 5 free slots. */
  SLOT_FULL = 'SLOT_FULL',
  /** No slot at that venue and start. */
  SLOT_NOT_FOUND = 'SLOT_NOT_FOUND',
  /** The venue or day was closed after the slot was made. */
  SLOT_CLOSED = 'SLOT_CLOSED',
  /** The slot has ended. */
  SLOT_PAST = 'SLOT_PAST',
  /** Before the earliest bookable day; details: `earliest`. */
  TOO_SOON = 'TOO_SOON',
  /** A short-notice booking needs the card to be at that venue already. */
  CARD_NOT_AT_VENUE = 'CARD_NOT_AT_VENUE',
  /** The card cannot be booked (not a pickup card, not found, or the booking number is not the card's). */
  CARD_NOT_BOOKABLE = 'CARD_NOT_BOOKABLE',
  /** The month or date range asked for is not valid. */
  BAD_RANGE = 'BAD_RANGE',
}

const STATUS: Record<BookingErrorCode, HttpStatus> = {
  [BookingErrorCode.SLOT_FULL]: HttpStatus.CONFLICT,
  [BookingErrorCode.SLOT_NOT_FOUND]: HttpStatus.NOT_FOUND,
  [BookingErrorCode.SLOT_CLOSED]: HttpStatus.CONFLICT,
  [BookingErrorCode.SLOT_PAST]: HttpStatus.UNPROCESSABLE_ENTITY,
  [BookingErrorCode.TOO_SOON]: HttpStatus.UNPROCESSABLE_ENTITY,
  [BookingErrorCode.CARD_NOT_AT_VENUE]: HttpStatus.CONFLICT,
  [BookingErrorCode.CARD_NOT_BOOKABLE]: HttpStatus.NOT_FOUND,
  [BookingErrorCode.BAD_RANGE]: HttpStatus.BAD_REQUEST,
};

export class BookingException extends DomainException<BookingErrorCode> {
  constructor(code: BookingErrorCode, message: string, details?: unknown) {
    super(STATUS, code, message, details);
  }
}
