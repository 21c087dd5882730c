import {
  ACTIONS,
  ACTION_DEFINITIONS,
  type ActorRole,
  type CardAction,
  type CardSnapshot,
  type CardStateName,
  PROPOSAL_KINDS,
  type ProposalKind,
  type Route,
  STATES,
  apply,
  allowedActions,
  check,
  register,
} from './card-state-machine.js';

const NOW = Date.parse('2026-11-24T10:00:00+09:00');
const OFFICE = { userId: 'u-office', role: 'office' as const, channel: 'api' as const };

const PICKUP_WAITING: CardStateName[] = ['notice_mailed', 'notice_returned', 'no_show', 'documents_missing', 'renotice_approved', 'renoticed'];
const OPEN: CardStateName[] = STATES.filter((s) => !['issued', 'discarded', 'delivered'].includes(s));

/**
 * The specification of the machine, written out by hand (not derived from the definitions):
 * for each action, the route it is tried on and every state it may start from.
 */
const ALLOWED_FROM: Record<CardAction, { route: Route; from: CardStateName[] }> = {
  inspect: { route: 'pickup', from: ['received'] },
  ship_to_venue: { route: 'pickup', from: ['inspected'] },
  receive_at_venue: { route: 'pickup', from: ['shipped_to_venue'] },
  mail_notice: { route: 'pickup', from: ['at_venue'] },
  record_return: { route: 'pickup', from: ['notice_mailed', 'renoticed'] },
  record_reissue_request: { route: 'pickup', from: ['notice_mailed', 'notice_returned', 'renoticed', 'no_show'] },
  reserve: { route: 'pickup', from: ['at_venue', ...PICKUP_WAITING] },
  cancel_reservation: { route: 'pickup', from: ['reserved'] },
  issue: { route: 'pickup', from: ['reserved', ...PICKUP_WAITING] },
  mark_documents_missing: { route: 'pickup', from: ['reserved', ...PICKUP_WAITING.filter((s) => s !== 'documents_missing')] },
  confirm_no_show: { route: 'pickup', from: ['reserved'] },
  pull_out: { route: 'pickup', from: OPEN.filter((s) => s !== 'on_hold') },
  release_hold: { route: 'pickup', from: ['on_hold'] },
  mark_removed: { route: 'pickup', from: OPEN.filter((s) => s !== 'removed') },
  approve_renotice: { route: 'pickup', from: ['notice_mailed', 'notice_returned', 'no_show', 'documents_missing'] },
  mail_renotice: { route: 'pickup', from: ['renotice_approved'] },
  propose_discard: { route: 'pickup', from: OPEN },
  approve_discard: { route: 'pickup', from: OPEN },
  approve_expiry: { route: 'pickup', from: OPEN },
  reject_proposal: { route: 'pickup', from: OPEN },
  hand_to_ward: { route: 'counter', from: ['inspected'] },
  record_ward_mailing: { route: 'counter', from: ['handed_to_ward'] },
  record_jlis_mailing: { route: 'express', from: ['received'] },
  record_delivery: { route: 'express', from: ['mailed_by_ward', 'mailed_by_jlis'] },
};

/** Which proposal each action needs open, by hand. */
const NEEDS_PROPOSAL: Partial<Record<CardAction, ProposalKind>> = {
  confirm_no_show: 'no_show',
  approve_renotice: 'renotice',
  approve_discard: 'discard',
  approve_expiry: 'expiry',
  reject_proposal: 'discard',
};

function card(state: CardStateName, route: Route = 'pickup', extra: Partial<CardSnapshot> = {}): CardSnapshot {
  return {
    ...register({ cardId: 'C1', route, venueId: 'kuyakusho', hasPhone: true }, OFFICE, NOW - 86_400_000).card,
    state,
    ...extra,
  };
}

/** A request that satisfies everything but the state: an allowed role, a reason, valid data. */
function request(action: CardAction) {
  const role = ACTION_DEFINITIONS[action].roles[0];
  const data: Record<string, unknown> =
    action === 'reserve'
      ? { startsAt: '2026-11-30T09:00:00+09:00', endsAt: '2026-11-30T09:30:00+09:00' }
      : action === 'reject_proposal'
        ? { kind: 'discard' }
        : {};
  return { action, role, reason: 'ward instruction', data };
}

describe('card state machine: every (state, action) pair', () => {
  const rows = STATES.flatMap((state) => ACTIONS.map((action) => [state, action] as const));

  it.each(rows)('%s + %s', (state, action) => {
    const { route, from } = ALLOWED_FROM[action];
    const kind = NEEDS_PROPOSAL[action];
    const snapshot = card(state, route, kind ? { proposals: [{ kind, openedAt: NOW, reason: 'timer' }] } : {});
    const rejection = check(snapshot, request(action), NOW);
    if (from.includes(state)) {
      expect(rejection).toBeUndefined();
      const t = apply(snapshot, { ...request(action), actor: { ...OFFICE, role: request(action).role } }, NOW);
      expect(t.events[0]).toMatchObject({ seq: snapshot.seq + 1, type: action, fromState: state });
    } else {
      expect(rejection).toEqual({ code: 'ILLEGAL_TRANSITION', message: expect.stringContaining(state) });
    }
  });
});

describe('card state machine: routes, roles, reasons, proposals, data', () => {
  it('keeps routes apart: no notice actions on counter or express cards (R-1.2, R-1.3)', () => {
    expect(check(card('at_venue', 'counter'), request('mail_notice'), NOW)?.code).toBe('ILLEGAL_TRANSITION');
    expect(check(card('received', 'express'), request('inspect'), NOW)?.message).toMatch(/特急発行/);
    expect(check(card('inspected', 'pickup'), request('hand_to_ward'), NOW)?.code).toBe('ILLEGAL_TRANSITION');
  });

  const roleCases: [CardAction, ActorRole[], ActorRole[]][] = [
    ['issue', ['venue'], ['office', 'callcenter', 'ward', 'resident', 'system']],
    ['reserve', ['callcenter', 'venue', 'ward', 'resident'], ['office', 'system']],
    ['approve_discard', ['ward'], ['office', 'venue', 'callcenter', 'resident']],
    ['approve_renotice', ['ward'], ['office', 'venue', 'callcenter']],
    ['inspect', ['office'], ['ward', 'venue', 'callcenter', 'resident']],
    ['mark_removed', ['ward'], ['office', 'venue']],
  ];
  it.each(roleCases)('%s is allowed to %j and refused to %j', (action, allowed, refused) => {
    const { route, from } = ALLOWED_FROM[action];
    const kind = NEEDS_PROPOSAL[action];
    const snapshot = card(from[0], route, kind ? { proposals: [{ kind, openedAt: NOW, reason: 'timer' }] } : {});
    for (const role of allowed) expect(check(snapshot, { ...request(action), role }, NOW)).toBeUndefined();
    for (const role of refused) expect(check(snapshot, { ...request(action), role }, NOW)?.code).toBe('ROLE_NOT_ALLOWED');
  });

  it('requires a reason where the action records one', () => {
    for (const action of ['pull_out', 'mark_removed', 'record_return', 'mark_documents_missing', 'reject_proposal'] as const) {
      const { route, from } = ALLOWED_FROM[action];
      const snapshot = card(from[0], route, { proposals: [{ kind: 'discard', openedAt: NOW, reason: '' }] });
      expect(check(snapshot, { ...request(action), reason: '  ' }, NOW)?.code).toBe('REASON_REQUIRED');
    }
  });

  it('approves only what a timer (or the ward) proposed', () => {
    expect(check(card('notice_mailed'), { ...request('approve_renotice') }, NOW)).toEqual({
      code: 'ILLEGAL_TRANSITION',
      message: 'approve_renotice needs an open renotice proposal',
    });
    expect(check(card('removed'), request('approve_discard'), NOW)?.code).toBe('ILLEGAL_TRANSITION');
  });

  it('checks a booking slot', () => {
    const c = card('notice_mailed');
    const at = (startsAt: string, endsAt: string) => check(c, { ...request('reserve'), data: { startsAt, endsAt } }, NOW)?.message;
    expect(at('tomorrow', '2026-11-30T09:30:00+09:00')).toMatch(/data.startsAt/);
    expect(at('2026-11-30T10:00:00+09:00', '2026-11-30T09:30:00+09:00')).toMatch(/after data.startsAt/);
    expect(at('2026-11-20T09:00:00+09:00', '2026-11-20T09:30:00+09:00')).toMatch(/in the past/);
    expect(check(c, { ...request('reserve'), data: { ...request('reserve').data, venueId: 'toyosu' } }, NOW)?.message).toMatch(/kept at venue kuyakusho/);
  });

  it('rejects a proposal kind that is not open, and one that is not a kind', () => {
    expect(check(card('notice_mailed'), { ...request('reject_proposal'), data: { kind: 'renotice' } }, NOW)?.message).toMatch(/no open renotice/);
    expect(check(card('notice_mailed'), { ...request('reject_proposal'), data: { kind: 'nope' } }, NOW)?.message).toMatch(PROPOSAL_KINDS.join(', '));
  });
});

describe('card state machine: what transitions record', () => {
  const act = (c: CardSnapshot, action: CardAction, extra: Record<string, unknown> = {}) =>
    apply(c, { ...request(action), actor: { ...OFFICE, role: request(action).role }, ...extra }, NOW);

  it('returns a held card to the state it was pulled out of (R-3.6)', () => {
    const held = act(card('at_venue'), 'pull_out').card;
    expect(held).toMatchObject({ state: 'on_hold', heldFrom: 'at_venue' });
    expect(act(held, 'release_hold').card).toMatchObject({ state: 'at_venue', heldFrom: undefined });
  });

  it('returns a cancelled booking to the state it was booked from, and releases the booking', () => {
    const booking = { bookingNumber: '10000001', venueId: 'kuyakusho', startsAt: '2026-11-30T00:00:00Z', endsAt: '2026-11-30T00:30:00Z' };
    const reserved = apply(card('renoticed'), { ...request('reserve'), actor: { ...OFFICE, role: 'callcenter' } }, NOW, { booking }).card;
    expect(reserved).toMatchObject({ state: 'reserved', bookedFrom: 'renoticed', booking });
    const cancelled = act(reserved, 'cancel_reservation');
    expect(cancelled.card).toMatchObject({ state: 'renoticed', booking: undefined });
    expect(cancelled.events[0].data).toEqual({ releasedBooking: '10000001' });
  });

  it('withdraws proposals that the new state makes moot, each with its own event', () => {
    const c = card('notice_mailed', 'pickup', { seq: 5, proposals: [{ kind: 'renotice', openedAt: NOW, reason: 'timer' }] });
    const t = apply(c, { ...request('reserve'), actor: { ...OFFICE, role: 'callcenter' } }, NOW);
    expect(t.card.proposals).toEqual([]);
    expect(t.events.map((e) => [e.seq, e.type, e.data])).toEqual([
      [6, 'reserve', request('reserve').data],
      [7, 'proposal_withdrawn', { kind: 'renotice' }],
    ]);
    expect(t.card.seq).toBe(7);
  });

  it('lists the actions a role may take now', () => {
    expect(allowedActions(card('notice_mailed'), 'venue')).toEqual(['reserve', 'issue', 'mark_documents_missing']);
    expect(allowedActions(card('issued'), 'ward')).toEqual([]);
    expect(allowedActions(card('removed', 'pickup', { proposals: [{ kind: 'discard', openedAt: NOW, reason: '' }] }), 'ward')).toEqual([
      'pull_out',
      'approve_discard',
      'reject_proposal',
    ]);
  });
});
