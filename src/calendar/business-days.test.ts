import { addBusinessDays, isBusinessDay, tokyoDate } from './business-days.js';

describe('business days', () => {
  it('skips weekends, national holidays and the year-end closure', () => {
    // Monday 2026-11-23 is 勤労感謝の日; 2026-11-20 is a Friday.
    expect(addBusinessDays('2026-11-20', 1)).toBe('2026-11-24');
    expect(addBusinessDays('2026-11-20', 4)).toBe('2026-11-27');
    // 12/29–1/3 closed, 1/4/2027 is a Monday.
    expect(addBusinessDays('2026-12-28', 1)).toBe('2027-01-04');
    expect(isBusinessDay('2026-12-28')).toBe(true);
    expect(isBusinessDay('2027-01-03')).toBe(false);
    expect(isBusinessDay('2026-11-23')).toBe(false);
  });
  it("gives Tokyo's date", () => {
    expect(tokyoDate(new Date('2026-11-25T15:00:00Z'))).toBe('2026-11-26');
    expect(tokyoDate(new Date('2026-11-25T14:59:59Z'))).toBe('2026-11-25');
  });
});
