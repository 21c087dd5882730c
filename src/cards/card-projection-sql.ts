/**
 * The card's read model as SQL: the card row's upsert and the events' insert, with their parameters.
 * Written once for the two writers of a card's rows: the workflow's projection activity
 * (`activities/create-card-activities.ts`), and the registration, which writes a new card's first
 * projection in its batch statement before it starts the card's workflow
 * (`CardsRepository.insertRegistrations`).
 */
import type { CardEvent, CardSnapshot } from '../../workflows/card-state-machine.js';

/**
 * States in which a card taken over from the previous vendor holds a booking number: the legacy one
 * it came with (stored before its workflow starts), else one of ours, drawn at its first projection.
 */
export const NUMBERED_ONCE_MIGRATED = new Set(['at_venue', 'notice_mailed', 'notice_returned', 'reserved', 'no_show', 'documents_missing', 'renotice_approved', 'renoticed', 'on_hold']);

/**
 * Whether a migrated card's first projection is plain: nothing booked, and no number to draw (its
 * legacy number, if it holds one, is stored before the start and read by the statement). Such a
 * projection is one statement, written by the import itself before the start (`projectedAt`) or
 * else by the workflow's activity; any other goes through the activity's transaction.
 */
export function plainMigratedProjection(card: CardSnapshot, events: readonly CardEvent[]): boolean {
  return (
    events[0]?.type === 'migrated' &&
    events[0].seq === 1 &&
    !card.booking &&
    (typeof events[0].data?.bookingNumber === 'string' || !(card.route === 'pickup' && NUMBERED_ONCE_MIGRATED.has(card.state)))
  );
}

export const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

/**
 * The card row's upsert; `bookingNumber` is the SQL that gives its booking number. The row only
 * moves forward: a late retry of an older projection changes nothing. Parameters: `cardValues`,
 * the booking number's, then the snapshot.
 */
export const upsertCardSql = (bookingNumber: string) =>
  `insert into card (card_id, route, state, seq, venue_id, late, proposal_kinds, received_at, notice_mailed_at,
     renoticed_at, issued_at, closed_at, expires_on, booking_number, snapshot, updated_at)
   values (?, ?, ?, ?, ?, ?, ?::text[], ?, ?, ?, ?, ?, ?, ${bookingNumber}, ?::jsonb, now())
   on conflict (card_id) do update set route = excluded.route, state = excluded.state, seq = excluded.seq,
     venue_id = excluded.venue_id, late = excluded.late, proposal_kinds = excluded.proposal_kinds,
     notice_mailed_at = excluded.notice_mailed_at, renoticed_at = excluded.renoticed_at,
     issued_at = excluded.issued_at, closed_at = excluded.closed_at, expires_on = excluded.expires_on,
     booking_number = excluded.booking_number, snapshot = excluded.snapshot, updated_at = now()
   where card.seq < excluded.seq`;

export const cardValues = (card: CardSnapshot): unknown[] => [
  card.cardId,
  card.route,
  card.state,
  card.seq,
  card.venueId ?? null,
  card.late,
  `{${card.proposals.map((p) => p.kind).join(',')}}`,
  iso(card.receivedAt),
  iso(card.noticeMailedAt),
  iso(card.renoticedAt),
  iso(card.issuedAt),
  iso(card.closedAt),
  card.expiresOn ?? null,
];

/** The events' insert, idempotent on (card, seq): retries and replays never duplicate. */
export const insertEventsSql = (n: number) =>
  `insert into card_event (card_id, seq, type, from_state, to_state, at, actor_user, actor_role, channel, reason, data)
   values ${Array.from({ length: n }, () => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb)').join(', ')} on conflict (card_id, seq) do nothing`;

export const eventValues = (cardId: string, events: CardEvent[]): unknown[] =>
  events.flatMap((e) => [cardId, e.seq, e.type, e.fromState, e.toState, iso(e.at), e.actor.userId, e.actor.role, e.actor.channel, e.reason ?? null, e.data ? JSON.stringify(e.data) : null]);
