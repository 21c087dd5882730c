import { containsMyNumber, findMyNumberField, isValidMyNumber } from './my-number.js';

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
    expect(containsMyNumber('3f2a9c1e-1234-5678-9018-0a1b2c3d4e5f')).toBe(false);
    expect(containsMyNumber('電話 03-3647-9111、〒135-0016')).toBe(false);
    // A longer digit run is not a 12-digit number.
    expect(containsMyNumber('1123456789018')).toBe(false);
  });

  it('names the field that holds one, at any depth', () => {
    expect(findMyNumberField({ cards: [{ resident: { name: 'a' } }, { resident: { address: '東陽 123456789018' } }] })).toBe('cards[1].resident.address');
    expect(findMyNumberField({ note: 123456789018 })).toBe('note');
    expect(findMyNumberField({ name: '江東 太郎', birthDate: '1980-04-01' })).toBeUndefined();
  });
});
