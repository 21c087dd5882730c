import { loadWardConfig } from '../config/ward-config.js';
import type { CalendarConfig } from './calendar-config.js';
import { dayOpening, slotWindows } from './slot-windows.js';
import { WardCalendar } from './ward-calendar.js';

const ward = loadWardConfig('config/koto', '');
const VENUES = ward.venues.map((v) => v.id);
const calendar = new WardCalendar(ward.calendar, VENUES);
const office = { updatedBy: 'office-1', updatedAt: new Date(0) };

describe('slot windows', () => {
  it('cuts an open day into windows with the capacity of the last matching rule', () => {
    // 2026-12-02 is a Wednesday: 08:30–19:00, 21 windows.
    const wed = slotWindows(calendar, 'kuyakusho', '2026-12-02');
    expect(wed).toHaveLength(21);
    expect(wed[0]).toEqual({ venueId: 'kuyakusho', startsAt: new Date('2026-12-02T08:30:00+09:00'), endsAt: new Date('2026-12-02T09:00:00+09:00'), from: '08:30', capacity: 6 });
    expect(wed.map((w) => `${w.from}:${w.capacity}`).filter((w) => w.endsWith(':4'))).toEqual(['12:00:4', '12:30:4', '17:00:4', '17:30:4', '18:00:4', '18:30:4']);
    expect(wed.at(-1)!.endsAt).toEqual(new Date('2026-12-02T19:00:00+09:00'));
    expect(slotWindows(calendar, 'kuyakusho', '2026-12-06')).toEqual([]); // 1st Sunday
    expect(slotWindows(calendar, 'kuyakusho', '2026-12-13')).toHaveLength(17); // 2nd Sunday
  });

  it('makes no window that would end after closing time', () => {
    const config: CalendarConfig = structuredClone(ward.calendar);
    config.venues.oshima = { ...config.venues.oshima, dated: [{ date: '2027-04-03', open: true, from: '09:10', to: '10:30', why: '特別開庁' }] };
    const windows = slotWindows(new WardCalendar(config, VENUES), 'oshima', '2027-04-03');
    expect(windows.map((w) => w.from)).toEqual(['09:10', '09:40']);
  });

  it("puts the office's change to a day first", () => {
    expect(dayOpening(calendar, 'toyosu', '2026-12-01', { open: false, from: null, to: null, capacity: null, ...office })).toEqual({ open: false, why: '事務センターが休業に設定', byOffice: true });
    expect(slotWindows(calendar, 'toyosu', '2026-12-01', { open: false, from: null, to: null, capacity: null, ...office })).toEqual([]);
    const saturday = slotWindows(calendar, 'toyosu', '2026-12-05', { open: true, from: '10:00', to: '11:00', capacity: 9, ...office });
    expect(saturday.map((w) => [w.from, w.capacity])).toEqual([['10:00', 9], ['10:30', 9]]);
    expect(slotWindows(calendar, 'toyosu', '2026-12-01', { open: null, from: null, to: null, capacity: 2, ...office }).every((w) => w.capacity === 2)).toBe(true);
    expect(dayOpening(calendar, 'toyosu', '2026-12-01', null)).toEqual({ open: true, from: '08:30', to: '17:00', why: '平日', byOffice: false });
  });
});
