import { FontCoverage, resolveFontFile } from './glyph-coverage.js';
import { preparePrintFields, printWidth } from './print-fields.js';

describe('printed fields: blanks and the hand-writing list', () => {
  const font = FontCoverage.open(resolveFontFile());

  it('blanks a character the font lacks and lists it, keeping the rest of the field', () => {
    const r = preparePrintFields('c1', { name: '髙\uE001橋\u3000一郎', address: '江東区東陽4-11-28' }, { name: { maxWidth: 16 } }, font);
    expect(r.fields).toEqual({ name: '髙\u3000橋\u3000一郎', address: '江東区東陽4-11-28' });
    expect(r.handwriting).toEqual([
      { itemId: 'c1', field: 'name', reason: 'missing_glyph', text: '髙\uE001橋\u3000一郎', missing: [{ text: '\uE001', codePoints: 'U+E001', index: 1 }] },
    ]);
  });

  it('flags an address longer than its box, printed blank as a whole', () => {
    const long = '江東区豊洲二丁目2番18号　豊洲シビックセンター前マンション北棟ウエストタワー3012号室'.replace('　', '\u3000');
    const r = preparePrintFields('c2', { address: long, name: '山田花子' }, { address: { maxWidth: 40 }, name: { maxWidth: 16 } }, font);
    expect(r.fields.address).toBe('');
    expect(r.fields.name).toBe('山田花子');
    expect(r.handwriting).toMatchObject([{ itemId: 'c2', field: 'address', reason: 'overflow', maxWidth: 40 }]);
    expect(r.handwriting[0].width).toBeGreaterThan(40);
  });

  it('counts half-width characters as half', () => {
    expect(printWidth('ABC')).toBe(1.5);
    expect(printWidth('ｱｲｳ')).toBe(1.5);
    expect(printWidth('葛\u{E0102}飾')).toBe(2);
  });
});
