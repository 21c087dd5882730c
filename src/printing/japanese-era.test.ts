import { EraTable } from './japanese-era.js';

describe('Japanese era dates from the era table', () => {
  const eras = EraTable.load();

  it('prints dates across era changes', () => {
    expect(eras.format('2026-11-26')).toBe('令和8年11月26日');
    expect(eras.format('2019-05-01')).toBe('令和元年5月1日');
    expect(eras.format('2019-04-30')).toBe('平成31年4月30日');
    expect(eras.format('1989-01-07')).toBe('昭和64年1月7日');
    expect(eras.format('1989-01-08')).toBe('平成元年1月8日');
    expect(eras.format('2024-04-01', 'short')).toBe('R6.4.1');
  });

  it('reads era dates back, refusing days outside the era', () => {
    expect(eras.toIso('平成', 31, 4, 30)).toBe('2019-04-30');
    expect(eras.toIso(4, 2, 5, 12)).toBe('1990-05-12');
    expect(eras.toIso('H', 31, 5, 1)).toBeUndefined();
    expect(eras.toIso('令和', 6, 2, 30)).toBeUndefined();
  });

  it('takes a new era as one more line of configuration', () => {
    const next = EraTable.of([...eras.eras, { name: '新元', short: 'N', code: 6, since: '2040-01-01' }]);
    expect(next.format('2039-12-31')).toBe('令和21年12月31日');
    expect(next.format('2040-01-01')).toBe('新元元年1月1日');
    expect(next.format('2041-03-02')).toBe('新元2年3月2日');
    expect(() => EraTable.of([...eras.eras, { name: '逆行', short: 'X', code: 7, since: '2000-01-01' }])).toThrow(/must begin after/);
  });
});
