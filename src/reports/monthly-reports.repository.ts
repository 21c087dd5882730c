import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import type { VenueScope } from '../cards/venue-scope.js';
import { PRE_NOTICE_STATES, TERMINAL_STATES } from '../../workflows/card-state-machine.js';

/** A Tokyo calendar day of an instant column, as `YYYY-MM-DD`. */
const day = (column: string) => `to_char(${column} at time zone 'Asia/Tokyo', 'YYYY-MM-DD')`;
const list = (values: readonly string[]) => values.map((v) => `'${v.replace(/'/g, "''")}'`).join(', ');

export interface SlotDay {
  venue_id: string;
  day: string;
  slots: number;
  capacity: number;
  booked: number;
}
export interface EventCount {
  venue_id: string | null;
  route: string;
  type: string;
  day: string;
  n: number;
}
export interface OpenCardRow {
  card_id: string;
  route: string;
  state: string;
  venue_id: string | null;
  late: boolean;
  proposal_kinds: string[];
  received_at: Date | string;
  updated_at: Date | string;
  booking_number: string | null;
  starts_at: Date | string | null;
}

/**
 * The read model as the monthly reports need it: every figure is an
 * aggregate over [from, to) instants (a month, Asia/Tokyo), grouped by venue and Tokyo day. Events
 * count for the venue that holds the card now (`card.venue_id`).
 */
@Injectable()
export class MonthlyReportsRepository {
  constructor(private readonly em: EntityManager) {}

  private run<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.em.fork().execute<T[]>(sql, params);
  }

  /** Open slots per venue and day: how many, their capacity, and the places booked now. */
  slotDays(from: Date, to: Date): Promise<SlotDay[]> {
    return this.run(
      `select venue_id, ${day('starts_at')} as day, count(*)::int slots, coalesce(sum(capacity), 0)::int capacity, coalesce(sum(booked), 0)::int booked
       from slot where open and starts_at >= ? and starts_at < ? group by 1, 2`,
      [from, to],
    );
  }

  /** Bookings per venue and day that were not cancelled (booked, used, no-show …). */
  bookingDays(from: Date, to: Date): Promise<{ venue_id: string; day: string; n: number }[]> {
    return this.run(
      `select venue_id, ${day('starts_at')} as day, count(*)::int n from booking
       where starts_at >= ? and starts_at < ? and status not in ('cancelled', 'void') group by 1, 2`,
      [from, to],
    );
  }

  /** Card events per venue, route, type and day. */
  eventDays(from: Date, to: Date): Promise<EventCount[]> {
    return this.run(
      `select c.venue_id, c.route, e.type, ${day('e.at')} as day, count(*)::int n
       from card_event e join card c on c.card_id = e.card_id
       where e.at >= ? and e.at < ? group by 1, 2, 3, 4`,
      [from, to],
    );
  }

  /** Notices mailed in [from, to) per venue and route: how many within the SLA, how many late, the longest. */
  noticeSla(from: Date, to: Date, slaMs: number): Promise<{ venue_id: string | null; route: string; mailed: number; within_sla: number; over_sla: number; longest_ms: number }[]> {
    const elapsed = `(extract(epoch from notice_mailed_at - received_at) * 1000)`;
    return this.run(
      `select venue_id, route, count(*)::int mailed, count(*) filter (where ${elapsed} <= ?)::int as within_sla,
         count(*) filter (where ${elapsed} > ?)::int as over_sla, coalesce(max(${elapsed}), 0)::float8 longest_ms
       from card where notice_mailed_at >= ? and notice_mailed_at < ? group by 1, 2`,
      [slaMs, slaMs, from, to],
    );
  }

  /** Pickup cards whose notice was overdue at `at` and not mailed by then (nor the card closed). */
  overdueAt(at: Date, slaMs: number): Promise<{ venue_id: string | null; n: number }[]> {
    return this.run(
      `select venue_id, count(*)::int n from card
       where route = 'pickup' and received_at < ?::timestamptz - make_interval(secs => ? / 1000.0)
         and (notice_mailed_at is null or notice_mailed_at >= ?) and (closed_at is null or closed_at >= ?)
       group by 1`,
      [at, slaMs, at, at],
    );
  }

  /**
   * Notices that fall due (receipt + SLA) in [from, to) per venue and day, for cards not mailed
   * before `from`: the cards the plan expects to mail (a card mailed since still counts, so that the
   * results compare with the plan as it stood).
   */
  noticesDue(from: Date, to: Date, slaMs: number): Promise<{ venue_id: string | null; day: string; n: number }[]> {
    const due = `(received_at + make_interval(secs => ? / 1000.0))`;
    return this.run(
      `select venue_id, ${day(due)} as day, count(*)::int n from card
       where route = 'pickup' and ${due} >= ? and ${due} < ? and (notice_mailed_at is null or notice_mailed_at >= ?)
         and (notice_mailed_at is not null or state in (${list(PRE_NOTICE_STATES)}))
       group by 1, 2`,
      [slaMs, slaMs, from, slaMs, to, from],
    );
  }

  /** Open pickup cards per venue in a state: `renotice_approved` = re-notices waiting to be mailed. */
  openInState(state: string): Promise<{ venue_id: string | null; n: number }[]> {
    return this.run(`select venue_id, count(*)::int n from card where state = ? group by 1`, [state]);
  }

  /** Open cards in scope now per route, state and proposals held (the plan's table per route, the hand-over's summary). */
  openByRouteState(scope: VenueScope, venueId?: string): Promise<{ route: string; state: string; proposal_kinds: string[]; n: number }[]> {
    const v = scope.sql('venue_id');
    return this.run(
      `select route, state, proposal_kinds, count(*)::int n from card where state not in (${list(TERMINAL_STATES)}) and ${v.sql}${venueId ? ' and venue_id = ?' : ''}
       group by 1, 2, 3 order by 1, 2, 3`,
      [...v.params, ...(venueId ? [venueId] : [])],
    );
  }

  /**
   * Walk-ins per venue and service day in [fromDay, toDay): residents served without a booking made
   * beforehand, i.e. a ward-approved visit, or a visit whose booking was made that same day (the
   * walk-in page books today's slot and checks the resident in).
   */
  walkInDays(fromDay: string, toDay: string): Promise<{ venue_id: string; day: string; n: number; visits: number }[]> {
    return this.run(
      `select vv.venue_id, to_char(vv.service_date, 'YYYY-MM-DD') as day,
         count(*) filter (where vv.kind = 'ward_approved' or exists (
           select 1 from booking b where b.card_id = vv.card_id and b.venue_id = vv.venue_id
             and (b.starts_at at time zone 'Asia/Tokyo')::date = vv.service_date
             and (b.created_at at time zone 'Asia/Tokyo')::date = vv.service_date))::int n,
         count(*)::int visits
       from venue_visit vv where vv.service_date >= ?::date and vv.service_date < ?::date group by 1, 2`,
      [fromDay, toDay],
    );
  }

  /** Every open card in scope (the hand-over list), by venue, state and receipt. */
  openCards(scope: VenueScope, opts: { limit?: number; offset?: number; venueId?: string } = {}): Promise<OpenCardRow[]> {
    const { limit, offset, venueId } = opts;
    const v = scope.sql('c.venue_id');
    return this.run(
      `select c.card_id, c.route, c.state, c.venue_id, c.late, c.proposal_kinds, c.received_at, c.updated_at, c.booking_number, b.starts_at
       from card c left join booking b on b.booking_number = c.booking_number and b.status = 'booked'
       where c.state not in (${list(TERMINAL_STATES)}) and ${v.sql}${venueId ? ' and c.venue_id = ?' : ''}
       order by c.venue_id nulls last, c.route, c.state, c.received_at, c.card_id${limit ? ' limit ?' : ''}${offset ? ' offset ?' : ''}`,
      [...v.params, ...(venueId ? [venueId] : []), ...(limit ? [limit] : []), ...(offset ? [offset] : [])],
    );
  }

}
