/**
 * The staff card page's slot choice (works without JavaScript): a venue and a day (a GET form),
 * then the free times of that day as one select in the reserve form, each `venueId|startsAt`.
 */
import { z } from 'zod';
import type { AuthUser } from '../auth/auth.types.js';
import { tokyoDate } from '../calendar/business-days.js';
import { boundedIsoDate } from '../common/zod-validation.js';
import { instantSchema, venueIdSchema } from '../../workflows/text-rules.js';
import type { BookingService, SlotKey } from './booking.service.js';

/** The reserve form's `slot` field: `venueId|startsAt`. */
export const slotFieldSchema = z
  .string()
  .max(80)
  .transform((s) => s.split('|'))
  .pipe(z.tuple([venueIdSchema, instantSchema]))
  .transform(([venueId, startsAt]): SlotKey => ({ venueId, startsAt }));

const dayParam = boundedIsoDate('2000-01-01', '2100-12-31');

export interface SlotChoice {
  venues: { id: string; name: string; selected: boolean }[];
  day: string;
  minDay: string;
  slots: { value: string; label: string; selected: boolean }[];
}

const hhmm = (iso: string) => new Date(Date.parse(iso) + 9 * 3_600_000).toISOString().slice(11, 16);

export async function slotChoice(
  booking: BookingService,
  venues: readonly { id: string; name: string }[],
  card: { venueId: string | null },
  user: AuthUser,
  input: Record<string, unknown>,
): Promise<SlotChoice> {
  const today = tokyoDate();
  const asked = venueIdSchema.safeParse(input.slotVenue);
  const venueId = asked.success && venues.some((v) => v.id === asked.data) ? asked.data : (card.venueId ?? venues[0].id);
  // Venue staff serve walk-ins today; others start at the earliest day a resident may book.
  const earliest = user.role === 'venue' ? today : booking.earliestDate({ kind: 'staff', user, channel: 'web' }, today);
  const day = dayParam.safeParse(input.slotDay);
  const chosen = day.success && day.data >= today ? day.data : earliest;
  const picked = typeof input.slot === 'string' ? input.slot : '';
  const free = await booking.freeSlots(venueId, chosen, chosen);
  return {
    venues: venues.map((v) => ({ id: v.id, name: v.name, selected: v.id === venueId })),
    day: chosen,
    minDay: today,
    slots: free
      .filter((s) => Date.parse(s.endsAt) > Date.now())
      .map((s) => {
        const value = `${s.venueId}|${s.startsAt}`;
        return { value, label: `${hhmm(s.startsAt)}〜${hhmm(s.endsAt)}（空き${s.free}）`, selected: value === picked };
      }),
  };
}
