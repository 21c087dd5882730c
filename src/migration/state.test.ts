import { type CardMigrationInput, SYSTEM_EVENT_LABELS, migrate } from '../../workflows/card-state-machine.js';

describe('a migrated card\'s first snapshot', () => {
  const base: CardMigrationInput = {
    vendor: '旧システム株式会社',
    row: 7,
    oldStatus: '40',
    state: 'reserved',
    implies: ['inspect', 'mail_notice', 'reserve'],
    receivedAt: '2024-03-31T15:00:00.000Z',
    noticeMailedAt: '2024-04-09T15:00:00.000Z',
    booking: { bookingNumber: 'A123', venueId: 'toyosu', startsAt: '2030-01-10T01:00:00.000Z', endsAt: '2030-01-10T01:30:00.000Z' },
    oldDates: { receivedOn: '令和6年4月1日' },
  };

  it('is in its mapped state with a migrated event that keeps the old status and dates', () => {
    const t = migrate({ cardId: 'M1', route: 'pickup', venueId: 'kuyakusho', hasPhone: true }, base, { userId: 'office1', role: 'office', channel: 'migration' }, 1_000);
    expect(t.card).toMatchObject({ state: 'reserved', seq: 1, venueId: 'toyosu', bookedFrom: 'notice_mailed', booking: base.booking, receivedAt: Date.parse(base.receivedAt!), noticeMailedAt: Date.parse(base.noticeMailedAt!) });
    expect(t.events).toEqual([
      expect.objectContaining({
        seq: 1,
        type: 'migrated',
        toState: 'reserved',
        reason: 'migrated from 旧システム株式会社, row 7',
        data: expect.objectContaining({ oldStatus: '40', oldDates: { receivedOn: '令和6年4月1日' }, bookingNumber: 'A123' }),
      }),
    ]);
    expect(SYSTEM_EVENT_LABELS.migrated).toBe('前事業者からの移行');
  });

  it('closes a terminal card and keeps no booking outside reserved', () => {
    const t = migrate({ cardId: 'M2', route: 'pickup', hasPhone: false }, { ...base, state: 'issued', issuedAt: '2024-05-01T00:00:00.000Z' }, { userId: 'x', role: 'system', channel: 'migration' }, 5);
    expect(t.card).toMatchObject({ state: 'issued', issuedAt: Date.parse('2024-05-01T00:00:00.000Z'), closedAt: Date.parse('2024-05-01T00:00:00.000Z'), booking: undefined });
  });
});
