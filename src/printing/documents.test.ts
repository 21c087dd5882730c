import { SPECIAL_MAIL_ABOVE, envelopeClassFor, printedName, sortForPost } from './documents.js';

describe('post order and envelope class (R-3.8)', () => {
  it('uses 区内特別郵便 above 100 items for a post office, 後納郵便 up to 100', () => {
    expect(SPECIAL_MAIL_ABOVE).toBe(100);
    expect(envelopeClassFor(100)).toBe('konou');
    expect(envelopeClassFor(101)).toBe('kunai_tokubetsu');
    expect(envelopeClassFor(1)).toBe('konou');
  });

  it('sorts by delivering post office in the given order, then postal code and address', () => {
    const c = (cardId: string, postOfficeId: string, postalCode: string, address: string) => ({ cardId, postOfficeId, postalCode, address });
    const sorted = sortForPost(
      [c('a', 'joto', '136-0072', '大島1'), c('b', 'fukagawa', '135-0016', '東陽2'), c('c', 'harumi', '135-0061', '豊洲1'), c('d', 'fukagawa', '135-0001', '毛利1'), c('e', 'fukagawa', '135-0016', '東陽1')],
      ['fukagawa', 'harumi', 'joto'],
    );
    expect(sorted.map((x) => x.cardId)).toEqual(['d', 'e', 'b', 'c', 'a']);
  });
});

describe("the printed name follows the ward's name category (R-7.4)", () => {
  const r = { name: 'スミス\u3000ジョン', alphabetName: 'SMITH JOHN', commonName: '炭\u3000次郎' };
  it('prints the registered, alphabet or common name as the category says', () => {
    expect(printedName({ ...r, nameCategory: 'legal' })).toBe('スミス\u3000ジョン');
    expect(printedName({ ...r, nameCategory: 'alphabet' })).toBe('SMITH JOHN');
    expect(printedName({ ...r, nameCategory: 'common' })).toBe('炭\u3000次郎');
    expect(printedName({ ...r, commonName: null, nameCategory: 'common' })).toBe('スミス\u3000ジョン');
  });
});
