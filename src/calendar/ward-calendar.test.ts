import holidayJp from '@holiday-jp/holiday_jp';
import { NATIONAL_HOLIDAYS } from '../../test/fixtures/national-holidays.js';
import { loadWardConfig } from '../config/ward-config.js';
import { isBusinessDay } from './business-days.js';
import { type CalendarConfig, calendarConfigSchema } from './calendar-config.js';
import { type Opening, WardCalendar } from './ward-calendar.js';

const ward = loadWardConfig('config/koto', '');
const calendar = new WardCalendar(ward.calendar, ward.venues.map((v) => v.id));

/** Every ISO date from `from` to `to`, inclusive (plain UTC arithmetic, independent of the module). */
function days(from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}
const dow = (iso: string) => new Date(`${iso}T00:00:00Z`).getUTCDay();

/**
 * written out again for the test: the config's dated entries for the venue, else closed 12/29–1/3
 * and on the fixture's holidays, open 8:30–17:00 on the 2nd Sunday (the 4th in March), to 19:00 on
 * Wednesdays, to 17:00 on other weekdays, closed on other Saturdays and Sundays.
 */
function expected(venueId: string, iso: string): { open: boolean; from?: string; to?: string } {
  const dated = (ward.calendar.venues[venueId]?.dated ?? []).find((e) => e.date === iso) ?? ward.calendar.venueDefaults.dated.find((e) => e.date === iso);
  if (dated) return dated.open ? { open: true, from: dated.from, to: dated.to } : { open: false };
  const [m, d] = [Number(iso.slice(5, 7)), Number(iso.slice(8, 10))];
  if ((m === 12 && d >= 29) || (m === 1 && d <= 3)) return { open: false };
  if (NATIONAL_HOLIDAYS[iso]) return { open: false };
  const wd = dow(iso);
  if (wd === 0) {
    const nth = Math.ceil(d / 7);
    return nth === (m === 3 ? 4 : 2) ? { open: true, from: '08:30', to: '17:00' } : { open: false };
  }
  if (wd === 6) return { open: false };
  return { open: true, from: '08:30', to: wd === 3 ? '19:00' : '17:00' };
}
const shape = (o: Opening) => (o.open ? { open: true, from: o.from, to: o.to } : { open: false });

const FY2025_TO_FY2027 = days('2025-04-01', '2028-03-31');

describe('national holidays', () => {
  it("the library agrees with the Cabinet Office's list, 2025-01 to 2028-03", () => {
    const library = Object.keys(holidayJp.holidays).filter((d) => d >= '2025-01-01' && d <= '2028-03-31').sort();
    expect(library).toEqual(Object.keys(NATIONAL_HOLIDAYS).sort());
    expect(holidayJp.holidays['2026-09-22']).toBeDefined();
    expect(holidayJp.holidays['2027-03-22']).toBeDefined();
  });
});

describe('ward calendar: venues (R-5.7)', () => {
  it('every day of FY2025–FY2027 has the right opening at every venue', () => {
    expect(FY2025_TO_FY2027).toHaveLength(366 + 365 + 365);
    const wrong: string[] = [];
    for (const venueId of calendar.venueIds()) {
      for (const iso of FY2025_TO_FY2027) {
        const got = shape(calendar.venueOpening(venueId, iso));
        const want = expected(venueId, iso);
        if (JSON.stringify(got) !== JSON.stringify(want)) wrong.push(`${venueId} ${iso}: ${JSON.stringify(got)} ≠ ${JSON.stringify(want)}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(calendar.venueIds()).toEqual(['kuyakusho', 'toyosu', 'oshima']);
  });

  it('knows the particular days: substitute and citizens’ holidays, the Sunday openings, Wednesdays, the year end', () => {
    const at = (iso: string) => calendar.venueOpening('kuyakusho', iso);
    expect(at('2025-11-24')).toEqual({ open: false, why: '祝日（勤労感謝の日 振替休日）' });
    expect(at('2026-05-06').open).toBe(false);
    expect(at('2026-09-22')).toEqual({ open: false, why: '祝日（国民の休日）' });
    expect(at('2027-03-22').open).toBe(false);
    expect(at('2027-09-23').open).toBe(false);
    expect(at('2028-03-20').open).toBe(false);
    // 2nd Sunday, and in March the 4th instead.
    expect(at('2026-04-12')).toEqual({ open: true, from: '08:30', to: '17:00', why: '第2日曜日の開庁' });
    expect(at('2026-03-08').open).toBe(false);
    expect(at('2026-03-22')).toEqual({ open: true, from: '08:30', to: '17:00', why: '第4日曜日の開庁' });
    expect(at('2027-03-28').open).toBe(true);
    expect(at('2026-04-19').open).toBe(false);
    expect(at('2026-12-02')).toEqual({ open: true, from: '08:30', to: '19:00', why: '水曜日（19:00まで延長）' });
    expect(at('2026-12-01')).toEqual({ open: true, from: '08:30', to: '17:00', why: '平日' });
    expect(at('2026-12-28').open).toBe(true);
    expect(at('2026-12-29')).toEqual({ open: false, why: '年末年始の休業' });
    expect(at('2027-01-04').open).toBe(true);
    // Dated entries: a Saturday opening at one venue, a closure at another.
    expect(at('2026-12-05')).toEqual({ open: true, from: '08:30', to: '17:00', why: '土曜開庁' });
    expect(calendar.venueOpening('toyosu', '2026-12-05')).toEqual({ open: false, why: '土曜日' });
    expect(calendar.venueOpening('toyosu', '2027-02-10')).toEqual({ open: false, why: '設備点検のため休業' });
  });

  it('the configured Saturday openings fall on Saturdays', () => {
    for (const v of Object.values(ward.calendar.venues))
      for (const e of v.dated ?? []) if (e.why === '土曜開庁') expect([e.date, dow(e.date)]).toEqual([e.date, 6]);
  });

  it('closes on a national holiday that falls on the opening Sunday, unless a dated entry opens it', () => {
    // 2029-02-11 (建国記念の日) is the 2nd Sunday of February 2029.
    expect(dow('2029-02-11')).toBe(0);
    expect(calendar.venueOpening('oshima', '2029-02-11')).toEqual({ open: false, why: '祝日（建国記念の日）' });
    expect(calendar.venueOpening('oshima', '2029-02-18').open).toBe(false);
    const config: CalendarConfig = structuredClone(ward.calendar);
    config.venues.oshima = { ...config.venues.oshima, dated: [{ date: '2029-02-11', open: true, from: '09:00', to: '16:00', why: '祝日の特別開庁' }] };
    const opened = new WardCalendar(config, ['kuyakusho', 'toyosu', 'oshima']);
    expect(opened.venueOpening('oshima', '2029-02-11')).toEqual({ open: true, from: '09:00', to: '16:00', why: '祝日の特別開庁' });
    expect(opened.venueOpening('kuyakusho', '2029-02-11').open).toBe(false);
  });

  it('refuses a configuration with a bad time, an unknown venue or a date listed twice', () => {
    const bad = structuredClone(ward.calendar) as unknown as { venueDefaults: { week: { mon: { to: string } } } };
    bad.venueDefaults.week.mon.to = '25:00';
    expect(calendarConfigSchema.safeParse(bad).success).toBe(false);
    const reversed = structuredClone(ward.calendar) as unknown as { venueDefaults: { week: { mon: { from: string; to: string } } } };
    reversed.venueDefaults.week.mon = { from: '17:00', to: '08:30' };
    expect(calendarConfigSchema.safeParse(reversed).success).toBe(false);
    expect(() => new WardCalendar({ ...ward.calendar, venues: { nowhere: {} } }, ['kuyakusho'])).toThrow(/unknown venue nowhere/);
    const twice: CalendarConfig = structuredClone(ward.calendar);
    twice.venueDefaults.dated = [
      { date: '2027-05-01', open: false, why: 'a' },
      { date: '2027-05-01', open: false, why: 'b' },
    ];
    expect(() => new WardCalendar(twice, ['kuyakusho', 'toyosu', 'oshima'])).toThrow(/twice/);
  });
});

describe('ward calendar: call center (R-4.5)', () => {
  it('is open every day but 12/29–1/3, 8:30 to 20:00, holidays and weekends included', () => {
    for (const iso of FY2025_TO_FY2027) {
      const [m, d] = [Number(iso.slice(5, 7)), Number(iso.slice(8, 10))];
      const closed = (m === 12 && d >= 29) || (m === 1 && d <= 3);
      expect([iso, calendar.callCenterHours(iso).open]).toEqual([iso, !closed]);
    }
    expect(calendar.callCenterHours('2026-11-23')).toEqual({ open: true, from: '08:30', to: '20:00', why: '月曜日' });
    expect(calendar.callCenterHours('2027-01-03')).toEqual({ open: false, why: '年末年始の休業' });
  });

  it('callCenterOpen reads the time in Tokyo', () => {
    expect(calendar.callCenterOpen(new Date('2026-11-26T08:29:59+09:00'))).toBe(false);
    expect(calendar.callCenterOpen(new Date('2026-11-26T08:30:00+09:00'))).toBe(true);
    expect(calendar.callCenterOpen(new Date('2026-11-26T19:59:59+09:00'))).toBe(true);
    expect(calendar.callCenterOpen(new Date('2026-11-26T20:00:00+09:00'))).toBe(false);
    // Sunday and a national holiday: open.
    expect(calendar.callCenterOpen(new Date('2026-11-29T12:00:00+09:00'))).toBe(true);
    expect(calendar.callCenterOpen(new Date('2026-11-23T12:00:00+09:00'))).toBe(true);
    // 2026-12-28 23:30 UTC is 12/29 08:30 in Tokyo: closed.
    expect(calendar.callCenterOpen(new Date('2026-12-28T23:30:00Z'))).toBe(false);
    expect(calendar.callCenterOpen(new Date('2027-01-04T00:00:00Z'))).toBe(true);
  });
});

describe('ward calendar: business days', () => {
  it('counts the same days as business-days.ts for the ward configuration, over FY2025–FY2027', () => {
    for (const iso of FY2025_TO_FY2027) {
      const want = dow(iso) !== 0 && dow(iso) !== 6 && !NATIONAL_HOLIDAYS[iso] && !((iso.slice(5) >= '12-29') || iso.slice(5) <= '01-03');
      expect([iso, calendar.isBusinessDay(iso), isBusinessDay(iso)]).toEqual([iso, want, want]);
    }
  });

  it('adds business days and gives a deadline a policy can count in', () => {
    expect(calendar.addBusinessDays('2026-11-20', 1)).toBe('2026-11-24');
    expect(calendar.addBusinessDays('2026-11-20', 4)).toBe('2026-11-27');
    expect(calendar.addBusinessDays('2026-12-25', 2)).toBe('2027-01-04');
    expect(calendar.addBusinessDays('2026-09-18', 1)).toBe('2026-09-24');
    expect(calendar.addBusinessDays('2026-09-18', 0)).toBe('2026-09-18');
    expect(calendar.businessDaysBetween('2026-09-18', '2026-09-24')).toBe(1);
    expect(calendar.businessDaysDeadline(new Date('2026-11-20T15:00:00+09:00'), 4).toISOString()).toBe('2026-11-27T15:00:00.000Z');
    expect(() => calendar.addBusinessDays('2026-11-20', -1)).toThrow();
  });

  it('follows the ward when it names its own business days', () => {
    const config: CalendarConfig = structuredClone(ward.calendar);
    config.officeDays = { weekdays: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat'], nationalHolidays: 'closed', yearEndClosure: true, dated: [{ date: '2026-11-30', open: false, why: '庁舎停電' }] };
    const saturdays = new WardCalendar(config, ['kuyakusho', 'toyosu', 'oshima']);
    expect(saturdays.isBusinessDay('2026-11-28')).toBe(true);
    expect(saturdays.isBusinessDay('2026-11-30')).toBe(false);
    expect(saturdays.addBusinessDays('2026-11-26', 3)).toBe('2026-12-01');
  });
});
