import { LANGUAGES } from './resident-config.js';
import { HTML_LANG, formatDay, loadMessages, translator } from './resident-i18n.js';

/** Every leaf key of a message file, dotted. */
function leaves(value: unknown, prefix = ''): [string, unknown][] {
  if (value && typeof value === 'object' && !Array.isArray(value)) return Object.entries(value).flatMap(([k, v]) => leaves(v, prefix ? `${prefix}.${k}` : k));
  return [[prefix, value]];
}

describe("residents' pages translations", () => {
  const files = Object.fromEntries(LANGUAGES.map((l) => [l, new Map(leaves(loadMessages(l)))]));
  const allKeys = [...new Set(LANGUAGES.flatMap((l) => [...files[l].keys()]))].sort();

  it('has every key in every language, and no empty value', () => {
    expect(allKeys.length).toBeGreaterThan(50);
    const problems: string[] = [];
    for (const lang of LANGUAGES) {
      for (const key of allKeys) {
        const v = files[lang].get(key);
        if (typeof v !== 'string') problems.push(`${lang}: ${key} missing`);
        else if (v.trim() === '') problems.push(`${lang}: ${key} empty`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('uses the same placeholders in every language', () => {
    const placeholders = (v: unknown) => [...String(v).matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]).sort().join(',');
    const problems = allKeys.flatMap((key) => LANGUAGES.filter((l) => placeholders(files[l].get(key)) !== placeholders(files.ja.get(key))).map((l) => `${l}: ${key}`));
    expect(problems).toEqual([]);
  });

  it('translates through i18next, with dates in each language and the right html lang', () => {
    expect(translator('ja')('home.title')).toBe('予約の状況');
    expect(translator('en')('calendar.free', { count: 3 })).toBe('3 free');
    expect(translator('zh')('booking.venue')).toBe('会场');
    expect(translator('ko')('booking.venue')).toBe('회장');
    expect(formatDay('2026-12-01', 'ja')).toBe('2026年12月1日(火)');
    expect(formatDay('2026-12-01', 'en')).toMatch(/Tue.*1 December 2026/);
    expect(HTML_LANG).toEqual({ ja: 'ja', en: 'en', zh: 'zh-Hans', ko: 'ko' });
  });
});
