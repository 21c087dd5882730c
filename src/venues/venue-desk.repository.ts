/**
 * The venue's desk, read from the read model and the bookings: the day's bookings with check-in and
 * the waiting queue, the ward-approved unbooked residents, the fetch list and the
 * stock by state and storage place. Every read takes the reader's `VenueScope` and the venue
 * asked for: a venue outside the scope is refused (403), and the scope is applied in the SQL too.
 */
import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { addDays } from '../calendar/business-days.js';
import { CardsErrorCode, CardsException } from '../cards/cards.exception.js';
import type { VenueScope } from '../cards/venue-scope.js';
import type { CardStateName } from '../../workflows/card-state-machine.js';
import { VenuesErrorCode, VenuesException } from './venues.exception.js';

/** States in which a pickup card lies at its venue (on hold too, when it was held from one of them). */
export const KEPT_STATES: readonly CardStateName[] = ['at_venue', 'notice_mailed', 'notice_returned', 'reserved', 'no_show', 'documents_missing', 'renotice_approved', 'renoticed', 'removed'];
/** States after which a visitor has been served. */
const SERVED_STATES: readonly CardStateName[] = ['issued', 'documents_missing'];
/** Booking statuses shown on the day list (cancelled and void bookings are not). */
const DAY_STATUSES = ['booked', 'used', 'documents_missing', 'no_show'];

const start = (date: string) => `${date}T00:00:00+09:00`;

export interface DayBooking {
  cardId: string;
  bookingNumber: string | null;
  startsAt: Date;
  endsAt: Date;
  status: string;
  state: CardStateName;
  name: string;
  nameKana: string;
  arrivedAt: Date | null;
  servedAt: Date | null;
  served: boolean;
  place: string | null;
  /** The card is kept at this venue in a state where it can be handed over. */
  cardHere: boolean;
}

export interface UnbookedVisit {
  cardId: string;
  bookingNumber: string | null;
  state: CardStateName;
  name: string;
  nameKana: string;
  arrivedAt: Date;
  servedAt: Date | null;
  served: boolean;
  approvedBy: string;
  reason: string;
  recordedBy: string;
  place: string | null;
}

export interface FetchItem {
  kind: 'ward_approved' | 'booked';
  cardId: string;
  bookingNumber: string | null;
  startsAt: Date | null;
  state: CardStateName;
  place: string | null;
  cardHere: boolean;
}

type Row = Record<string, any>;

@Injectable()
export class VenueDeskRepository {
  constructor(private readonly em: EntityManager) {}

  /** Refuses a venue outside the reader's scope (403), in Japanese for the pages. */
  assertVenue(scope: VenueScope, venueId: string): void {
    if (!scope.allows(venueId)) {
      throw new CardsException(CardsErrorCode.VENUE_NOT_YOURS, `会場「${venueId}」はあなたの担当会場ではありません。担当会場のページだけを開けます。`, { venue: venueId, yourVenue: scope.venueId });
    }
  }

  private run<T = Row>(sql: string, params: unknown[]): Promise<T[]> {
    return this.em.fork().execute<T[]>(sql, params);
  }

  /** The day's bookings at the venue, by time; with the resident's name (the caller logs the read). */
  async dayBookings(scope: VenueScope, venueId: string, date: string): Promise<DayBooking[]> {
    this.assertVenue(scope, venueId);
    const v = scope.sql('b.venue_id');
    const rows = await this.run(
      `select b.card_id, coalesce(c.booking_number, b.booking_number) as booking_number, b.starts_at, b.ends_at, b.status, c.state, c.venue_id as card_venue,
              r.name, r.name_kana, vv.arrived_at, vv.served_at, s.place
         from booking b
         join card c on c.card_id = b.card_id
         join card_resident r on r.card_id = b.card_id
         left join venue_visit vv on vv.service_date = ?::date and vv.card_id = b.card_id
         left join card_storage s on s.card_id = b.card_id and s.venue_id = b.venue_id
        where b.venue_id = ? and b.starts_at >= ? and b.starts_at < ? and b.status in (${DAY_STATUSES.map(() => '?').join(', ')}) and ${v.sql}
        order by b.starts_at, b.card_id limit 2000`,
      [date, venueId, start(date), start(addDays(date, 1)), ...DAY_STATUSES, ...v.params],
    );
    return rows.map((r) => ({
      cardId: r.card_id,
      bookingNumber: r.booking_number,
      startsAt: new Date(r.starts_at),
      endsAt: new Date(r.ends_at),
      status: r.status,
      state: r.state,
      name: r.name,
      nameKana: r.name_kana,
      arrivedAt: r.arrived_at ? new Date(r.arrived_at) : null,
      servedAt: r.served_at ? new Date(r.served_at) : null,
      served: Boolean(r.served_at) || r.status !== 'booked' || SERVED_STATES.includes(r.state),
      place: r.place,
      cardHere: r.card_venue === venueId && r.state === 'reserved',
    }));
  }

  /** The ward-approved unbooked residents queued at the venue on the day, in order of arrival. */
  async unbooked(scope: VenueScope, venueId: string, date: string): Promise<UnbookedVisit[]> {
    this.assertVenue(scope, venueId);
    const v = scope.sql('vv.venue_id');
    const rows = await this.run(
      `select vv.card_id, c.booking_number, c.state, r.name, r.name_kana, vv.arrived_at, vv.served_at, vv.approved_by, vv.reason, vv.recorded_by, s.place
         from venue_visit vv
         join card c on c.card_id = vv.card_id
         join card_resident r on r.card_id = vv.card_id
         left join card_storage s on s.card_id = vv.card_id and s.venue_id = vv.venue_id
        where vv.venue_id = ? and vv.service_date = ?::date and vv.kind = 'ward_approved' and ${v.sql}
        order by vv.arrived_at, vv.card_id limit 500`,
      [venueId, date, ...v.params],
    );
    return rows.map((r) => ({
      cardId: r.card_id,
      bookingNumber: r.booking_number,
      state: r.state,
      name: r.name,
      nameKana: r.name_kana,
      arrivedAt: new Date(r.arrived_at),
      servedAt: r.served_at ? new Date(r.served_at) : null,
      served: Boolean(r.served_at) || SERVED_STATES.includes(r.state),
      approvedBy: r.approved_by,
      reason: r.reason,
      recordedBy: r.recorded_by,
      place: r.place,
    }));
  }

  /**
   * Checks in a resident who booked today at this venue: records the arrival once (a second
   * check-in keeps the first time). Refused when the card has no booking at the venue that day.
   */
  async checkIn(scope: VenueScope, venueId: string, date: string, cardId: string, userName: string): Promise<Date> {
    this.assertVenue(scope, venueId);
    const v = scope.sql('b.venue_id');
    const em = this.em.fork();
    const inserted = await em.execute<Row[]>(
      `insert into venue_visit (venue_id, service_date, card_id, kind, recorded_by)
       select b.venue_id, ?::date, b.card_id, 'booked', ? from booking b
        where b.card_id = ? and b.venue_id = ? and b.status = 'booked' and b.starts_at >= ? and b.starts_at < ? and ${v.sql}
        limit 1
       on conflict (service_date, card_id) do nothing returning arrived_at`,
      [date, userName, cardId, venueId, start(date), start(addDays(date, 1)), ...v.params],
    );
    if (inserted[0]) return new Date(inserted[0].arrived_at);
    const [existing] = await em.execute<Row[]>(`select arrived_at, kind from venue_visit where service_date = ?::date and card_id = ? and venue_id = ?`, [date, cardId, venueId]);
    if (existing) return new Date(existing.arrived_at);
    throw new VenuesException(VenuesErrorCode.NO_BOOKING_TODAY, `card ${cardId} has no booking at ${venueId} on ${date}`);
  }

  /** Queues a ward-approved unbooked resident (moving out, …); the card must be kept at this venue. */
  async queueUnbooked(scope: VenueScope, venueId: string, date: string, input: { cardId: string; approvedBy: string; reason: string }, userName: string): Promise<void> {
    this.assertVenue(scope, venueId);
    const v = scope.sql('c.venue_id');
    const [card] = await this.run(`select c.state, c.snapshot->>'heldFrom' as held_from from card c where c.card_id = ? and c.venue_id = ? and ${v.sql}`, [input.cardId, venueId, ...v.params]);
    if (!card || !KEPT_STATES.includes(card.state)) throw new VenuesException(VenuesErrorCode.CARD_NOT_HERE, `card ${input.cardId} is not kept at ${venueId}`);
    const inserted = await this.run(
      `insert into venue_visit (venue_id, service_date, card_id, kind, recorded_by, approved_by, reason)
       values (?, ?::date, ?, 'ward_approved', ?, ?, ?) on conflict (service_date, card_id) do nothing returning card_id`,
      [venueId, date, input.cardId, userName, input.approvedBy, input.reason],
    );
    if (!inserted[0]) throw new VenuesException(VenuesErrorCode.ALREADY_QUEUED, `card ${input.cardId} already has a visit on ${date}`);
  }

  /** Records that the day's visitor of this card has been served (issued, or sent home for documents). */
  async markServed(venueId: string, date: string, cardId: string): Promise<void> {
    await this.run(`update venue_visit set served_at = now() where service_date = ?::date and card_id = ? and venue_id = ? and served_at is null`, [date, cardId, venueId]);
  }

  /** A card found by its id or booking number, within the reader's scope, with the resident's name (the caller logs the read). */
  async findCard(scope: VenueScope, venueId: string, q: string): Promise<{ cardId: string; state: CardStateName; venueId: string | null; bookingNumber: string | null; name: string; nameKana: string } | undefined> {
    this.assertVenue(scope, venueId);
    const v = scope.sql('c.venue_id');
    const [r] = await this.run(
      `select c.card_id, c.state, c.venue_id, c.booking_number, r.name, r.name_kana from card c join card_resident r on r.card_id = c.card_id
        where (c.card_id = ? or c.booking_number = ?) and ${v.sql} order by (c.card_id = ?) desc limit 1`,
      [q, q, ...v.params, q],
    );
    return r ? { cardId: r.card_id, state: r.state, venueId: r.venue_id, bookingNumber: r.booking_number, name: r.name, nameKana: r.name_kana } : undefined;
  }

  /** Whether the card is kept at the venue (in scope): for setting its storage place. */
  async cardAtVenue(scope: VenueScope, venueId: string, cardId: string): Promise<boolean> {
    this.assertVenue(scope, venueId);
    const v = scope.sql('venue_id');
    const rows = await this.run(`select 1 from card where card_id = ? and venue_id = ? and ${v.sql}`, [cardId, venueId, ...v.params]);
    return rows.length > 0;
  }

  /**
   * The cards to bring from storage: the ward-approved residents waiting today first (fetched at
   * once), then today's and tomorrow's bookings by time; each with its storage place.
   */
  async fetchList(scope: VenueScope, venueId: string, date: string): Promise<FetchItem[]> {
    this.assertVenue(scope, venueId);
    const vv = scope.sql('vv.venue_id');
    const vb = scope.sql('b.venue_id');
    const rows = await this.run(
      `select * from (
         select 'ward_approved' as kind, 0 as ord, vv.card_id, c.booking_number, null::timestamptz as starts_at, c.state, c.venue_id as card_venue, s.place, vv.arrived_at as at
           from venue_visit vv join card c on c.card_id = vv.card_id
           left join card_storage s on s.card_id = vv.card_id and s.venue_id = vv.venue_id
          where vv.venue_id = ? and vv.service_date = ?::date and vv.kind = 'ward_approved' and vv.served_at is null and c.state not in ('issued', 'documents_missing') and ${vv.sql}
         union all
         select 'booked', 1, b.card_id, coalesce(c.booking_number, b.booking_number), b.starts_at, c.state, c.venue_id, s.place, b.starts_at
           from booking b join card c on c.card_id = b.card_id
           left join card_storage s on s.card_id = b.card_id and s.venue_id = b.venue_id
          where b.venue_id = ? and b.status = 'booked' and b.starts_at >= ? and b.starts_at < ? and ${vb.sql}
       ) f order by ord, at, card_id limit 2000`,
      [venueId, date, ...vv.params, venueId, start(date), start(addDays(date, 2)), ...vb.params],
    );
    return rows.map((r) => ({
      kind: r.kind,
      cardId: r.card_id,
      bookingNumber: r.booking_number,
      startsAt: r.starts_at ? new Date(r.starts_at) : null,
      state: r.state,
      place: r.place,
      cardHere: r.card_venue === venueId && KEPT_STATES.includes(r.state),
    }));
  }

  /** The stock at the venue: counts by state and by storage place (null: not set). */
  async stockCounts(scope: VenueScope, venueId: string): Promise<{ byState: { state: CardStateName; n: number }[]; byPlace: { place: string | null; n: number }[] }> {
    this.assertVenue(scope, venueId);
    const v = scope.sql('c.venue_id');
    const kept = this.keptSql();
    const byState = await this.run<{ state: CardStateName; n: number }>(
      `select c.state, count(*)::int n from card c where c.venue_id = ? and ${kept.sql} and ${v.sql} group by c.state order by c.state`,
      [venueId, ...kept.params, ...v.params],
    );
    const byPlace = await this.run<{ place: string | null; n: number }>(
      `select s.place, count(*)::int n from card c left join card_storage s on s.card_id = c.card_id and s.venue_id = c.venue_id
        where c.venue_id = ? and ${kept.sql} and ${v.sql} group by s.place order by s.place nulls first`,
      [venueId, ...kept.params, ...v.params],
    );
    return { byState, byPlace };
  }

  /** The cards kept at one storage place (null: those without one), by card id, at most `limit`. */
  async stockAt(scope: VenueScope, venueId: string, place: string | null, limit = 500): Promise<{ cardId: string; bookingNumber: string | null; state: CardStateName; updatedAt: Date | null }[]> {
    this.assertVenue(scope, venueId);
    const v = scope.sql('c.venue_id');
    const kept = this.keptSql();
    const rows = await this.run(
      `select c.card_id, c.booking_number, c.state, s.updated_at from card c left join card_storage s on s.card_id = c.card_id and s.venue_id = c.venue_id
        where c.venue_id = ? and ${kept.sql} and ${place === null ? 's.place is null' : 's.place = ?'} and ${v.sql}
        order by c.card_id limit ?`,
      [venueId, ...kept.params, ...(place === null ? [] : [place]), ...v.params, limit],
    );
    return rows.map((r) => ({ cardId: r.card_id, bookingNumber: r.booking_number, state: r.state, updatedAt: r.updated_at ? new Date(r.updated_at) : null }));
  }

  private keptSql(): { sql: string; params: unknown[] } {
    const list = KEPT_STATES.map(() => '?').join(', ');
    return { sql: `(c.state in (${list}) or (c.state = 'on_hold' and c.snapshot->>'heldFrom' in (${list})))`, params: [...KEPT_STATES, ...KEPT_STATES] };
  }
}
