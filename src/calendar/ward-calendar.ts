/**
 * The ward's calendar, from its configuration (`calendar-config.ts`): when each venue is open and
 * why, the call center's hours, the ward office's business days and their arithmetic. Pure: dates
 * are ISO `YYYY-MM-DD` of the Asia/Tokyo calendar, times `HH:MM` Tokyo time.
 *
 * Order of the rules for a venue's day (the first that applies decides):
 *   1. a dated entry of the venue, 2. a dated entry for every venue (`venueDefaults.dated`),
 *   3. the year-end closure, 4. a national holiday (when the venue closes on them),
 *   5. an opening Sunday (the 2nd, in March the 4th), 6. the weekly hours.
 * So a national holiday that falls on the opening Sunday closes the venue (staff and the building
 * follow the holiday); the ward opens it anyway with a dated entry.
 */
import holidayJp from '@holiday-jp/holiday_jp';
import { addDays, tokyoDate, weekday } from './business-days.js';
import { type CalendarConfig, type DatedEntry, type Hours, type SlotsConfig, type VenueCalendarConfig, WEEKDAY_KEYS } from './calendar-config.js';

export type Opening = { open: true; from: string; to: string; why: string } | { open: false; why: string };

const WEEKDAY_JA = ['日曜日', '月曜日', '火曜日', '水曜日', '木曜日', '金曜日', '土曜日'];

/** The national holiday's Japanese name, or undefined (the library calls the citizens' holiday 「休日」). */
export function nationalHolidayName(isoDate: string): string | undefined {
  const name = (holidayJp.holidays as Record<string, { name: string } | undefined>)[isoDate]?.name;
  return name === '休日' ? '国民の休日' : name;
}

/** Minutes since midnight of `HH:MM`. */
export function minutesOf(hhmm: string): number {
  return Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
}

/** `HH:MM` of minutes since midnight. */
export function hhmmOf(minutes: number): string {
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

/** The instant of a Tokyo date and time. */
export function tokyoInstant(isoDate: string, hhmm: string): Date {
  return new Date(Date.parse(`${isoDate}T00:00:00+09:00`) + minutesOf(hhmm) * 60_000);
}

/** Which Sunday of its month a date is (1..5). */
function nthOfMonth(isoDate: string): number {
  return Math.floor((Number(isoDate.slice(8, 10)) - 1) / 7) + 1;
}

export class WardCalendar {
  private readonly venues = new Map<string, VenueCalendarConfig>();
  private readonly venueDated = new Map<string, Map<string, DatedEntry>>();
  private readonly defaultDated: Map<string, DatedEntry>;
  private readonly callCenterDated: Map<string, DatedEntry>;
  private readonly officeDated: Map<string, { open: boolean; why: string }>;

  constructor(
    readonly config: CalendarConfig,
    venueIds: readonly string[],
  ) {
    const byDate = <T extends { date: string }>(entries: readonly T[], where: string) => {
      const map = new Map<string, T>();
      for (const e of entries) {
        if (map.has(e.date)) throw new Error(`calendar: ${where} lists ${e.date} twice`);
        map.set(e.date, e);
      }
      return map;
    };
    for (const id of Object.keys(config.venues)) {
      if (!venueIds.includes(id)) throw new Error(`calendar: unknown venue ${id}`);
    }
    this.defaultDated = byDate(config.venueDefaults.dated, 'venueDefaults.dated');
    for (const id of venueIds) {
      const own = config.venues[id] ?? {};
      this.venues.set(id, { ...config.venueDefaults, ...own, dated: own.dated ?? [] });
      this.venueDated.set(id, byDate(own.dated ?? [], `venues.${id}.dated`));
    }
    this.callCenterDated = byDate(config.callCenter.dated, 'callCenter.dated');
    this.officeDated = byDate(config.officeDays.dated, 'officeDays.dated');
  }

  /** The venues the calendar knows. */
  venueIds(): string[] {
    return [...this.venues.keys()];
  }

  /** In the year-end closure (12/29–1/3 by default; the range spans the new year). */
  isYearEnd(isoDate: string): boolean {
    const md = isoDate.slice(5);
    const { from, to } = this.config.yearEnd;
    return from <= to ? md >= from && md <= to : md >= from || md <= to;
  }

  /** Whether and when a venue is open on a date, and why. */
  venueOpening(venueId: string, isoDate: string): Opening {
    const cal = this.venues.get(venueId);
    if (!cal) throw new Error(`calendar: unknown venue ${venueId}`);
    const dated = this.venueDated.get(venueId)!.get(isoDate) ?? this.defaultDated.get(isoDate);
    if (dated) return dated.open ? { open: true, from: dated.from, to: dated.to, why: dated.why } : { open: false, why: dated.why };
    if (cal.yearEndClosure && this.isYearEnd(isoDate)) return { open: false, why: '年末年始の休業' };
    const holiday = nationalHolidayName(isoDate);
    if (holiday && cal.nationalHolidays === 'closed') return { open: false, why: `祝日（${holiday}）` };
    const wd = weekday(isoDate);
    if (wd === 0) {
      const month = String(Number(isoDate.slice(5, 7)));
      const nths = cal.sundays.months[month] ?? cal.sundays.nth;
      const nth = nthOfMonth(isoDate);
      if (nths.includes(nth)) return { open: true, ...cal.sundays.hours, why: `第${nth}日曜日の開庁` };
    }
    const hours = cal.week[WEEKDAY_KEYS[wd]];
    if (!hours) return { open: false, why: WEEKDAY_JA[wd] };
    const weekdayHours = WEEKDAY_KEYS.slice(1, 6).map((k) => cal.week[k]).filter((h): h is Hours => h !== null);
    const extended = wd >= 1 && wd <= 5 && weekdayHours.some((h) => h.to < hours.to);
    const why = holiday ? `祝日（${holiday}）の開庁` : extended ? `${WEEKDAY_JA[wd]}（${hours.to}まで延長）` : wd >= 1 && wd <= 5 ? '平日' : `${WEEKDAY_JA[wd]}の開庁`;
    return { open: true, ...hours, why };
  }

  /** The venue's slot windows and capacities configuration. */
  slotsConfig(venueId: string): SlotsConfig {
    const cal = this.venues.get(venueId);
    if (!cal) throw new Error(`calendar: unknown venue ${venueId}`);
    return cal.slots;
  }

  /** The call center's hours on a date (R-4.5: every day but 12/29–1/3, 8:30–20:00). */
  callCenterHours(isoDate: string): Opening {
    const cc = this.config.callCenter;
    const dated = this.callCenterDated.get(isoDate);
    if (dated) return dated.open ? { open: true, from: dated.from, to: dated.to, why: dated.why } : { open: false, why: dated.why };
    if (cc.yearEndClosure && this.isYearEnd(isoDate)) return { open: false, why: '年末年始の休業' };
    const holiday = nationalHolidayName(isoDate);
    if (holiday && cc.nationalHolidays === 'closed') return { open: false, why: `祝日（${holiday}）` };
    const wd = weekday(isoDate);
    const hours: Hours | null = cc.week[WEEKDAY_KEYS[wd]];
    return hours ? { open: true, ...hours, why: WEEKDAY_JA[wd] } : { open: false, why: WEEKDAY_JA[wd] };
  }

  /** Whether the call center is open at an instant (from ≤ Tokyo time < to). */
  callCenterOpen(at: Date = new Date()): boolean {
    const date = tokyoDate(at);
    const hours = this.callCenterHours(date);
    if (!hours.open) return false;
    const minute = Math.floor((at.getTime() - Date.parse(`${date}T00:00:00+09:00`)) / 60_000);
    return minute >= minutesOf(hours.from) && minute < minutesOf(hours.to);
  }

  /** A day the ward office is open (開庁日), by `officeDays`. */
  isBusinessDay(isoDate: string): boolean {
    const od = this.config.officeDays;
    const dated = this.officeDated.get(isoDate);
    if (dated) return dated.open;
    if (od.yearEndClosure && this.isYearEnd(isoDate)) return false;
    if (od.nationalHolidays === 'closed' && nationalHolidayName(isoDate) !== undefined) return false;
    return od.weekdays.includes(WEEKDAY_KEYS[weekday(isoDate)]);
  }

  /** The business day `n` business days after `isoDate` (not counted itself); n = 0 gives `isoDate`. */
  addBusinessDays(isoDate: string, n: number): string {
    if (!Number.isInteger(n) || n < 0 || n > 3650) throw new Error(`business days must be an integer 0..3650, not ${n}`);
    let day = isoDate;
    for (let left = n; left > 0; ) {
      day = addDays(day, 1);
      if (this.isBusinessDay(day)) left--;
    }
    return day;
  }

  /** Business days after `from` up to and including `to` (0 when `to` ≤ `from`). */
  businessDaysBetween(from: string, to: string): number {
    let count = 0;
    for (let day = addDays(from, 1); day <= to; day = addDays(day, 1)) if (this.isBusinessDay(day)) count++;
    return count;
  }

  /**
   * For a timer the ward counts in business days: the instant at the end (Tokyo midnight) of the
   * `n`th business day after the day of `at`. `deadline.getTime() - at.getTime()` is the duration a
   * policy in milliseconds takes.
   */
  businessDaysDeadline(at: Date, n: number): Date {
    const day = this.addBusinessDays(tokyoDate(at), n);
    return new Date(Date.parse(`${addDays(day, 1)}T00:00:00+09:00`));
  }
}
