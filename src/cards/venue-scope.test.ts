import { VenueScope, assertVenueFilter } from './venue-scope.js';

describe('venue scope', () => {
  it('restricts venue staff to their venue, unless widened; everyone else sees every card', () => {
    expect(VenueScope.of({ id: '1', username: 'v', role: 'venue', venueId: 'oshima' }).sql('c.venue_id')).toEqual({ sql: 'c.venue_id = ?', params: ['oshima'] });
    expect(VenueScope.of({ id: '1', username: 'v', role: 'venue', venueId: 'oshima', allVenues: true }).restricted).toBe(false);
    // A venue user without a venue sees nothing rather than everything.
    expect(VenueScope.of({ id: '1', username: 'v', role: 'venue' }).allows(null)).toBe(false);
    for (const role of ['ward', 'office', 'callcenter', 'auditor'] as const) expect(VenueScope.of({ id: '1', username: 'u', role }).sql('venue_id')).toEqual({ sql: 'true', params: [] });
  });

  it('is made only from a user: an object of the same shape is not a scope', () => {
    const fake = { venueId: null, restricted: false, allows: () => true, sql: () => ({ sql: 'true', params: [] as unknown[] }) };
    // @ts-expect-error a scope is made only by VenueScope.of (tsc fails here if the type stops being nominal)
    const scope: VenueScope = fake;
    expect(scope instanceof VenueScope).toBe(false);
  });

  it("refuses a filter for another venue, in the reader's language", () => {
    const scope = VenueScope.of({ id: '1', username: 'v', role: 'venue', venueId: 'oshima' });
    expect(() => assertVenueFilter(scope, ['oshima'], 'en')).not.toThrow();
    expect(() => assertVenueFilter(scope, ['oshima', 'toyosu'], 'en')).toThrow('venue toyosu is not yours');
    expect(() => assertVenueFilter(scope, ['toyosu'], 'ja')).toThrow('会場「toyosu」はあなたの担当会場ではありません');
  });
});
