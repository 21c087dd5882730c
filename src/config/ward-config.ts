/**
 * The ward's configuration: venues, post offices, the district → venue allocation and the timer
 * policy (R-8.3, R-12: configuration, not code). Read from `WARD_CONFIG_DIR` (default `config/koto`).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import { z } from 'zod';
import { type CardPolicy, DEFAULT_POLICY } from '../../workflows/card-timers.js';
import { type CalendarConfig, calendarConfigSchema } from '../calendar/calendar-config.js';
import { WardCalendar } from '../calendar/ward-calendar.js';

const venueSchema = z.object({ id: z.string().min(1), name: z.string().min(1), address: z.string().min(1) });
const wardSchema = z.object({
  name: z.string(),
  nameEn: z.string(),
  timeZone: z.literal('Asia/Tokyo'),
  venues: z.array(venueSchema).min(1),
  postOffices: z.array(z.object({ id: z.string(), name: z.string() })),
  policy: z.object({
    noticeSlaDays: z.number().positive(),
    renoticeAfterDays: z.number().positive(),
    discardAfterRenoticeDays: z.number().positive(),
    noShowGraceHours: z.number().nonnegative(),
    closeAfterDays: z.number().nonnegative(),
  }),
  /** Venue days and hours, slots, the call center's hours, business days (src/calendar/calendar-config.ts). */
  calendar: calendarConfigSchema,
});
const townRowSchema = z.object({
  postal_code: z.string().regex(/^\d{3}-\d{4}$/),
  town: z.string().min(1),
  default_venue: z.string().min(1),
  default_post_office: z.string().min(1),
});

export type Venue = z.infer<typeof venueSchema>;

export interface WardConfig {
  name: string;
  nameEn: string;
  venues: Venue[];
  postOffices: { id: string; name: string }[];
  policy: CardPolicy;
  /** The ward calendar's configuration (`WardCalendar` reads it). */
  calendar: CalendarConfig;
  /** Every town of the ward with its postal code and allocated venue. */
  towns: { postalCode: string; town: string; venueId: string }[];
  /** Venue allocated to a postal code (R-3.1, 別紙②), or undefined outside the ward. */
  venueForPostalCode(postalCode: string): string | undefined;
  /** The post office that delivers to a postal code, or undefined outside the ward. */
  postOfficeForPostalCode(postalCode: string): string | undefined;
}

const DAY = 86_400_000;

/** A JSON object of policy fields in milliseconds; lets tests and operators override the file. */
const policyOverrideSchema = z
  .object({
    noticeSlaMs: z.number().int().positive(),
    renoticeAfterMs: z.number().int().positive(),
    discardAfterRenoticeMs: z.number().int().positive(),
    noShowGraceMs: z.number().int().nonnegative(),
    closeAfterMs: z.number().int().nonnegative(),
  })
  .partial()
  .strict();

export function loadWardConfig(dir = process.env.WARD_CONFIG_DIR ?? 'config/koto', policyOverride = process.env.CARD_POLICY_JSON): WardConfig {
  const base = resolve(dir);
  const ward = wardSchema.parse(JSON.parse(readFileSync(join(base, 'ward.json'), 'utf8')));
  const rows = parse(readFileSync(join(base, 'towns.csv'), 'utf8'), { columns: true, skip_empty_lines: true, trim: true }) as unknown[];
  const venueIds = new Set(ward.venues.map((v) => v.id));
  const towns = rows.map((raw, i) => {
    const row = townRowSchema.parse(raw);
    if (!venueIds.has(row.default_venue)) throw new Error(`towns.csv line ${i + 2}: unknown venue ${row.default_venue}`);
    return { postalCode: row.postal_code, town: row.town, venueId: row.default_venue };
  });
  new WardCalendar(ward.calendar, [...venueIds]); // refuses unknown venues and dates listed twice
  const byPostal = new Map(towns.map((t) => [t.postalCode.replace('-', ''), t.venueId]));
  const postOffices = new Set(ward.postOffices.map((p) => p.id));
  const officeByPostal = new Map(
    rows.map((raw, i) => {
      const row = townRowSchema.parse(raw);
      if (!postOffices.has(row.default_post_office)) throw new Error(`towns.csv line ${i + 2}: unknown post office ${row.default_post_office}`);
      return [row.postal_code.replace('-', ''), row.default_post_office] as const;
    }),
  );
  const policy: CardPolicy = {
    ...DEFAULT_POLICY,
    noticeSlaMs: ward.policy.noticeSlaDays * DAY,
    renoticeAfterMs: ward.policy.renoticeAfterDays * DAY,
    discardAfterRenoticeMs: ward.policy.discardAfterRenoticeDays * DAY,
    noShowGraceMs: ward.policy.noShowGraceHours * 3_600_000,
    closeAfterMs: ward.policy.closeAfterDays * DAY,
    ...(policyOverride ? policyOverrideSchema.parse(JSON.parse(policyOverride)) : {}),
  };
  return {
    name: ward.name,
    nameEn: ward.nameEn,
    venues: ward.venues,
    postOffices: ward.postOffices,
    policy,
    calendar: ward.calendar,
    towns,
    venueForPostalCode: (postalCode) => byPostal.get(postalCode.replace(/[-ー−‐]/g, '')),
    postOfficeForPostalCode: (postalCode) => officeByPostal.get(postalCode.replace(/[-ー−‐]/g, '')),
  };
}

/**
 * The ward's policy with every period scaled so that one day lasts `msPerDay` milliseconds: two years
 * of a card in seconds, for the recorded replay histories and `bench:history`.
 */
export function scaledPolicy(policy: CardPolicy, msPerDay: number): CardPolicy {
  const scale = (ms: number) => Math.max(1, Math.round((ms / 86_400_000) * msPerDay));
  return {
    noticeSlaMs: scale(policy.noticeSlaMs),
    renoticeAfterMs: scale(policy.renoticeAfterMs),
    discardAfterRenoticeMs: scale(policy.discardAfterRenoticeMs),
    noShowGraceMs: scale(policy.noShowGraceMs),
    closeAfterMs: scale(policy.closeAfterMs),
  };
}
