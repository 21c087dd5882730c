import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';

/** Aggregates of the read model for the dashboard. */
@Injectable()
export class ReportsRepository {
  constructor(private readonly em: EntityManager) {}

  private run<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.em.fork().execute<T[]>(sql, params);
  }

  byState(venueId?: string) {
    return this.run<{ state: string; n: number }>(`select state, count(*)::int n from card ${venueId ? 'where venue_id = ?' : ''} group by state order by n desc`, venueId ? [venueId] : []);
  }

  byRoute(venueId?: string) {
    return this.run<{ route: string; n: number }>(`select route, count(*)::int n from card ${venueId ? 'where venue_id = ?' : ''} group by route order by n desc`, venueId ? [venueId] : []);
  }

  /** This week (from Monday, Asia/Tokyo) per venue: notices mailed, bookings held, issued. */
  thisWeekByVenue(weekStart: string) {
    return this.run<{ venue_id: string | null; mailed: number; reserved: number; issued: number }>(
      `select venue_id,
         count(*) filter (where notice_mailed_at >= ?)::int mailed,
         count(*) filter (where state = 'reserved')::int reserved,
         count(*) filter (where issued_at >= ?)::int issued
       from card where route = 'pickup' and (notice_mailed_at >= ? or state = 'reserved' or issued_at >= ?)
       group by venue_id order by venue_id nulls last`,
      [weekStart, weekStart, weekStart, weekStart],
    );
  }

  proposals(venueId?: string) {
    return this.run<{ kind: string; n: number }>(
      `select k as kind, count(*)::int n from card, unnest(proposal_kinds) k where proposal_kinds <> '{}' ${venueId ? 'and venue_id = ?' : ''} group by k order by k`,
      venueId ? [venueId] : [],
    );
  }

  lateCards(limit: number) {
    return this.run<{ card_id: string; state: string; received_at: Date; venue_id: string | null }>(
      `select card_id, state, received_at, venue_id from card where late order by received_at limit ?`,
      [limit],
    );
  }

  count(where: string, params: unknown[] = []) {
    return this.run<{ n: number }>(`select count(*)::int n from card where ${where}`, params).then((r) => r[0].n);
  }
}
