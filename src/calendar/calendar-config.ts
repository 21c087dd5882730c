/**
 * The ward calendar's configuration (`calendar` in `config/<ward>/ward.json`, R-5.7, R-4.5, R-8.3):
 * the venues' weekly hours, the Sunday openings by month, dated openings and closures per venue, the
 * slot windows and capacities, the call center's hours and the ward office's business days. Hours,
 * opening days and venues change in this file, not in code.
 */
import { z } from 'zod';

export const WEEKDAY_KEYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type WeekdayKey = (typeof WEEKDAY_KEYS)[number];

/** `HH:MM`, 00:00 to 24:00. */
export const hhmmSchema = z.string().regex(/^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'HH:MM (00:00..24:00)');
export const isoDateSchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'YYYY-MM-DD')
  .refine((s) => new Date(`${s}T00:00:00Z`).toISOString().slice(0, 10) === s, 'not a calendar date');
const whySchema = z.string().trim().min(1).max(100);

export const hoursSchema = z
  .object({ from: hhmmSchema, to: hhmmSchema })
  .strict()
  .refine((h) => h.from < h.to, { message: 'from must be before to' });
export type Hours = z.infer<typeof hoursSchema>;

/** A day's hours or null (closed), per day of the week. */
const weekSchema = z.object(Object.fromEntries(WEEKDAY_KEYS.map((k) => [k, hoursSchema.nullable()])) as Record<WeekdayKey, z.ZodNullable<typeof hoursSchema>>).strict();

/** An opening or closure on one date; it wins over every rule (holidays and the year end included). */
export const datedSchema = z.union([
  z.object({ date: isoDateSchema, open: z.literal(true), from: hhmmSchema, to: hhmmSchema, why: whySchema }).strict().refine((h) => h.from < h.to, { message: 'from must be before to' }),
  z.object({ date: isoDateSchema, open: z.literal(false), why: whySchema }).strict(),
]);
export type DatedEntry = z.infer<typeof datedSchema>;

const nthSchema = z.array(z.number().int().min(1).max(5)).max(5);

const slotRuleSchema = z
  .object({
    /** Days of the week the rule applies to (all when absent). */
    weekdays: z.array(z.enum(WEEKDAY_KEYS)).min(1).optional(),
    /** Slots starting at or after `from` and before `to`. */
    from: hhmmSchema,
    to: hhmmSchema,
    capacity: z.number().int().min(0).max(1000),
  })
  .strict();

export const slotsConfigSchema = z
  .object({
    /** Length of a slot in minutes. */
    minutes: z.number().int().min(5).max(240),
    /** Places per slot unless a rule says otherwise. */
    capacity: z.number().int().min(0).max(1000),
    /** Capacity by day of the week and time of day; the last matching rule wins. */
    rules: z.array(slotRuleSchema).max(100).default([]),
  })
  .strict();
export type SlotsConfig = z.infer<typeof slotsConfigSchema>;

export const venueCalendarSchema = z
  .object({
    /** Regular hours by day of the week (null: closed). */
    week: weekSchema,
    /** Sunday openings: the nth Sundays of each month (`nth`), or of the months named in `months` instead. */
    sundays: z
      .object({
        nth: nthSchema,
        months: z.record(z.string().regex(/^(?:[1-9]|1[0-2])$/, 'month 1..12'), nthSchema).default({}),
        hours: hoursSchema,
      })
      .strict(),
    /** Whether a national holiday closes the venue (also on an opening Sunday). */
    nationalHolidays: z.enum(['closed', 'open']),
    /** Whether the year-end closure closes the venue. */
    yearEndClosure: z.boolean(),
    /** Saturday openings, special openings and closures. */
    dated: z.array(datedSchema).max(2000).default([]),
    slots: slotsConfigSchema,
  })
  .strict();
export type VenueCalendarConfig = z.infer<typeof venueCalendarSchema>;

const monthDay = z.string().regex(/^(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])$/, 'MM-DD');

export const calendarConfigSchema = z
  .object({
    /** The year-end and new-year closure (12/29–1/3), spanning the new year. */
    yearEnd: z.object({ from: monthDay, to: monthDay }).strict(),
    /** The ward office's business days (開庁日), which and business-day timers count. */
    officeDays: z
      .object({
        weekdays: z.array(z.enum(WEEKDAY_KEYS)).min(1),
        nationalHolidays: z.enum(['closed', 'open']),
        yearEndClosure: z.boolean(),
        dated: z.array(z.object({ date: isoDateSchema, open: z.boolean(), why: whySchema }).strict()).max(2000).default([]),
      })
      .strict(),
    /** The call center. */
    callCenter: z
      .object({
        week: weekSchema,
        nationalHolidays: z.enum(['closed', 'open']),
        yearEndClosure: z.boolean(),
        dated: z.array(datedSchema).max(2000).default([]),
      })
      .strict(),
    /** Every venue's calendar, unless the venue's own entry replaces a key. */
    venueDefaults: venueCalendarSchema,
    /** Per venue: keys that replace the defaults (`dated` entries are added to the defaults'). */
    venues: z.record(z.string(), venueCalendarSchema.partial()).default({}),
    /** How many days ahead slots are generated (today included). */
    slotHorizonDays: z.number().int().min(1).max(400),
  })
  .strict();
export type CalendarConfig = z.infer<typeof calendarConfigSchema>;
