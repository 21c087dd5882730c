/**
 * The call center's hours: every day but 12/29–1/3, 8:30–20:00, Asia/Tokyo. The no-show
 * callback list is offered only then. Until the ward calendar (`WardCalendar.callCenterOpen`) is
 * merged, the rule is written out here; `callCenterOpen` is the one switch.
 */
import { Injectable } from '@nestjs/common';
import { isYearEndClosure, tokyoDate } from '../calendar/business-days.js';

export const CALL_CENTER_HOURS_TEXT = '毎日 8:30〜20:00（12月29日〜1月3日を除く）';

/** Whether the call center is open at `at`. */
export function callCenterOpen(at: Date): boolean {
  if (isYearEndClosure(tokyoDate(at))) return false;
  const minutes = (((at.getUTCHours() + 9) % 24) * 60 + at.getUTCMinutes());
  return minutes >= 8 * 60 + 30 && minutes < 20 * 60;
}

/** The call center's clock; tests replace `now` to stand outside the hours. */
@Injectable()
export class CallCenterClock {
  now: () => Date = () => new Date();
}
