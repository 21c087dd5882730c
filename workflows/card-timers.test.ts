import { type CardSnapshot, register } from './card-state-machine.js';
import { type CardPolicy, endOfTokyoDay, fireDueTimers, nextDeadline } from './card-timers.js';

const DAY = 86_400_000;
const T0 = Date.parse('2026-04-01T09:00:00+09:00');
const POLICY: CardPolicy = { noticeSlaMs: 14 * DAY, renoticeAfterMs: 90 * DAY, discardAfterRenoticeMs: 90 * DAY, noShowGraceMs: 2 * 3_600_000, closeAfterMs: DAY };
const SYSTEM = { userId: 'office', role: 'office' as const, channel: 'api' as const };

const fresh = (extra: Partial<CardSnapshot> = {}): CardSnapshot => ({
  ...register({ cardId: 'C1', route: 'pickup', venueId: 'toyosu', hasPhone: true }, SYSTEM, T0).card,
  ...extra,
});

describe('card timers', () => {
  it('flags a pickup card late 14 days after receipt while no notice is mailed (R-2.2)', () => {
    const c = fresh({ state: 'at_venue' });
    expect(nextDeadline(c, POLICY, T0)).toBe(T0 + 14 * DAY);
    expect(fireDueTimers(c, POLICY, T0 + 14 * DAY - 1).events).toEqual([]);
    const fired = fireDueTimers(c, POLICY, T0 + 14 * DAY);
    expect(fired.card).toMatchObject({ late: true, seq: 2, state: 'at_venue' });
    expect(fired.events).toMatchObject([{ seq: 2, type: 'sla_late', actor: { role: 'system' } }]);
    expect(nextDeadline(fired.card, POLICY, T0 + 14 * DAY)).toBeUndefined();
    // Not for routes the ward mails itself, nor once the notice is out.
    expect(nextDeadline(fresh({ route: 'counter', state: 'inspected' }), POLICY, T0)).toBeUndefined();
    expect(nextDeadline(fresh({ state: 'notice_mailed', noticeMailedAt: T0 }), POLICY, T0)).toBe(T0 + 90 * DAY);
  });

  it('proposes hand-back at the end of the last valid day in Tokyo (R-3.7), whatever the zone', () => {
    expect(new Date(endOfTokyoDay('2026-05-31')).toISOString()).toBe('2026-05-31T15:00:00.000Z');
    const c = fresh({ state: 'notice_mailed', noticeMailedAt: T0, expiresOn: '2026-05-31' });
    expect(nextDeadline(c, POLICY, T0)).toBe(Date.parse('2026-06-01T00:00:00+09:00'));
    const fired = fireDueTimers(c, POLICY, Date.parse('2026-06-01T00:00:00+09:00'));
    expect(fired.card.proposals.map((p) => p.kind)).toEqual(['expiry']);
    expect(fired.events[0]).toMatchObject({ type: 'proposal_opened', data: { kind: 'expiry' } });
  });

  it('proposes a re-notice after the set period, then a discard after the re-notice (R-6.1, R-6.4)', () => {
    const mailed = fresh({ state: 'notice_mailed', noticeMailedAt: T0 + DAY, late: false });
    const first = fireDueTimers(mailed, POLICY, T0 + 91 * DAY);
    expect(first.card.proposals.map((p) => p.kind)).toEqual(['renotice']);
    // Once open, it is not proposed twice.
    expect(fireDueTimers(first.card, POLICY, T0 + 200 * DAY).events).toEqual([]);
    const renoticed = { ...first.card, proposals: [], state: 'renoticed' as const, renoticedAt: T0 + 100 * DAY };
    expect(nextDeadline(renoticed, POLICY, T0 + 100 * DAY)).toBe(T0 + 190 * DAY);
    expect(fireDueTimers(renoticed, POLICY, T0 + 190 * DAY).card.proposals.map((p) => p.kind)).toEqual(['discard']);
  });

  it('proposes a discard at once for removed residents and expired cards (R-6.2)', () => {
    for (const state of ['removed', 'expired'] as const) {
      expect(fireDueTimers(fresh({ state }), POLICY, T0 + 1).card.proposals.map((p) => p.kind)).toEqual(['discard']);
    }
  });

  it('proposes a no-show after the slot plus the grace, and never again once rejected', () => {
    const booking = { bookingNumber: '1', venueId: 'toyosu', startsAt: '2026-04-10T09:00:00+09:00', endsAt: '2026-04-10T09:30:00+09:00' };
    const reserved = fresh({ state: 'reserved', noticeMailedAt: T0, booking });
    expect(nextDeadline(reserved, POLICY, T0)).toBe(Date.parse('2026-04-10T11:30:00+09:00'));
    // Rejected: no further deadline (a booked card is not due a re-notice either).
    expect(nextDeadline({ ...reserved, rejected: ['no_show'] }, POLICY, T0)).toBeUndefined();
  });

  it('does nothing for a finished card', () => {
    const issued = fresh({ state: 'issued', expiresOn: '2026-04-02' });
    expect(nextDeadline(issued, POLICY, T0)).toBeUndefined();
    expect(fireDueTimers(issued, POLICY, T0 + 400 * DAY).events).toEqual([]);
  });
});
