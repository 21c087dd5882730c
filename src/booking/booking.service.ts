/**
 * Booking a pickup (issue 9, R-4.1– ): slots with a capacity, claimed by the card's
 * `reserve` Update from whichever channel. This service is the API edge of it: it resolves the slot
 * key (venue + start) to the slot, applies the booker's rules (earliest day, the call center's short
 * notice, walk-ins at the counter), pre-checks the slot's room, and sends the workflow the `reserve`
 * data `{ venueId, startsAt, endsAt }`. The claim inside the Update (`claimBooking`, a conditional
 * update on the slot's `booked < capacity`) is the authority: a slot that fills between the
 * pre-check and the claim is refused there, and answered here as SLOT_FULL all the same.
 */
import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import type { AuthUser } from '../auth/auth.types.js';
import { addBusinessDays, addDays, tokyoDate } from '../calendar/business-days.js';
import { type ActionAccess, CardsService } from '../cards/cards.service.js';
import { CardsErrorCode, CardsException } from '../cards/cards.exception.js';
import { TasksRepository } from '../tasks/tasks.repository.js';
import type { CardActionResult } from '../../workflows/card-messages.js';
import { type CardStateName, rolesFor } from '../../workflows/card-state-machine.js';
import { AuthErrorCode, AuthException } from '../auth/auth.exception.js';
import { VenueScope } from '../cards/venue-scope.js';
import { BookingErrorCode, BookingException } from './booking.exception.js';
import { PreparedSql } from '../database/prepared.js';

export interface SlotKey {
  venueId: string;
  /** ISO instant. */
  startsAt: string;
}

export interface SlotView {
  venueId: string;
  startsAt: string;
  endsAt: string;
  capacity: number;
  booked: number;
  free: number;
  open: boolean;
}

/**
 * Who books: staff (their AuthUser; `access`: the action's access-log row, written with its
 * idempotency fingerprint, CardsService.act), or a resident signed in with the booking number.
 */
export type Booker =
  | { kind: 'staff'; user: AuthUser; channel: 'web' | 'api' | 'phone' | 'fax' | 'counter'; access?: ActionAccess }
  | { kind: 'resident'; bookingNumber: string; channel: 'resident-web' };

export interface CurrentBooking {
  bookingNumber: string;
  venueId: string;
  startsAt: string;
  endsAt: string;
}

/** Business days between today and the earliest day a resident may book. */
export const EARLIEST_BUSINESS_DAYS = 4;
/** How many free slots a SLOT_FULL refusal proposes. */
const NEAREST = 5;
/** A card physically at its venue: received there and waiting for the resident (or booked). */
const AT_VENUE: readonly CardStateName[] = ['at_venue', 'notice_mailed', 'notice_returned', 'no_show', 'documents_missing', 'renotice_approved', 'renoticed', 'reserved'];

interface SlotRow {
  venue_id: string;
  starts_at: Date;
  ends_at: Date;
  capacity: number;
  booked: number;
  open: boolean;
}

const SLOT_COLUMNS = 'venue_id, starts_at, ends_at, capacity, booked, open';

const slotView = (r: SlotRow): SlotView => ({
  venueId: r.venue_id,
  startsAt: new Date(r.starts_at).toISOString(),
  endsAt: new Date(r.ends_at).toISOString(),
  capacity: Number(r.capacity),
  booked: Number(r.booked),
  free: Math.max(0, Number(r.capacity) - Number(r.booked)),
  open: r.open,
});

/** Midnight at the start of a Tokyo date, as an instant. */
const tokyoMidnight = (isoDate: string) => `${isoDate}T00:00:00+09:00`;

/** Whether a failure (an update's, through its cause chain and messages) is the claim's full slot. */
export function isSlotFull(e: unknown): boolean {
  for (let x = e as { type?: unknown; message?: unknown; cause?: unknown } | undefined, i = 0; x && i < 6; x = x.cause as typeof x, i++) {
    if (x.type === 'SLOT_FULL') return true;
    if (typeof x.message === 'string' && x.message.includes('SLOT_FULL')) return true;
  }
  return false;
}

@Injectable()
export class BookingService {
  constructor(
    private readonly em: EntityManager,
    private readonly cards: CardsService,
    private readonly tasks: TasksRepository,
  ) {}

  /** Free slots of a venue between two Tokyo dates (inclusive), earliest first. */
  async freeSlots(venueId: string, fromDate: string, toDate: string): Promise<SlotView[]> {
    const rows = await this.em.fork().execute<SlotRow[]>(
      `select * from slot where venue_id = ? and starts_at >= ? and starts_at < ? and open and booked < capacity order by starts_at limit 2000`,
      [venueId, tokyoMidnight(fromDate), tokyoMidnight(addDays(toDate, 1))],
    );
    return rows.map(slotView);
  }

  /** Per day of a month (YYYY-MM) at a venue: number of free places (0 = full or closed). */
  async monthAvailability(venueId: string, month: string): Promise<{ date: string; free: number; open: boolean }[]> {
    const m = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(month);
    if (!m) throw new BookingException(BookingErrorCode.BAD_RANGE, `month must be YYYY-MM, not ${month}`);
    const first = `${month}-01`;
    const next = new Date(Date.UTC(Number(m[1]), Number(m[2]), 1)).toISOString().slice(0, 10);
    // One index range scan on the slot's primary key (venue_id, starts_at).
    const rows = await this.em.fork().execute<{ day: string; free: string; open: boolean }[]>(
      `select to_char(starts_at at time zone 'Asia/Tokyo', 'YYYY-MM-DD') as day,
              coalesce(sum(greatest(capacity - booked, 0)) filter (where open), 0) as free, bool_or(open) as open
         from slot where venue_id = ? and starts_at >= ? and starts_at < ? group by 1`,
      [venueId, tokyoMidnight(first), tokyoMidnight(next)],
    );
    const byDay = new Map(rows.map((r) => [r.day, r]));
    const days: { date: string; free: number; open: boolean }[] = [];
    for (let d = first; d < next; d = addDays(d, 1)) {
      const r = byDay.get(d);
      days.push({ date: d, free: r ? Number(r.free) : 0, open: r ? r.open : false });
    }
    return days;
  }

  /**
   * The earliest day a booker may book: 4 business days ahead. The call center's short
   * notice (the card at that venue, the slot with room) and venue staff's walk-ins at their own venue
   * (today) are exceptions `book` allows case by case; the ward books from today.
   */
  earliestDate(booker: Booker, today: string = tokyoDate()): string {
    if (booker.kind === 'staff' && booker.user.role === 'ward') return today;
    return addBusinessDays(today, EARLIEST_BUSINESS_DAYS);
  }

  /** Up to 5 free slots of the venue nearest to `startsAt`, from `fromDate` on, earliest first. */
  async nearest(venueId: string, startsAt: string, fromDate: string): Promise<SlotView[]> {
    // Every refused booking runs it: a prepared statement (its columns named, as a prepared statement's must stay the same).
    const rows = await new PreparedSql(this.em).execute<SlotRow[]>(
      `select * from (
         (select ${SLOT_COLUMNS} from slot where venue_id = ? and starts_at >= greatest(?::timestamptz, ?::timestamptz, now()) and open and booked < capacity order by starts_at limit ${NEAREST})
         union all
         (select ${SLOT_COLUMNS} from slot where venue_id = ? and starts_at < ?::timestamptz and starts_at >= greatest(?::timestamptz, now()) and open and booked < capacity order by starts_at desc limit ${NEAREST})
       ) s order by abs(extract(epoch from starts_at - ?::timestamptz)), starts_at limit ${NEAREST}`,
      [venueId, startsAt, tokyoMidnight(fromDate), venueId, startsAt, tokyoMidnight(fromDate), startsAt],
    );
    return rows.map(slotView).sort((a, b) => a.startsAt.localeCompare(b.startsAt));
  }

  /** The card's current booking (venue, start, end, booking number), or null. */
  async currentBooking(cardId: string): Promise<CurrentBooking | null> {
    const rows = await this.em.fork().execute<{ booking_number: string | null; venue_id: string; starts_at: Date; ends_at: Date; number: string | null }[]>(
      `select b.booking_number, b.venue_id, b.starts_at, b.ends_at, n.number
         from booking b left join booking_number n on n.card_id = b.card_id
        where b.card_id = ? and b.status = 'booked'`,
      [cardId],
    );
    const r = rows[0];
    if (!r) return null;
    return { bookingNumber: r.number ?? r.booking_number ?? '', venueId: r.venue_id, startsAt: new Date(r.starts_at).toISOString(), endsAt: new Date(r.ends_at).toISOString() };
  }

  /** Books (reserve) or changes (the card already reserved) the card into the slot. idempotencyKey as for actions. */
  async book(cardId: string, key: SlotKey, booker: Booker, idempotencyKey: string): Promise<CardActionResult> {
    const venueId = key.venueId;
    // The card and the slot in one round trip.
    const { slot, ...card } = await this.card(cardId, booker, key);
    if (!slot) throw new BookingException(BookingErrorCode.SLOT_NOT_FOUND, `no slot at ${venueId} starting ${key.startsAt}`, { venueId, startsAt: key.startsAt });
    if (!slot.open) throw new BookingException(BookingErrorCode.SLOT_CLOSED, `the slot at ${venueId} starting ${slot.startsAt} is closed`, { venueId, startsAt: slot.startsAt });
    const now = Date.now();
    if (Date.parse(slot.endsAt) <= now) throw new BookingException(BookingErrorCode.SLOT_PAST, `the slot at ${venueId} starting ${slot.startsAt} is over`);
    const today = tokyoDate(new Date(now));
    const day = tokyoDate(new Date(slot.startsAt));
    const earliest = this.earliestDate(booker, today);
    // Physically there: at that venue, in a state after its receipt there, and not waiting to be moved.
    const atVenue = async () => card.venueId === venueId && AT_VENUE.includes(card.state) && !(await this.tasks.openForCard(cardId)).some((t) => t.kind === 'transfer');
    let shortNotice = false;
    if (day < earliest) {
      const staff = booker.kind === 'staff' ? booker.user : undefined;
      // Venue staff at their own venue book walk-ins into today's free slots.
      const walkIn = staff?.role === 'venue' && (staff.allVenues || staff.venueId === venueId);
      if (staff?.role === 'callcenter' || walkIn) {
        if (!(await atVenue())) {
          throw new BookingException(
            BookingErrorCode.CARD_NOT_AT_VENUE,
            `a booking before ${earliest} needs the card to be at ${venueId} already (it is ${card.state} at ${card.venueId ?? 'no venue'})`,
            { earliest, cardVenueId: card.venueId, state: card.state },
          );
        }
        if (walkIn && day !== today) throw new BookingException(BookingErrorCode.TOO_SOON, `the counter books today's slots; other days from ${earliest}`, { earliest });
        shortNotice = staff?.role === 'callcenter';
      } else {
        throw new BookingException(BookingErrorCode.TOO_SOON, `the earliest bookable day is ${earliest} (4 business days ahead)`, { earliest });
      }
    }
    // A pre-check saves a round trip to the card; the claim decides.
    if (slot.free <= 0) throw await this.full(slot, earliest);
    const data = { venueId, startsAt: slot.startsAt, endsAt: slot.endsAt };
    let result: CardActionResult;
    try {
      result =
        booker.kind === 'staff'
          ? await this.cards.act(cardId, 'reserve', { data }, booker.user, idempotencyKey, booker.channel, booker.access)
          : await this.cards.actAsResident(cardId, 'reserve', { data }, booker.bookingNumber, idempotencyKey);
    } catch (e) {
      if (isSlotFull(e)) throw await this.full(slot, earliest);
      throw e;
    }
    const createdBy = booker.kind === 'staff' ? booker.user.username : `resident:${booker.bookingNumber}`;
    if (shortNotice) {
      await this.tasks.open({ kind: 'prepare_card', cardId, venueId, createdBy, note: `short-notice booking ${slot.startsAt} (call center)` });
    }
    // The card has to move to the venue it is booked at: the office's list (venue null).
    if (card.venueId && card.venueId !== venueId) {
      await this.tasks.open({ kind: 'transfer', cardId, venueId: null, createdBy, note: `from ${card.venueId} to ${venueId} for ${slot.startsAt}` });
    }
    return result;
  }

  /** Cancels the card's booking; the projection releases the slot's place in the same transaction. */
  async cancel(cardId: string, booker: Booker, idempotencyKey: string, reason?: string): Promise<CardActionResult> {
    await this.card(cardId, booker);
    const body = { reason: reason || undefined };
    return booker.kind === 'staff'
      ? this.cards.act(cardId, 'cancel_reservation', body, booker.user, idempotencyKey, booker.channel, booker.access)
      : this.cards.actAsResident(cardId, 'cancel_reservation', body, booker.bookingNumber, idempotencyKey);
  }

  private async full(slot: SlotView, earliest: string): Promise<BookingException> {
    const nearest = await this.nearest(slot.venueId, slot.startsAt, earliest);
    return new BookingException(BookingErrorCode.SLOT_FULL, `the slot at ${slot.venueId} starting ${slot.startsAt} is full`, { nearest });
  }

  /** The card as booking needs it (and the slot of `key`, read in the same query); a resident's booking number must be the card's. */
  private async card(cardId: string, booker: Booker, key?: SlotKey): Promise<{ state: CardStateName; venueId: string | null; route: string; slot?: SlotView }> {
    // Staff: the role first, and the venue scope (another venue's card is unknown), before any rule says more.
    if (booker.kind === 'staff') {
      const role = booker.user.role;
      if (role === 'auditor' || role === 'admin' || !rolesFor('reserve').includes(role)) throw new AuthException(AuthErrorCode.FORBIDDEN, `role ${role} may not book`);
    }
    type Row = { state: CardStateName | null; venue_id: string | null; route: string; number: string | null } & { [K in keyof SlotRow as `s_${K}`]: SlotRow[K] | null };
    // Every booking runs it: a prepared statement, planned once per connection.
    const [r] = await new PreparedSql(this.em).execute<Row[]>(
      `select c.state, c.venue_id, c.route, n.number,
              s.venue_id as s_venue_id, s.starts_at as s_starts_at, s.ends_at as s_ends_at, s.capacity as s_capacity, s.booked as s_booked, s.open as s_open
         from (select 1) one
         left join card c on c.card_id = ?
         left join booking_number n on n.card_id = c.card_id
         left join slot s on s.venue_id = ? and s.starts_at = ?`,
      [cardId, key?.venueId ?? null, key?.startsAt ?? null],
    );
    const found = r?.state ? r : undefined;
    if (booker.kind === 'staff' && found && !VenueScope.of(booker.user).allows(found.venue_id)) throw new CardsException(CardsErrorCode.CARD_NOT_FOUND, `no card ${cardId}`);
    if (booker.kind === 'resident' && (!found || found.number !== booker.bookingNumber)) {
      throw new BookingException(BookingErrorCode.CARD_NOT_BOOKABLE, 'no card with this booking number');
    }
    // Another venue's card is refused by the card action itself (venue scope), as unknown.
    if (!found?.state) throw new CardsException(CardsErrorCode.CARD_NOT_FOUND, `no card ${cardId}`);
    if (found.route !== 'pickup') throw new BookingException(BookingErrorCode.CARD_NOT_BOOKABLE, `card ${cardId} is not a pickup card: it is not booked`);
    const slot =
      r.s_venue_id !== null && r.s_starts_at !== null && r.s_ends_at !== null
        ? slotView({ venue_id: r.s_venue_id, starts_at: r.s_starts_at, ends_at: r.s_ends_at, capacity: Number(r.s_capacity), booked: Number(r.s_booked), open: r.s_open === true })
        : undefined;
    return { state: found.state, venueId: found.venue_id, route: found.route, slot };
  }
}
