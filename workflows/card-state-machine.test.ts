import {
  ACTIONS,
  ACTION_DEFINITIONS,
  type ActorRole,
  type CardAction,
  type CardSnapshot,
  type CardStateName,
  ROUTES,
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
 * for each action, every state it may start from (R-1 .. R-7).
 */
const ALLOWED_FROM: Record<CardAction, CardStateName[]> = {
  inspect: ['received'],
  ship_to_venue: ['inspected'],
  receive_at_venue: ['shipped_to_venue'],
  // Again: a reissued notice, or a returned one to a corrected address.
  mail_notice: ['at_venue', 'notice_mailed', 'notice_returned'],
  record_return: ['notice_mailed', 'renoticed'],
  record_reissue_request: ['notice_mailed', 'notice_returned', 'renoticed', 'no_show'],
  // From reserved: a change of booking (another slot or venue), the same booking number.
  reserve: ['at_venue', ...PICKUP_WAITING, 'reserved'],
  cancel_reservation: ['reserved'],
  issue: ['reserved', ...PICKUP_WAITING],
  mark_documents_missing: ['reserved', ...PICKUP_WAITING.filter((s) => s !== 'documents_missing')],
  confirm_no_show: ['reserved'],
  pull_out: OPEN.filter((s) => s !== 'on_hold'),
  release_hold: ['on_hold'],
  mark_removed: OPEN.filter((s) => s !== 'removed'),
  approve_renotice: ['notice_mailed', 'notice_returned', 'no_show', 'documents_missing'],
  mail_renotice: ['renotice_approved'],
  propose_discard: OPEN,
  approve_discard: OPEN,
  approve_expiry: OPEN,
  reject_proposal: OPEN,
  hand_to_ward: ['inspected'],
  record_ward_mailing: ['handed_to_ward'],
  record_jlis_mailing: ['received'],
  record_delivery: ['mailed_by_ward', 'mailed_by_jlis'],
};

const ALL: Route[] = ['pickup', 'counter', 'outreach', 'express', 'other'];
const WARD_MAILED: Route[] = ['counter', 'outreach', 'other'];

/** The routes each action applies to, by hand (R-1.1 pickup, R-1.2 ward-mailed, R-1.3 express). */
const ROUTES_OF: Record<CardAction, Route[]> = {
  inspect: ['pickup', ...WARD_MAILED],
  ship_to_venue: ['pickup'],
  receive_at_venue: ['pickup'],
  mail_notice: ['pickup'],
  record_return: ['pickup'],
  record_reissue_request: ['pickup'],
  reserve: ['pickup'],
  cancel_reservation: ['pickup'],
  issue: ['pickup'],
  mark_documents_missing: ['pickup'],
  confirm_no_show: ['pickup'],
  pull_out: ALL,
  release_hold: ALL,
  mark_removed: ALL,
  approve_renotice: ['pickup'],
  mail_renotice: ['pickup'],
  propose_discard: ALL,
  approve_discard: ALL,
  approve_expiry: ALL,
  reject_proposal: ALL,
  hand_to_ward: WARD_MAILED,
  record_ward_mailing: WARD_MAILED,
  record_jlis_mailing: ['express'],
  record_delivery: [...WARD_MAILED, 'express'],
};

/** Who may take each action, by hand (the access-control list of the specification). */
const ROLES: Record<CardAction, ActorRole[]> = {
  inspect: ['office'],
  ship_to_venue: ['office'],
  receive_at_venue: ['venue', 'office'],
  mail_notice: ['office'],
  record_return: ['office'],
  record_reissue_request: ['callcenter', 'ward'],
  reserve: ['callcenter', 'venue', 'ward', 'resident'],
  cancel_reservation: ['callcenter', 'venue', 'ward', 'resident'],
  issue: ['venue'],
  mark_documents_missing: ['venue'],
  confirm_no_show: ['venue', 'callcenter', 'ward'],
  pull_out: ['ward', 'office'],
  release_hold: ['ward', 'office'],
  mark_removed: ['ward'],
  approve_renotice: ['ward'],
  mail_renotice: ['office'],
  // The system: a re-notice batch leaving out an expired card.
  propose_discard: ['ward', 'system'],
  approve_discard: ['ward'],
  approve_expiry: ['ward'],
  reject_proposal: ['ward'],
  hand_to_ward: ['office'],
  record_ward_mailing: ['ward', 'office'],
  record_jlis_mailing: ['ward', 'office'],
  record_delivery: ['ward', 'office'],
};
const ACTOR_ROLES: ActorRole[] = ['ward', 'office', 'callcenter', 'venue', 'resident', 'system'];

/** Where each action leads, by hand: `same` stays in its state; `heldFrom` / `bookedFrom` return. */
const TARGET: Record<CardAction, CardStateName | 'same' | 'heldFrom' | 'bookedFrom'> = {
  inspect: 'inspected',
  ship_to_venue: 'shipped_to_venue',
  receive_at_venue: 'at_venue',
  mail_notice: 'notice_mailed',
  record_return: 'notice_returned',
  record_reissue_request: 'same',
  reserve: 'reserved',
  cancel_reservation: 'bookedFrom',
  issue: 'issued',
  mark_documents_missing: 'documents_missing',
  confirm_no_show: 'no_show',
  pull_out: 'on_hold',
  release_hold: 'heldFrom',
  mark_removed: 'removed',
  approve_renotice: 'renotice_approved',
  mail_renotice: 'renoticed',
  propose_discard: 'same',
  approve_discard: 'discarded',
  approve_expiry: 'expired',
  reject_proposal: 'same',
  hand_to_ward: 'handed_to_ward',
  record_ward_mailing: 'mailed_by_ward',
  record_jlis_mailing: 'mailed_by_jlis',
  record_delivery: 'delivered',
};
/** The states a held or booked card returns to in these tests. */
const HELD_FROM: CardStateName = 'at_venue';
const BOOKED_FROM: CardStateName = 'renoticed';

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
    heldFrom: state === 'on_hold' ? HELD_FROM : undefined,
    bookedFrom: state === 'reserved' ? BOOKED_FROM : undefined,
    ...extra,
  };
}

/** A request that satisfies everything but the state: an allowed role, a reason, valid data. */
function request(action: CardAction) {
  const role = ROLES[action][0];
  const data: Record<string, unknown> =
    action === 'reserve'
      ? { startsAt: '2026-11-30T09:00:00+09:00', endsAt: '2026-11-30T09:30:00+09:00' }
      : action === 'reject_proposal'
        ? { kind: 'discard' }
        : {};
  return { action, role, reason: 'ward instruction', data };
}

describe('card state machine: every (state, action, route)', () => {
  const rows = ACTIONS.flatMap((action) => ALL.map((route) => [action, route] as const));

  it.each(rows)('%s on a %s card, from every state', (action, route) => {
    const kind = NEEDS_PROPOSAL[action];
    for (const state of STATES) {
      const snapshot = card(state, route, kind ? { proposals: [{ kind, openedAt: NOW, reason: 'timer' }] } : {});
      const rejection = check(snapshot, request(action), NOW);
      if (!ROUTES_OF[action].includes(route)) {
        expect({ state, rejection }).toEqual({ state, rejection: { code: 'ILLEGAL_TRANSITION', message: expect.stringContaining(`(${route}) cards`) } });
      } else if (ALLOWED_FROM[action].includes(state)) {
        expect({ state, rejection }).toEqual({ state, rejection: undefined });
        const t = apply(snapshot, { ...request(action), actor: { ...OFFICE, role: request(action).role } }, NOW);
        const target = TARGET[action];
        const to = target === 'same' ? state : target === 'heldFrom' ? HELD_FROM : target === 'bookedFrom' ? BOOKED_FROM : target;
        expect({ state, card: t.card.state, event: t.events[0] }).toEqual({
          state,
          card: to,
          event: expect.objectContaining({ seq: snapshot.seq + 1, type: action, fromState: state, toState: to }),
        });
      } else {
        expect({ state, rejection }).toEqual({ state, rejection: { code: 'ILLEGAL_TRANSITION', message: expect.stringContaining(state) } });
      }
    }
  });

  it('covers every action and route of the machine in the hand-written tables', () => {
    expect(Object.keys(ROUTES_OF).sort()).toEqual([...ACTIONS].sort());
    expect([...new Set(Object.values(ROUTES_OF).flat())].sort()).toEqual([...ROUTES].sort());
    expect([...new Set(Object.values(ALLOWED_FROM).flat())].sort()).toEqual(STATES.filter((s) => !['issued', 'discarded', 'delivered'].includes(s)).sort());
  });
});

describe('card state machine: roles, from the hand-written table', () => {
  it.each([...ACTIONS])('%s is allowed to exactly its roles', (action) => {
    const route = ROUTES_OF[action][0];
    const kind = NEEDS_PROPOSAL[action];
    const snapshot = card(ALLOWED_FROM[action][0], route, kind ? { proposals: [{ kind, openedAt: NOW, reason: 'timer' }] } : {});
    for (const role of ACTOR_ROLES) {
      const rejection = check(snapshot, { ...request(action), role }, NOW);
      expect({ role, code: rejection?.code }).toEqual({ role, code: ROLES[action].includes(role) ? undefined : 'ROLE_NOT_ALLOWED' });
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
    const [route, from] = [ROUTES_OF[action][0], ALLOWED_FROM[action]];
    const kind = NEEDS_PROPOSAL[action];
    const snapshot = card(from[0], route, kind ? { proposals: [{ kind, openedAt: NOW, reason: 'timer' }] } : {});
    for (const role of allowed) expect(check(snapshot, { ...request(action), role }, NOW)).toBeUndefined();
    for (const role of refused) expect(check(snapshot, { ...request(action), role }, NOW)?.code).toBe('ROLE_NOT_ALLOWED');
  });

  it('requires a reason where the action records one', () => {
    for (const action of ['pull_out', 'mark_removed', 'record_return', 'mark_documents_missing', 'reject_proposal'] as const) {
      const [route, from] = [ROUTES_OF[action][0], ALLOWED_FROM[action]];
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
    // Another venue than the card's is a booking there: the card moves (the API opens a transfer task).
    expect(check(c, { ...request('reserve'), data: { ...request('reserve').data, venueId: 'toyosu' } }, NOW)).toBeUndefined();
  });

  it('checks each action\'s data by its schema: unknown keys, over-long or control-laden values are refused', () => {
    const refuse = (action: CardAction, state: CardStateName, extra: Record<string, unknown>) =>
      check(card(state, ROUTES_OF[action][0]), { ...request(action), ...extra }, NOW);
    expect(refuse('inspect', 'received', { data: { note: 'x' } })).toEqual({ code: 'INVALID_DATA', message: expect.stringMatching(/^data: /) });
    expect(refuse('ship_to_venue', 'inspected', { data: { venueId: 'v'.repeat(40) } })?.message).toMatch(/^data\.venueId: /);
    expect(refuse('ship_to_venue', 'inspected', { data: { venueId: 'kuya\u0000' } })?.message).toMatch(/^data\.venueId: /);
    expect(refuse('ship_to_venue', 'inspected', { data: { venueId: 'toyosu' } })).toBeUndefined();
    expect(refuse('pull_out', 'received', { reason: 'a\u0000b' })).toEqual({ code: 'INVALID_DATA', message: expect.stringMatching(/^reason: .*control/) });
    expect(refuse('pull_out', 'received', { reason: 'x'.repeat(2001) })?.message).toMatch(/^reason: /);
    expect(refuse('pull_out', 'received', { reason: '一行目\n二行目' })).toBeUndefined();
    expect(refuse('reserve', 'at_venue', { data: { startsAt: '0000-01-01T09:00:00Z', endsAt: '2026-11-30T09:30:00+09:00' } })?.message).toMatch(/^data\.startsAt: /);
  });

  it('builds an action\'s data schema once, on first read, and shares it between the actions that take the same data', () => {
    // Built lazily (a new card workflow checks no data), but still one object: the API's OpenAPI
    // document groups the actions by schema identity.
    expect(ACTION_DEFINITIONS.inspect.data).toBe(ACTION_DEFINITIONS.inspect.data);
    expect(ACTION_DEFINITIONS.inspect.data).toBe(ACTION_DEFINITIONS.issue.data);
    expect(ACTION_DEFINITIONS.reserve.edgeData).toBe(ACTION_DEFINITIONS.reserve.edgeData);
    expect(ACTION_DEFINITIONS.reserve.edgeData).not.toBe(ACTION_DEFINITIONS.reserve.data);
    expect(ACTION_DEFINITIONS.inspect.edgeData).toBeUndefined();
    expect(Object.keys(ACTION_DEFINITIONS.reserve)).toEqual(expect.arrayContaining(['data', 'edgeData']));
  });

  it('rejects a proposal kind that is not open, and one that is not a kind', () => {
    expect(check(card('notice_mailed'), { ...request('reject_proposal'), data: { kind: 'renotice' } }, NOW)?.message).toMatch(/no open renotice/);
    expect(check(card('notice_mailed'), { ...request('reject_proposal'), data: { kind: 'nope' } }, NOW)?.message).toMatch(/^data\.kind: .*renotice.*discard.*expiry.*no_show/);
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

  it('changes a booking: the state it was first booked from and the booking number are kept, a no-show proposal of the old slot is withdrawn', () => {
    const first = { bookingNumber: '1234567890', venueId: 'kuyakusho', startsAt: '2026-11-30T00:00:00Z', endsAt: '2026-11-30T00:30:00Z' };
    const second = { ...first, venueId: 'toyosu', startsAt: '2026-12-01T00:00:00Z', endsAt: '2026-12-01T00:30:00Z' };
    const callcenter = { ...OFFICE, role: 'callcenter' as const };
    const reserved = apply(card('no_show'), { ...request('reserve'), actor: callcenter }, NOW, { booking: first }).card;
    const missed = { ...reserved, proposals: [{ kind: 'no_show' as const, openedAt: NOW, reason: 'timer' }] };
    const changed = apply(missed, { ...request('reserve'), actor: callcenter }, NOW, { booking: second });
    expect(changed.card).toMatchObject({ state: 'reserved', bookedFrom: 'no_show', booking: second, venueId: 'toyosu', proposals: [] });
    expect(changed.events.map((e) => [e.type, e.fromState, e.toState])).toEqual([
      ['reserve', 'reserved', 'reserved'],
      ['proposal_withdrawn', 'reserved', 'reserved'],
    ]);
    expect(changed.events[0].data).toMatchObject({ bookingNumber: '1234567890', changedFrom: { venueId: 'kuyakusho', startsAt: first.startsAt } });
    expect(changed.events[0].data).not.toHaveProperty('releasedBooking');
    expect(act(changed.card, 'cancel_reservation').card).toMatchObject({ state: 'no_show', booking: undefined });
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
