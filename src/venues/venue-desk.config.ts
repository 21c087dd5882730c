/**
 * The venues' desk configuration (R-8.3: configuration, not code): how many minutes a counter
 * takes per resident, for the waiting estimate (R-5.4), by default and per venue. Read from
 * `venue-desk.json` in `WARD_CONFIG_DIR` (default `config/koto`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';

const minutes = z.number().int().min(1).max(120);
const deskSchema = z.object({ minutesPerResident: minutes, byVenue: z.record(z.string().regex(/^[a-z0-9_-]{1,30}$/), minutes).default({}) }).strict();

export interface VenueDeskConfig {
  /** Minutes a counter takes per resident at a venue. */
  minutesPerResident(venueId: string): number;
}

export const VENUE_DESK_CONFIG = Symbol('VENUE_DESK_CONFIG');

export function loadVenueDeskConfig(dir = process.env.WARD_CONFIG_DIR ?? 'config/koto'): VenueDeskConfig {
  const file = join(resolve(dir), 'venue-desk.json');
  const desk = existsSync(file) ? deskSchema.parse(JSON.parse(readFileSync(file, 'utf8'))) : { minutesPerResident: 6, byVenue: {} as Record<string, number> };
  return { minutesPerResident: (venueId) => desk.byVenue[venueId] ?? desk.minutesPerResident };
}
