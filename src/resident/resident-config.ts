/**
 * The residents' pages' part of the ward configuration (`<WARD_CONFIG_DIR>/residents.json`, R-8.3):
 * the residents' booking URL printed on notices, session and sign-in limits, what to bring,
 * and the venues' names and addresses in the other languages (Japanese comes from ward.json).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';

export const LANGUAGES = ['ja', 'en', 'zh', 'ko'] as const;
export type Language = (typeof LANGUAGES)[number];

/** The path every residents' page lives under. */
export const RESIDENT_PREFIX = '/booking';

const place = z.object({ name: z.string().min(1).max(200), address: z.string().min(1).max(400) });
const schema = z.object({
  /** Absolute URL of the residents' pages as printed on notices; null: PUBLIC_URL + /booking. */
  bookingUrl: z.string().url().nullable().default(null),
  session: z.object({ idleMinutes: z.number().int().min(1).max(120), maxHours: z.number().int().min(1).max(24) }),
  throttle: z.object({ perAddress: z.number().int().min(1).max(10_000), perBookingNumber: z.number().int().min(1).max(1000), windowSeconds: z.number().int().min(1).max(86_400) }),
  lock: z.object({ afterFailures: z.number().int().min(1).max(1000), withinHours: z.number().int().min(1).max(720), minutes: z.number().int().min(1).max(43_200) }),
  contact: z.object({ phone: z.string().min(1).max(30) }),
  whatToBring: z.object({ ja: z.array(z.string().min(1)).min(1), en: z.array(z.string().min(1)).min(1), zh: z.array(z.string().min(1)).min(1), ko: z.array(z.string().min(1)).min(1) }),
  venues: z.record(z.string(), z.object({ en: place, zh: place, ko: place })),
});

export type ResidentConfig = z.infer<typeof schema>;

/** `override` (RESIDENT_CONFIG_JSON) replaces top-level sections of the file, as tests and operators need. */
export function loadResidentConfig(dir = process.env.WARD_CONFIG_DIR ?? 'config/koto', override = process.env.RESIDENT_CONFIG_JSON): ResidentConfig {
  const file = JSON.parse(readFileSync(join(resolve(dir), 'residents.json'), 'utf8')) as Record<string, unknown>;
  return schema.parse({ ...file, ...(override ? (JSON.parse(override) as Record<string, unknown>) : {}) });
}

/** The residents' booking URL (R-2.7): configured, or this site's public URL with the prefix. */
export function residentsUrl(config: Pick<ResidentConfig, 'bookingUrl'>, publicUrl: string): string {
  return config.bookingUrl ?? `${publicUrl.replace(/\/$/, '')}${RESIDENT_PREFIX}`;
}
