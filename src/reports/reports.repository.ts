import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import type { VenueScope } from '../cards/venue-scope.js';

/** Aggregates of the read model for the dashboard; every one within the reader's venue scope. */
@Injectable()
export class ReportsRepository {
  constructor(private readonly em: EntityManager) {}

  private run<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.em.fork().execute<T[]>(sql, params);
  }

  byState(scope: VenueScope) {
    const v = scope.sql('venue_id');
    return this.run<{ state: string; n: number }>(`select state, count(*)::int n from card where ${v.sql} group by state order by n desc`, v.params);
  }

  byRoute(scope: VenueScope) {
    const v = scope.sql('venue_id');
    return this.run<{ route: string; n: number }>(`select route, count(*)::int n from card where ${v.sql} group by route order by n desc`, v.params);
  }

  /** This week (from Monday, Asia/Tokyo) per venue: notices mailed, bookings held, issued. */
  thisWeekByVenue(scope: VenueScope, weekStart: string) {
    const v = scope.sql('venue_id');
    return this.run<{ venue_id: string | null; mailed: number; reserved: number; issued: number }>(
      `select venue_id,
         count(*) filter (where notice_mailed_at >= ?)::int mailed,
         count(*) filter (where state = 'reserved')::int reserved,
         count(*) filter (where issued_at >= ?)::int issued
       from card where route = 'pickup' and (notice_mailed_at >= ? or state = 'reserved' or issued_at >= ?) and ${v.sql}
       group by venue_id order by venue_id nulls last`,
      [weekStart, weekStart, weekStart, weekStart, ...v.params],
    );
  }

  proposals(scope: VenueScope) {
    const v = scope.sql('venue_id');
    return this.run<{ kind: string; n: number }>(
      `select k as kind, count(*)::int n from card, unnest(proposal_kinds) k where proposal_kinds <> '{}' and ${v.sql} group by k order by k`,
      v.params,
    );
  }

  lateCards(scope: VenueScope, limit: number) {
    const v = scope.sql('venue_id');
    return this.run<{ card_id: string; state: string; received_at: Date; venue_id: string | null }>(
      `select card_id, state, received_at, venue_id from card where late and ${v.sql} order by received_at limit ?`,
      [...v.params, limit],
    );
  }

  /** The dashboard's totals: late cards, returned notices, no-shows. */
  async totals(scope: VenueScope): Promise<{ late: number; returned: number; noShows: number }> {
    const v = scope.sql('venue_id');
    const [r] = await this.run<{ late: number; returned: number; no_shows: number }>(
      `select count(*) filter (where late)::int late, count(*) filter (where state = 'notice_returned')::int returned,
         count(*) filter (where state = 'no_show')::int no_shows from card where ${v.sql}`,
      v.params,
    );
    return { late: r.late, returned: r.returned, noShows: r.no_shows };
  }
}
