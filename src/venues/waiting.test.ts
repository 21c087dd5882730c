import { waitingEstimate } from './waiting.js';

const at = (hhmm: string) => new Date(`2026-12-01T${hhmm}:00+09:00`);

describe('waitingEstimate', () => {
  it('counts checked-in, unserved residents ahead in order of arrival, times the minutes per resident', () => {
    const w = waitingEstimate(
      [
        { cardId: 'C', arrivedAt: at('09:10'), served: false },
        { cardId: 'A', arrivedAt: at('09:00'), served: true },
        { cardId: 'B', arrivedAt: at('09:05'), served: false },
        { cardId: 'D', arrivedAt: null, served: false },
      ],
      6,
    );
    expect(w.waiting).toBe(2);
    expect(w.nextMinutes).toBe(12);
    expect(w.byCard.get('B')).toEqual({ ahead: 0, minutes: 0 });
    expect(w.byCard.get('C')).toEqual({ ahead: 1, minutes: 6 });
    expect(w.byCard.has('A')).toBe(false);
    expect(w.byCard.has('D')).toBe(false);
  });

  it('is zero when nobody waits', () => {
    expect(waitingEstimate([], 5)).toMatchObject({ waiting: 0, nextMinutes: 0 });
  });
});
