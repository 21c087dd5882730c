/**
 * The card activities, built from their dependencies (`createCardActivities(deps)`), so that the
 * worker and the tests wire the same code to a real database.
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import { type Booking, type CardEvent, type CardSnapshot, apply } from '../workflows/card-state-machine.js';
import type { CardActivities, ClaimBookingInput, ProjectCardInput, ReportStuckInput, ReserveCardInput } from './card.activities.js';
import { assignBookingNumber, type SqlRunner } from '../src/booking/booking-number.js';
import { PreparedSql } from '../src/database/prepared.js';
import { NUMBERED_ONCE_MIGRATED, cardValues, eventValues, insertEventsSql, plainMigratedProjection, upsertCardSql } from '../src/cards/card-projection-sql.js';

/** What happens to a booking when the card lets go of it, by the action that did so. */
const RELEASED_AS: Record<string, string> = {
  cancel_reservation: 'cancelled',
  confirm_no_show: 'no_show',
  mark_documents_missing: 'documents_missing',
  issue: 'used',
};

/** Events after which a pickup card holds its booking number: its notice is being prepared (or it is booked). */
const NUMBERED_BY = new Set(['receive_at_venue', 'mail_notice', 'mail_renotice', 'reserve']);

/** The failure type of a claim on a slot without a free place: not retried, the API answers 409 SLOT_FULL. */
export const SLOT_FULL = 'SLOT_FULL';

/**
 * Releases the card's active booking (status `as`) and gives its place back to the slot, in the
 * caller's transaction. Answers how many bookings it released (0 or 1: one active booking per card).
 */
async function releaseActive(tx: SqlRunner, cardId: string, as: string): Promise<number> {
  const released = await tx.execute<{ n: string }[]>(
    `with released as (update booking set status = ?, released_at = now() where card_id = ? and status = 'booked' returning venue_id, starts_at),
          given as (${GIVE_BACK} returning 1)
     select count(*) as n from released`,
    [as, cardId],
  );
  return Number(released[0]?.n ?? 0);
}

/**
 * Gives each booking of the `released` clause its slot's place back (one statement with the
 * release), counted per slot: an UPDATE … FROM changes a row once however many rows it joins.
 */
const GIVE_BACK = `update slot s set booked = greatest(s.booked - r.n, 0), updated_at = now()
  from (select venue_id, starts_at, count(*) as n from released group by venue_id, starts_at) r where s.venue_id = r.venue_id and s.starts_at = r.starts_at`;

/** Releases one booking row (as `status`) and gives its slot's place back, in one statement. */
async function releaseRow(tx: SqlRunner, id: string, status: string): Promise<void> {
  await tx.execute(
    `with released as (update booking set status = ?, released_at = now() where id = ? returning venue_id, starts_at) ${GIVE_BACK}`,
    [status, id],
  );
}

/** A booking of the card that holds a place: `booked`, or `changing` while a change is recorded. */
type OpenBooking = { id: string; status: string; venue_id: string; starts_at: Date };

/** All is in order when the card's open bookings are none, or the one `booked` row it holds. */
const inOrder = (card: CardSnapshot, rows: OpenBooking[]) => rows.length === 0 || (rows.length === 1 && rows[0].status === 'booked' && holds(card, rows[0]));

/**
 * Makes the booking table say what the card says, in the projection's transaction: the booking the
 * card holds is the one `booked` row; a booking a change replaced (`changing`, its place still held)
 * is released once the change is recorded, or becomes `booked` again if the change was not recorded
 * (the card still holds it), and then the claim that change made is voided. One query when nothing
 * is to do.
 */
async function reconcileBookings(tx: SqlRunner, card: CardSnapshot, read?: OpenBooking[]): Promise<void> {
  const rows =
    read ??
    (await tx.execute<OpenBooking[]>(`select id, status, venue_id, starts_at from booking where card_id = ? and status in ('booked', 'changing') order by id`, [card.cardId]));
  if (inOrder(card, rows)) return;
  const kept = card.booking ? (rows.find((r) => r.status === 'booked' && holds(card, r)) ?? rows.find((r) => holds(card, r))) : undefined;
  for (const r of rows) {
    if (r !== kept) await releaseRow(tx, r.id, r.status === 'changing' ? 'changed' : 'void');
  }
  if (kept && kept.status !== 'booked') await tx.execute(`update booking set status = 'booked', released_at = null where id = ?`, [kept.id]);
}

const holds = (card: CardSnapshot, r: { venue_id: string; starts_at: Date }) =>
  card.booking !== undefined && card.booking.venueId === r.venue_id && Date.parse(card.booking.startsAt) === new Date(r.starts_at).getTime();

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
    // The activity's own refusals (a full slot) go through as they are.
    if (e instanceof ApplicationFailure) throw e;
    const state = sqlState(e);
    if (state && REFUSED_CLASSES.includes(state.slice(0, 2))) {
      throw ApplicationFailure.create({ type: 'DATA_REFUSED', message: `PostgreSQL refused the ${what} (SQLSTATE ${state})`, nonRetryable: true });
    }
    throw ApplicationFailure.create({ type: 'DATABASE_ERROR', message: `the ${what} failed${state ? ` (SQLSTATE ${state})` : ''}` });
  }
}


type BookingRow = { booking_number: string; venue_id: string; starts_at: Date; ends_at: Date };
const bookingView = (r: BookingRow): Booking => ({
  bookingNumber: r.booking_number,
  venueId: r.venue_id,
  startsAt: new Date(r.starts_at).toISOString(),
  endsAt: new Date(r.ends_at).toISOString(),
});

/**
 * Claims a place in the slot for the card, in the caller's transaction; idempotent on the request
 * id. Two statements in the usual case (one when the request's booking exists already).
 * `lockBoth` (a reservation that records its change in the same transaction, `reserveCard`): the
 * slot claimed and the one the card holds are locked first, in one order, so that two changes
 * crossing between the same slots wait for each other instead of deadlocking (PostgreSQL would end
 * one after its deadlock_timeout of a second; bench:booking counted 11 in 3,400 attempts).
 */
async function claimIn(tx: SqlRunner, input: ClaimBookingInput, opts: { lockBoth?: boolean } = {}): Promise<Booking & { fresh: boolean }> {
  // Idempotent on the request: a retried claim answers the booking it made while that booking is
  // still the card's (or stepping aside for it). A booking of this request that was let go (voided,
  // or replaced by a later change) belongs to a change that was never recorded: its workflow task
  // was lost (a timeout under load) and the update delivered again later, after other changes. It
  // keeps its row under another request id (`renamed`; the query reads the rows as they were before
  // the statement, so it sees only the open ones), and the request claims afresh: answering it would
  // give the card a booking that holds no place. The locks' clause is read by the query's outer
  // side, so it always runs (a CTE that only reads runs when it is read).
  const lock = opts.lockBoth
    ? `locked as (select 1 from slot where (venue_id, starts_at) in (select ?::text, ?::timestamptz union all select venue_id, starts_at from booking where card_id = ? and status = 'booked')
         order by venue_id, starts_at for update),`
    : '';
  const before = await tx.execute<Partial<BookingRow>[]>(
    `with ${lock}
       renamed as (update booking set request_id = left(request_id, 170) || '#' || id where request_id = ? and status not in ('booked', 'changing') returning 1)
     select b.booking_number, b.venue_id, b.starts_at, b.ends_at
       from ${opts.lockBoth ? '(select count(*) from locked)' : '(select 1)'} l left join booking b on b.request_id = ? and b.status in ('booked', 'changing')`,
    [...(opts.lockBoth ? [input.venueId, input.startsAt, input.cardId] : []), input.requestId, input.requestId],
  );
  if (before[0]?.booking_number) return { ...bookingView(before[0] as BookingRow), fresh: false };
  // The claim itself: one conditional update, never check-then-insert. The row lock makes concurrent
  // claims on one slot wait for each other, and each sees the count the last left. Only when it
  // claims: the card's active booking (the one a change replaces, or one a claim left when its
  // change was not recorded) steps aside as `changing`, its place still held (the change's
  // projection releases it, or, if the change is not recorded, the card's next projection restores
  // it), and the booking is inserted under the card's booking number. The insert reads the count of
  // rows stepped aside, so it runs after them (the one-booked-row-per-card index sees them gone).
  const [claimed] = await tx.execute<({ claimed_ends_at: Date | null } & Partial<BookingRow>)[]>(
    `with claimed as (update slot set booked = booked + 1, updated_at = now()
                       where venue_id = ? and starts_at = ? and open and booked < capacity returning ends_at),
          aside as (update booking set status = 'changing' where card_id = ? and status = 'booked' and exists (select 1 from claimed) returning 1),
          inserted as (insert into booking (card_id, request_id, booking_number, venue_id, starts_at, ends_at)
                       select ?, ?, n.number, ?, ?, c.ends_at from claimed c, booking_number n, (select count(*) from aside) a where n.card_id = ?
                       returning booking_number, venue_id, starts_at, ends_at)
     select (select ends_at from claimed) as claimed_ends_at, i.booking_number, i.venue_id, i.starts_at, i.ends_at
       from (select 1) one left join inserted i on true`,
    [input.venueId, input.startsAt, input.cardId, input.cardId, input.requestId, input.venueId, input.startsAt, input.cardId],
  );
  if (!claimed?.claimed_ends_at) {
    throw ApplicationFailure.create({
      type: SLOT_FULL,
      message: `SLOT_FULL: the slot ${input.venueId} ${input.startsAt} has no free place (or is closed)`,
      nonRetryable: true,
      // An answer, not a fault: logged at debug level by the worker, not as a warning.
      category: ApplicationFailureCategory.BENIGN,
    });
  }
  if (claimed.booking_number) return { ...bookingView(claimed as BookingRow), fresh: true };
  // The card had no booking number yet (its first, drawn now): the booking is inserted with it.
  const number = await assignBookingNumber(tx, input.cardId);
  const row = await tx.execute<BookingRow[]>(
    `insert into booking (card_id, request_id, booking_number, venue_id, starts_at, ends_at)
     values (?, ?, ?, ?, ?, ?) returning booking_number, venue_id, starts_at, ends_at`,
    [input.cardId, input.requestId, number, input.venueId, input.startsAt, claimed.claimed_ends_at],
  );
  return { ...bookingView(row[0]), fresh: true };
}

/**
 * The card's row, its new events and the end of its `card_stuck` row as WITH clauses of one
 * statement, with their parameters: a statement is its own transaction (or part of the caller's),
 * and every data-modifying clause runs once and to completion, all or nothing, whether or not the
 * query reads it. The row's booking number is the card's stored one, else `bookingNumber`.
 */
function projectionClauses(card: CardSnapshot, events: CardEvent[], bookingNumber: string | null): { sql: string; params: unknown[] } {
  return {
    sql: `projected as (${upsertCardSql('coalesce((select number from booking_number where card_id = ?), ?)')} returning 1),
      ${events.length > 0 ? `recorded as (${insertEventsSql(events.length)} returning 1),` : ''}
      unstuck as (delete from card_stuck where card_id = ? returning 1)`,
    params: [...cardValues(card), card.cardId, bookingNumber, JSON.stringify(card), ...eventValues(card.cardId, events), card.cardId],
  };
}

/** A projection in a transaction of its own (or the caller's): number, row, events, released bookings, reconcile. */
async function projectInTransaction(tx: SqlRunner, card: CardSnapshot, events: CardEvent[], numbers: boolean): Promise<void> {
  // The card's booking number, from the moment its notice is prepared (kept through changes).
  if (numbers) await assignBookingNumber(tx, card.cardId);
  await tx.execute(upsertCardSql('coalesce((select number from booking_number where card_id = ?), ?)'), [
    ...cardValues(card),
    card.cardId,
    card.booking?.bookingNumber ?? null,
    JSON.stringify(card),
  ]);
  let recorded = new Set<number>();
  if (events.length > 0) {
    const inserted = await tx.execute<{ seq: number }[]>(`${insertEventsSql(events.length)} returning seq`, eventValues(card.cardId, events));
    recorded = new Set(inserted.map((r) => Number(r.seq)));
  }
  // A booking the card let go of (cancel, no-show, documents missing, issue, discard) is released
  // with its slot's place, once: only when its event is recorded now (a retry changes nothing).
  for (const e of events) {
    if (typeof e.data?.releasedBooking === 'string' && recorded.has(e.seq)) await releaseActive(tx, card.cardId, RELEASED_AS[e.type] ?? 'void');
  }
  // Only the card as it is now says which booking it holds: a late retry of an older projection
  // (its row update was refused above as older) must not void the booking a newer change made.
  if (card.route === 'pickup') {
    const [now] = await tx.execute<{ seq: number }[]>(`select seq from card where card_id = ? for update`, [card.cardId]);
    if (!now || Number(now.seq) <= card.seq) await reconcileBookings(tx, card);
  }
  // Recorded: the card is no longer stuck.
  await tx.execute(`delete from card_stuck where card_id = ?`, [card.cardId]);
}

/**
 * A reservation's projection, in the claim's transaction (its booking row written under the card's
 * number): the row, the events and `card_stuck` in one statement, and the bookings reconciled with
 * the card. After a fresh claim the card holds the booking just claimed, the one `booked` row (the
 * claim stepped every other aside), so the reconciliation is the release of the `changing` rows
 * (their places given back), in the same statement. As in the general path it runs unless a newer
 * state of the card is recorded (the row as it was before the statement: a late retry of an older
 * projection releases nothing, and the card's next projection reconciles). A claim answered from an
 * earlier attempt of the same request (`fresh` false: a local activity run again after its workflow
 * task was lost, possibly after other changes) is reconciled row by row (`reconcileBookings`).
 */
async function projectReserved(tx: SqlRunner, card: CardSnapshot, events: CardEvent[], fresh: boolean): Promise<void> {
  // Bookings let go by these events are released by the general path (never a reservation's own).
  if (events.some((e) => typeof e.data?.releasedBooking === 'string')) return projectInTransaction(tx, card, events, true);
  const row = projectionClauses(card, events, card.booking?.bookingNumber ?? null);
  if (fresh) {
    await tx.execute(
      `with ${row.sql},
          released as (update booking set status = 'changed', released_at = now()
                        where card_id = ? and status = 'changing' and not exists (select 1 from card where card_id = ? and seq > ?) returning venue_id, starts_at),
          given as (${GIVE_BACK} returning 1)
        select 1`,
      [...row.params, card.cardId, card.cardId, card.seq],
    );
    return;
  }
  const rows = await tx.execute<(Partial<OpenBooking> & { seq: number | null })[]>(
    `with ${row.sql}
      select (select seq from card where card_id = ?) as seq, b.id, b.status, b.venue_id, b.starts_at
        from (select 1) one left join booking b on b.card_id = ? and b.status in ('booked', 'changing') order by b.id`,
    [...row.params, card.cardId, card.cardId],
  );
  const recordedSeq = rows[0]?.seq;
  if (recordedSeq !== null && recordedSeq !== undefined && Number(recordedSeq) > card.seq) return;
  await reconcileBookings(tx, card, rows.filter((r): r is OpenBooking & { seq: number | null } => r.id !== null && r.id !== undefined));
}

export function createCardActivities(deps: { orm: MikroORM }): CardActivities {
  // Every statement of the card's read model runs as a named prepared statement (prepared.ts).
  const db = new PreparedSql(deps.orm.em);
  return {
    async projectCard({ card, events }: ProjectCardInput): Promise<void> {
      // A card's first projection (registration: its row and its `registered` event, nothing booked,
      // nothing to number) is one statement, one round trip (bench:cards: 0.53 against 0.97 ms a
      // card). Every later projection runs in a transaction with the booking rules. A migrated
      // card's first projection takes the same single statement when nothing is booked and no
      // number is to be drawn: its legacy number (stored before the start) is read in it.
      const registration = events.length > 0 && events.every((e) => e.type === 'registered');
      if (registration || plainMigratedProjection(card, events)) {
        const row = projectionClauses(card, events, registration ? (card.booking?.bookingNumber ?? null) : null);
        await refusing("card's projection", () => db.execute(`with ${row.sql} select 1`, row.params));
        return;
      }
      const numbers = card.route === 'pickup' && events.some((e) => NUMBERED_BY.has(e.type) || (e.type === 'migrated' && NUMBERED_ONCE_MIGRATED.has(card.state)));
      const releases = events.some((e) => typeof e.data?.releasedBooking === 'string');
      if (!numbers && !releases) {
        // Most actions (inspect, ship, hold, proposals, …) draw no number and release no booking: one
        // statement (bench:cards, issue 8 third pass: 7 round trips to 1 for an action's projection).
        // It also reads the card's open bookings; only when they are not in order (a rare repair,
        // see reconcileBookings) does the transaction below run, which repeats the row and the events
        // as no-ops, locks the card and reconciles.
        const row = projectionClauses(card, events, card.booking?.bookingNumber ?? null);
        const sql = `with ${row.sql}
          select id, status, venue_id, starts_at from booking where card_id = ? and status in ('booked', 'changing') order by id`;
        const params = [...row.params, card.cardId];
        const open = await refusing("card's projection", () => db.execute<OpenBooking[]>(sql, params));
        if (card.route !== 'pickup' || inOrder(card, open)) return;
      }
      await refusing("card's projection", () => db.transaction((tx) => projectInTransaction(tx, card, events, numbers)));
    },

    async reportStuck({ cardId, seq, error }: ReportStuckInput): Promise<void> {
      await db.execute(
        `insert into card_stuck (card_id, seq, error) values (?, ?, ?)
         on conflict (card_id) do update set seq = excluded.seq, error = excluded.error, failures = card_stuck.failures + 1, last_failed_at = now()`,
        [cardId, seq, error.slice(0, 500)],
      );
    },

    async claimBooking(input: ClaimBookingInput): Promise<Booking> {
      return refusing('booking', () =>
        db.transaction(async (tx) => {
          const claimed = await claimIn(tx, input);
          return { bookingNumber: claimed.bookingNumber, venueId: claimed.venueId, startsAt: claimed.startsAt, endsAt: claimed.endsAt };
        }),
      );
    },

    async reserveCard({ claim, card, request, now, unprojected }: ReserveCardInput): Promise<Booking> {
      return refusing('booking', () =>
        db.transaction(async (tx) => {
          // A change takes two slots' rows in this transaction (the place it claims, the one it
          // releases): claimIn locks both first, in one order.
          const { fresh, ...booking } = await claimIn(tx, claim, { lockBoth: true });
          // The workflow applies the same transition with the booking answered here (same card,
          // request and instant), so the row written is the state it takes.
          const t = apply(card, request, now, { booking });
          await projectReserved(tx, t.card, [...unprojected, ...t.events], fresh);
          return booking;
        }),
      );
    },
  };
}
