import { addressKey, kanaKey, nameKey, parseBirthDate, phoneKey, residentKeys } from './search-keys.js';

describe('call center search keys', () => {
  it('folds kana written in hiragana, katakana and half-width katakana, with any spaces, to one key', () => {
    const key = kanaKey('コウトウ タロウ');
    expect(key).toBe('コウトウタロウ');
    for (const variant of ['こうとう　たろう', 'ｺｳﾄｳ ﾀﾛｳ', 'こうとうタロウ', ' コウトウ\u3000 タロウ ', 'ｺｳﾄｳ・ﾀﾛｳ']) expect(kanaKey(variant)).toBe(key);
    expect(kanaKey('ｶﾞﾒﾝ')).toBe('ガメン');
    expect(kanaKey('コーノ')).not.toBe(kanaKey('コノ'));
  });

  it('folds names, phones and addresses', () => {
    expect(nameKey('江東　太郎')).toBe('江東太郎');
    expect(nameKey('Ｓｍｉｔｈ john')).toBe('SMITHJOHN');
    expect(phoneKey('０３－３６４７－９１１１')).toBe('0336479111');
    expect(phoneKey('(03) 3647 9111')).toBe('0336479111');
    expect(addressKey('江東区東陽４－１１－２８')).toBe('江東区東陽4-11-28');
    expect(addressKey('東陽 4ー11')).toBe('東陽4-11');
  });

  it('keeps the stored keys within their columns, however NFKC lengthens a text', () => {
    const keys = residentKeys({ name: '㍿'.repeat(200), nameKana: 'ア'.repeat(200), address: '\ufdfa'.repeat(400), phone: '０'.repeat(30) });
    expect([...keys.searchName].length).toBe(200);
    expect([...keys.searchAddress].length).toBe(400);
    expect(keys.searchKana).toBe('ア'.repeat(200));
    expect(keys.searchPhone).toBe('0'.repeat(30));
    expect(residentKeys({ name: 'a', nameKana: 'ア', address: 'x', phone: '---' }).searchPhone).toBeNull();
  });

  it('reads dates of birth as callers give them', () => {
    for (const s of ['1990-04-01', '1990/4/1', '1990.4.1', '19900401', '1990年4月1日', '１９９０／４／１', '平成2年4月1日', 'H2.4.1', 'h2/4/1']) expect(parseBirthDate(s)).toBe('1990-04-01');
    expect(parseBirthDate('令和元年5月1日')).toBe('2019-05-01');
    expect(parseBirthDate('昭和55年12月31日')).toBe('1980-12-31');
    for (const s of ['1990-02-30', '1990-13-01', 'abc', '', '1800-01-01', '平成0年1月1日']) expect(parseBirthDate(s)).toBeUndefined();
  });
});

describe('call center search form', () => {
  it('searches a name of kana only as kana, anything else as a name, and names each problem beside its field', async () => {
    const { searchCriteria } = await import('./search-criteria.js');
    expect(searchCriteria({ name: 'ｶﾞﾒﾝ ﾊﾅｺ', birthDate: 'S55.4.1' })).toEqual({ criteria: { kana: 'ガメンハナコ', birthDate: '1980-04-01' }, problems: [], given: ['kana', 'birthDate'] });
    expect(searchCriteria({ name: '江東　太郎', phone: '03-3647-9111', address: ' 東陽４－１１ ' }).criteria).toEqual({ name: '江東太郎', phone: '0336479111', address: '東陽4-11' });
    expect(searchCriteria({}).given).toEqual([]);
    expect(searchCriteria({ birthDate: '1990/2/30', phone: '12-3', address: '東' }).problems.map((p) => p.field)).toEqual(['birthDate', 'phone', 'address']);
    expect(searchCriteria({ name: 'x'.repeat(101) }).problems.map((p) => p.field)).toEqual(['name']);
    expect(searchCriteria({ name: 'a\u0000b' }).problems.map((p) => p.field)).toEqual(['name']);
    expect(searchCriteria({ name: ['a', 'b'] }).problems.map((p) => p.field)).toEqual(['name']);
  });
});
