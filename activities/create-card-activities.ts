/**
 * The card activities, built from their dependencies (`createCardActivities(deps)`), so that the
 * worker and the tests wire the same code to a real database.
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import { ApplicationFailure } from '@temporalio/common';
import type { Booking } from '../workflows/card-state-machine.js';
import type { CardActivities, ClaimBookingInput, ProjectCardInput, ReportStuckInput } from './card.activities.js';

/** What happens to a booking when the card lets go of it, by the action that did so. */
const RELEASED_AS: Record<string, string> = {
  cancel_reservation: 'cancelled',
  confirm_no_show: 'no_show',
  mark_documents_missing: 'documents_missing',
  issue: 'used',
};

/**
 * SQL state classes of errors that no retry can cure, because the data itself is refused: data
 * exceptions (22: too long, NUL, bad date), integrity constraints (23), program limits (54).
 */
const REFUSED_CLASSES = ['22', '23', '54'];

/** The SQL state of a database error (MikroORM keeps the driver's `code`), if there is one. */
function sqlState(e: unknown): string | undefined {
  for (let x = e as { code?: unknown; sqlState?: unknown; cause?: unknown } | undefined, i = 0; x && i < 3; x = x.cause as typeof x, i++) {
    for (const v of [x.sqlState, x.code]) if (typeof v === 'string' && /^[0-9A-Z]{5}$/.test(v)) return v;
  }
  return undefined;
}

/**
 * Runs a write; a refusal the database will repeat becomes a non-retryable DATA_REFUSED failure.
 * The message names the SQL state only: the database's text may quote the refused values.
 */
async function refusing<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const state = sqlState(e);
    if (state && REFUSED_CLASSES.includes(state.slice(0, 2))) {
      throw ApplicationFailure.create({ type: 'DATA_REFUSED', message: `PostgreSQL refused the ${what} (SQLSTATE ${state})`, nonRetryable: true });
    }
    throw ApplicationFailure.create({ type: 'DATABASE_ERROR', message: `the ${what} failed${state ? ` (SQLSTATE ${state})` : ''}` });
  }
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

export function createCardActivities(deps: { orm: MikroORM }): CardActivities {
  return {
    async projectCard({ card, events }: ProjectCardInput): Promise<void> {
      // One statement, one round trip (a statement is its own transaction): every data-modifying
      // WITH clause runs once and to completion, all or nothing, whether or not the query reads it.
      const released = events.flatMap((e) => (typeof e.data?.releasedBooking === 'string' ? [[e.data.releasedBooking, RELEASED_AS[e.type] ?? 'void']] : []));
      const eventRows = events.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb)').join(', ');
      const sql = `with
          projected as (
            -- The row only moves forward: a late retry of an older projection changes nothing.
            insert into card (card_id, route, state, seq, venue_id, late, proposal_kinds, received_at, notice_mailed_at,
              renoticed_at, issued_at, closed_at, expires_on, booking_number, snapshot, updated_at)
            values (?, ?, ?, ?, ?, ?, ?::text[], ?, ?, ?, ?, ?, ?, ?, ?::jsonb, now())
            on conflict (card_id) do update set route = excluded.route, state = excluded.state, seq = excluded.seq,
              venue_id = excluded.venue_id, late = excluded.late, proposal_kinds = excluded.proposal_kinds,
              notice_mailed_at = excluded.notice_mailed_at, renoticed_at = excluded.renoticed_at,
              issued_at = excluded.issued_at, closed_at = excluded.closed_at, expires_on = excluded.expires_on,
              booking_number = excluded.booking_number, snapshot = excluded.snapshot, updated_at = now()
            where card.seq < excluded.seq
            returning 1)${
              events.length > 0
                ? `,
          recorded as (
            insert into card_event (card_id, seq, type, from_state, to_state, at, actor_user, actor_role, channel, reason, data)
            values ${eventRows} on conflict (card_id, seq) do nothing
            returning 1)`
                : ''
            }${
              released.length > 0
                ? `,
          released as (
            update booking set status = r.status
              from unnest(?::text[], ?::text[]) as r(booking_number, status)
             where booking.booking_number = r.booking_number and booking.status = 'booked'
            returning 1)`
                : ''
            },
          -- Recorded: the card is no longer stuck.
          unstuck as (delete from card_stuck where card_id = ? returning 1)
        select 1`;
      const params: unknown[] = [
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
        card.booking?.bookingNumber ?? null,
        JSON.stringify(card),
        ...events.flatMap((e) => [
          card.cardId,
          e.seq,
          e.type,
          e.fromState,
          e.toState,
          iso(e.at),
          e.actor.userId,
          e.actor.role,
          e.actor.channel,
          e.reason ?? null,
          e.data ? JSON.stringify(e.data) : null,
        ]),
        ...(released.length > 0 ? [`{${released.map(([n]) => n).join(',')}}`, `{${released.map(([, st]) => st).join(',')}}`] : []),
        card.cardId,
      ];
      await refusing("card's projection", () => deps.orm.em.fork().execute(sql, params));
    },

    async reportStuck({ cardId, seq, error }: ReportStuckInput): Promise<void> {
      await deps.orm.em.fork().execute(
        `insert into card_stuck (card_id, seq, error) values (?, ?, ?)
         on conflict (card_id) do update set seq = excluded.seq, error = excluded.error, failures = card_stuck.failures + 1, last_failed_at = now()`,
        [cardId, seq, error.slice(0, 500)],
      );
    },

    async claimBooking(input: ClaimBookingInput): Promise<Booking> {
      return refusing('booking', async () => {
        const em = deps.orm.em.fork();
        const inserted = await em.execute<{ booking_number: string; venue_id: string; starts_at: Date; ends_at: Date }[]>(
          `insert into booking (booking_number, card_id, request_id, venue_id, starts_at, ends_at)
           values (nextval('booking_number_seq')::text, ?, ?, ?, ?, ?)
           on conflict (request_id) do nothing
           returning booking_number, venue_id, starts_at, ends_at`,
          [input.cardId, input.requestId, input.venueId, input.startsAt, input.endsAt],
        );
        const row =
          inserted[0] ??
          (
            await em.execute<{ booking_number: string; venue_id: string; starts_at: Date; ends_at: Date }[]>(
              `select booking_number, venue_id, starts_at, ends_at from booking where request_id = ?`,
              [input.requestId],
            )
          )[0];
        return { bookingNumber: row.booking_number, venueId: row.venue_id, startsAt: new Date(row.starts_at).toISOString(), endsAt: new Date(row.ends_at).toISOString() };
      });
    },
  };
}
