/**
 * The cards a reader may see, derived from the user and required by every read of the card read
 * model (CardsRepository, ReportsRepository and the worklists through them): a new page cannot
 * forget the venue scope, because it cannot call a read without one. Only `VenueScope.of` makes one.
 */
import type { AuthUser } from '../auth/auth.types.js';
import { CardsErrorCode, CardsException } from './cards.exception.js';

/** Whether the user sees only their own venue's cards (venue staff, unless the ward widened them to all). */
export const ownVenueOnly = (user: AuthUser) => user.role === 'venue' && !user.allVenues;

export class VenueScope {
  /** A private member makes the type nominal: no object literal passes for a scope. */
  readonly #brand = 'VenueScope';

  private constructor(
    /** The one venue whose cards may be read; `null`: every card. */
    readonly venueId: string | null,
  ) {}

  static of(user: AuthUser): VenueScope {
    // A venue user without a venue sees nothing rather than everything.
    return new VenueScope(ownVenueOnly(user) ? (user.venueId ?? '-') : null);
  }

  get restricted(): boolean {
    return this.venueId !== null;
  }

  /** Whether a card of `venueId` is in scope. */
  allows(venueId: string | null): boolean {
    return this.venueId === null || this.venueId === venueId;
  }

  /** The SQL condition on a `venue_id` column, and its parameters, for a query's `where`. */
  sql(column: string): { sql: string; params: unknown[] } {
    void this.#brand;
    return this.venueId === null ? { sql: 'true', params: [] } : { sql: `${column} = ?`, params: [this.venueId] };
  }
}

/**
 * A venue filter naming a venue outside the scope is refused (403), never silently narrowed to the
 * user's own: the page says so in Japanese, the API in English.
 */
export function assertVenueFilter(scope: VenueScope, venues: readonly string[] | undefined, lang: 'en' | 'ja'): void {
  const foreign = (venues ?? []).filter((v) => !scope.allows(v));
  if (foreign.length === 0) return;
  const message =
    lang === 'ja'
      ? `会場「${foreign.join('、')}」はあなたの担当会場ではありません。担当会場のカードだけを検索できます。会場の絞り込みを外すか、担当会場を選んでください。`
      : `venue ${foreign.join(', ')} is not yours: you see only the cards of your own venue ${scope.venueId}`;
  throw new CardsException(CardsErrorCode.VENUE_NOT_YOURS, message, { venues: foreign, yourVenue: scope.venueId });
}
