/**
 * One error shape for the whole API: `{ error: { code, message, details? }, requestId }`, with a
 * stable code. Each module has its own exception class and code enum, mapped exhaustively to HTTP.
 */
import { HttpStatus } from '@nestjs/common';

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
  requestId?: string;
}

/** A module's error: its code, from the module's enum, decides the HTTP status through the module's map. */
export abstract class DomainException<C extends string = string> extends Error {
  readonly status: HttpStatus;
  protected constructor(
    statuses: Record<C, HttpStatus>,
    readonly code: C,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = new.target.name;
    this.status = statuses[code];
  }
}

export enum CommonErrorCode {
  VALIDATION_FAILED = 'VALIDATION_FAILED',
  MY_NUMBER_REFUSED = 'MY_NUMBER_REFUSED',
}

const COMMON_STATUS: Record<CommonErrorCode, HttpStatus> = {
  [CommonErrorCode.VALIDATION_FAILED]: HttpStatus.BAD_REQUEST,
  [CommonErrorCode.MY_NUMBER_REFUSED]: HttpStatus.UNPROCESSABLE_ENTITY,
};

export interface FieldError {
  field: string;
  message: string;
}

export class CommonException extends DomainException<CommonErrorCode> {
  constructor(code: CommonErrorCode, message: string, details?: unknown) {
    super(COMMON_STATUS, code, message, details);
  }

  static validation(fields: FieldError[]): CommonException {
    return new CommonException(CommonErrorCode.VALIDATION_FAILED, `invalid input: ${fields.map((f) => f.field).join(', ')}`, { fields });
  }

  static myNumber(field: string): CommonException {
    // The value itself is never echoed, stored or logged.
    return new CommonException(
      CommonErrorCode.MY_NUMBER_REFUSED,
      `field ${field} holds what looks like an individual number (個人番号); this system never stores one`,
      { field },
    );
  }
}
