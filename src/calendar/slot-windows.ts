/**
 * A venue's slots on a day, from the ward calendar and the office's change to that day (pure): the
 * opening decides the hours, the venue's `slots` configuration the windows (e.g. 30 minutes) and
 * their capacity by day of the week and time of day; a capacity the office set for the day replaces
 * them all. A window that would run past closing time is not made.
 */
import { WEEKDAY_KEYS } from './calendar-config.js';
import { weekday } from './business-days.js';
import { type Opening, type WardCalendar, hhmmOf, minutesOf, tokyoInstant } from './ward-calendar.js';

/** The office's change to a venue's day (`venue_day`). */
export interface DayOverride {
  /** null: as the calendar says. */
  open: boolean | null;
  /** The hours when the office opened a day the calendar closes (or changed them). */
  from: string | null;
  to: string | null;
  /** Every slot of the day, or null: by the configuration. */
  capacity: number | null;
  updatedBy: string;
  updatedAt: Date;
}

export type DayOpening = Opening & { byOffice: boolean };

/** The opening of a venue's day, the office's change first. */
export function dayOpening(calendar: WardCalendar, venueId: string, isoDate: string, override?: DayOverride | null): DayOpening {
  if (override?.open === false) return { open: false, why: '事務センターが休業に設定', byOffice: true };
  if (override?.open === true && override.from && override.to) return { open: true, from: override.from, to: override.to, why: '事務センターが開庁に設定', byOffice: true };
  return { ...calendar.venueOpening(venueId, isoDate), byOffice: false };
}

export interface SlotWindow {
  venueId: string;
  startsAt: Date;
  endsAt: Date;
  /** Tokyo time of the start, `HH:MM`. */
  from: string;
  capacity: number;
}

/** The slot windows of a venue's day (none when it is closed). */
export function slotWindows(calendar: WardCalendar, venueId: string, isoDate: string, override?: DayOverride | null): SlotWindow[] {
  const opening = dayOpening(calendar, venueId, isoDate, override);
  if (!opening.open) return [];
  const cfg = calendar.slotsConfig(venueId);
  const day = WEEKDAY_KEYS[weekday(isoDate)];
  const out: SlotWindow[] = [];
  for (let m = minutesOf(opening.from); m + cfg.minutes <= minutesOf(opening.to); m += cfg.minutes) {
    const from = hhmmOf(m);
    let capacity = cfg.capacity;
    for (const rule of cfg.rules) {
      if ((!rule.weekdays || rule.weekdays.includes(day)) && from >= rule.from && from < rule.to) capacity = rule.capacity;
    }
    out.push({ venueId, startsAt: tokyoInstant(isoDate, from), endsAt: tokyoInstant(isoDate, hhmmOf(m + cfg.minutes)), from, capacity: override?.capacity ?? capacity });
  }
  return out;
}
