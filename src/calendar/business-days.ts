/**
 * The ward office's business days (開庁日): weekdays that are neither a national holiday
 * (`@holiday-jp/holiday_jp`) nor in the year-end closure (12/29–1/3). Dates are ISO `YYYY-MM-DD`
 * strings of the Asia/Tokyo calendar. counts the earliest bookable day in these days.
 *
 * The ward calendar (`WardCalendar` in `ward-calendar.ts`: venue openings, the call center's hours,
 * the business days the ward configures in `officeDays`) builds on this module; this file keeps the
 * functions other domains import, with the rules of Koto's `officeDays` (a test shows they agree).
 */
import holidayJp from '@holiday-jp/holiday_jp';

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function parts(isoDate: string): { y: number; m: number; d: number } {
  const m = ISO_DATE.exec(isoDate);
  if (!m) throw new Error(`not an ISO date: ${isoDate}`);
  return { y: Number(m[1]), m: Number(m[2]), d: Number(m[3]) };
}

/** The ISO date `days` calendar days after `isoDate` (negative: before). */
export function addDays(isoDate: string, days: number): string {
  const { y, m, d } = parts(isoDate);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/** Day of the week, 0 = Sunday … 6 = Saturday. */
export function weekday(isoDate: string): number {
  const { y, m, d } = parts(isoDate);
  return new Date(Date.UTC(y, m - 1, d)).getUTCDay();
}

/** A national holiday (including substitute and citizens' holidays). */
export function isNationalHoliday(isoDate: string): boolean {
  return Object.prototype.hasOwnProperty.call(holidayJp.holidays, isoDate);
}

/** In the year-end and new-year closure, 12/29 to 1/3. */
export function isYearEndClosure(isoDate: string): boolean {
  const { m, d } = parts(isoDate);
  return (m === 12 && d >= 29) || (m === 1 && d <= 3);
}

/** A day the ward office is open. */
export function isBusinessDay(isoDate: string): boolean {
  const wd = weekday(isoDate);
  return wd !== 0 && wd !== 6 && !isNationalHoliday(isoDate) && !isYearEndClosure(isoDate);
}

/**
 * The business day `n` business days after `isoDate` (n ≥ 1; `isoDate` itself is not counted):
 * the call on a Monday with no holiday, `n` = 4, gives Friday.
 */
export function addBusinessDays(isoDate: string, n: number): string {
  if (!Number.isInteger(n) || n < 0) throw new Error(`business days must be a non-negative integer, not ${n}`);
  let day = isoDate;
  for (let left = n; left > 0; ) {
    day = addDays(day, 1);
    if (isBusinessDay(day)) left--;
  }
  return day;
}

/** Today's ISO date in Asia/Tokyo. */
export function tokyoDate(at: Date = new Date()): string {
  return new Date(at.getTime() + 9 * 3_600_000).toISOString().slice(0, 10);
}
