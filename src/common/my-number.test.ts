import { MAX_DEPTH, TooDeepError, containsMyNumber, findMyNumberField, isValidMyNumber, safeRandomUUID } from './my-number.js';

describe('individual number (My Number) detection', () => {
  it('checks the check digit', () => {
    expect(isValidMyNumber('123456789018')).toBe(true);
    for (let d = 0; d <= 9; d++) if (d !== 8) expect(isValidMyNumber(`12345678901${d}`)).toBe(false);
    // Remainder 0 or 1 gives check digit 0.
    expect(isValidMyNumber('000000000000')).toBe(true);
    expect(isValidMyNumber('12345678901')).toBe(false);
  });

  it('finds one anywhere in a string, in full-width digits or with separators', () => {
    expect(containsMyNumber('番号は123456789018です')).toBe(true);
    expect(containsMyNumber('１２３４５６７８９０１８')).toBe(true);
    expect(containsMyNumber('1234 5678 9018')).toBe(true);
    expect(containsMyNumber('1234-5678-9018')).toBe(true);
    expect(containsMyNumber('1234-5678-9012')).toBe(false);
    expect(containsMyNumber('江東区東陽4-11-28 123456789018')).toBe(true);
    expect(containsMyNumber('江東区東陽4-11-28-1203')).toBe(false);
    // Other groupings of the same digits, and identifiers, are not read as one.
    expect(containsMyNumber('12-3456-7890-18')).toBe(false);
    expect(containsMyNumber('3f2a9c1e-1234-5678-90ab-0a1b2c3d4e5f')).toBe(false);
    expect(containsMyNumber('電話 03-3647-9111、〒135-0016')).toBe(false);
    // A longer digit run is not a 12-digit number.
    expect(containsMyNumber('1123456789018')).toBe(false);
  });

  it('finds one in every spelling that got past the guard before', () => {
    // Format characters between the digits: zero-width space, soft hyphen, word joiner, BOM.
    expect(containsMyNumber('1029\u200b3847\u200b5617')).toBe(true);
    expect(containsMyNumber('1\u200b0\u200b2\u200b9\u200b3\u200b8\u200b4\u200b7\u200b5\u200b6\u200b1\u200b7')).toBe(true);
    expect(containsMyNumber('1029\u00ad3847\u00ad5617')).toBe(true);
    expect(containsMyNumber('102938\u2060475617')).toBe(true);
    expect(containsMyNumber('\ufeff102938475617')).toBe(true);
    // Any separator between the groups: two spaces, dots, slashes, ideographic space, mixed.
    expect(containsMyNumber('1029  3847  5617')).toBe(true);
    expect(containsMyNumber('1029.3847.5617')).toBe(true);
    expect(containsMyNumber('1029/3847/5617')).toBe(true);
    expect(containsMyNumber('1029\u30003847\u30005617')).toBe(true);
    expect(containsMyNumber('1029 - 3847 _ 5617')).toBe(true);
    expect(containsMyNumber('１０２９．３８４７．５６１７')).toBe(true);
    // A UUID whose last group is a valid number is not exempt.
    expect(containsMyNumber('3f2a9c1e-4b1d-4c2e-8a3b-102938475617')).toBe(true);
    expect(containsMyNumber('3F2A9C1E-4B1D-4C2E-8A3B-102938475617')).toBe(true);
    // The separators are bounded: digits far apart are separate numbers.
    expect(containsMyNumber('1029 ..... 3847 ..... 5617')).toBe(false);
    expect(containsMyNumber('1029.3847.5618')).toBe(false);
  });

  it('makes UUIDs that never hold one', () => {
    for (let i = 0; i < 2000; i++) expect(containsMyNumber(safeRandomUUID())).toBe(false);
    expect(safeRandomUUID()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('walks any depth up to the bound without recursion, and refuses deeper values', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < MAX_DEPTH; i++) deep = { a: deep };
    expect(findMyNumberField(deep)).toBeUndefined();
    let tooDeep: unknown = '102938475617';
    for (let i = 0; i < 20_000; i++) tooDeep = [tooDeep];
    expect(() => findMyNumberField(tooDeep)).toThrow(TooDeepError);
  });

  it('names the field that holds one, at any depth', () => {
    expect(findMyNumberField({ cards: [{ resident: { name: 'a' } }, { resident: { address: '東陽 123456789018' } }] })).toBe('cards[1].resident.address');
    expect(findMyNumberField({ note: 123456789018 })).toBe('note');
    expect(findMyNumberField({ name: '江東 太郎', birthDate: '1980-04-01' })).toBeUndefined();
  });
});
