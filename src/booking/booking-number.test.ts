import { dammDigit, drawBookingNumber, looksMistyped, OUR_NUMBER } from './booking-number.js';

describe('booking numbers', () => {
  it('are ten digits whose Damm check digit holds', () => {
    for (let i = 0; i < 1000; i++) {
      const n = drawBookingNumber();
      expect(n).toMatch(OUR_NUMBER);
      expect(dammDigit(n)).toBe(0);
      expect(looksMistyped(n)).toBe(false);
    }
    // The published example: 572 has the check digit 4.
    expect(dammDigit('572')).toBe(4);
  });

  it('catch every single wrong digit and every swap of two neighbours before a lookup', () => {
    for (let k = 0; k < 200; k++) {
      const n = drawBookingNumber();
      for (let i = 0; i < n.length; i++) {
        for (let d = 0; d <= 9; d++) {
          if (String(d) === n[i]) continue;
          expect(looksMistyped(n.slice(0, i) + d + n.slice(i + 1))).toBe(true);
        }
        if (i + 1 < n.length && n[i] !== n[i + 1]) expect(looksMistyped(n.slice(0, i) + n[i + 1] + n[i] + n.slice(i + 2))).toBe(true);
      }
    }
  });

  it('do not judge numbers of other formats (the previous vendor\'s)', () => {
    expect(looksMistyped('10000001')).toBe(false);
    expect(looksMistyped('AB-123')).toBe(false);
  });
});
