/**
 * The call center's hours (R-4.5: every day but 12/29–1/3, 8:30–20:00, Asia/Tokyo), from the ward
 * calendar (`WardCalendar.callCenterOpen`, configuration). The no-show callback list is offered only
 * then. The clock is injectable so that tests can stand outside the hours.
 */
import { Injectable } from '@nestjs/common';
import { WardCalendar } from '../calendar/ward-calendar.js';

/** The call center's clock; tests replace `now`. */
@Injectable()
export class CallCenterClock {
  now: () => Date = () => new Date();
}

@Injectable()
export class CallCenterHours {
  constructor(
    private readonly calendar: WardCalendar,
    private readonly clock: CallCenterClock,
  ) {}

  /** Whether the call center is open now (by its clock). */
  openNow(): boolean {
    return this.calendar.callCenterOpen(this.clock.now());
  }

  /** Today's hours in words, e.g. 「本日 8:30〜20:00」 or why it is closed. */
  text(): string {
    const at = this.clock.now();
    const date = new Date(at.getTime() + 9 * 3_600_000).toISOString().slice(0, 10);
    const h = this.calendar.callCenterHours(date);
    return h.open ? `本日は ${h.from.replace(/^0/, '')}〜${h.to}、通常は毎日 8:30〜20:00（12月29日〜1月3日を除く）` : `本日は休業（${h.why}）、通常は毎日 8:30〜20:00（12月29日〜1月3日を除く）`;
  }
}
