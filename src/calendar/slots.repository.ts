/**
 * Every read and write of slots and of the office's changes to a venue's day. Slots are written here
 * (generation, capacity, open/closed); `booked` only by the booking claim (`src/booking/`), never here.
 */
import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import type { SlotWindow, DayOverride } from './slot-windows.js';
import { addDays } from './business-days.js';

/** A slot as staff and the booking module see it (the booking contract's `SlotView`, plus `overCapacity`). */
export interface SlotView {
  venueId: string;
  /** ISO instant with the Tokyo offset, `2026-12-01T08:30:00+09:00`. */
  startsAt: string;
  endsAt: string;
  capacity: number;
  booked: number;
  /** Places left: 0 when closed or full. */
  free: number;
  open: boolean;
  /** More booked than the capacity (a capacity lowered below what was booked). */
  overCapacity: boolean;
}

export interface BookingToMove {
  cardId: string;
  venueId: string;
  startsAt: string;
}

interface SlotRow {
  venue_id: string;
  starts_at: Date | string;
  ends_at: Date | string;
  capacity: number;
  booked: number;
  open: boolean;
}

interface DayRow {
  venue_id: string;
  day: string;
  open: boolean | null;
  opens_at: string | null;
  closes_at: string | null;
  capacity: number | null;
  updated_by: string;
  updated_at: Date | string;
}

/** An instant as ISO text with the Tokyo offset. */
export function tokyoIso(at: Date | string): string {
  const t = new Date(at).getTime() + 9 * 3_600_000;
  return `${new Date(t).toISOString().slice(0, 19)}+09:00`;
}

const view = (r: SlotRow): SlotView => ({
  venueId: r.venue_id,
  startsAt: tokyoIso(r.starts_at),
  endsAt: tokyoIso(r.ends_at),
  capacity: r.capacity,
  booked: r.booked,
  free: r.open ? Math.max(0, r.capacity - r.booked) : 0,
  open: r.open,
  overCapacity: r.booked > r.capacity,
});

/** Start of a Tokyo day as an instant. */
const dayStart = (isoDate: string) => new Date(`${isoDate}T00:00:00+09:00`);

@Injectable()
export class SlotsRepository {
  constructor(private readonly em: EntityManager) {}

  private run<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.em.fork().execute<T[]>(sql, params);
  }

  /** Inserts the windows that are not slots yet (never changes a slot); the number inserted. */
  async insertMissing(windows: readonly SlotWindow[]): Promise<number> {
    let inserted = 0;
    for (let i = 0; i < windows.length; i += 2000) {
      const chunk = windows.slice(i, i + 2000).map((w) => ({ venue_id: w.venueId, starts_at: w.startsAt.toISOString(), ends_at: w.endsAt.toISOString(), capacity: w.capacity }));
      const rows = await this.run<{ n: number }>(
        `with ins as (
           insert into slot (venue_id, starts_at, ends_at, capacity)
           select venue_id, starts_at, ends_at, capacity from jsonb_to_recordset(?::jsonb) as x(venue_id text, starts_at timestamptz, ends_at timestamptz, capacity int)
           on conflict do nothing returning 1)
         select count(*)::int as n from ins`,
        [JSON.stringify(chunk)],
      );
      inserted += rows[0]?.n ?? 0;
    }
    return inserted;
  }

  /**
   * Makes `open` say whether each slot of the venues' days from `fromDate` to `toDate` (Tokyo,
   * inclusive) lies within its day's opening, as `windows` (the generated slots) span it: a day or
   * hours closed after generation close their slots, and open them again when reopened. A slot that
   * is not one of the windows but lies within the day's hours (one the office or a test added) is
   * left open: only the calendar closes slots. Returns the slots changed.
   */
  async syncOpen(venueIds: readonly string[], fromDate: string, toDate: string, windows: readonly SlotWindow[]): Promise<{ opened: number; closed: number }> {
    // Each venue's day, from its first window's start to its last window's end.
    const spans = new Map<string, { venue_id: string; f: number; t: number }>();
    for (const w of windows) {
      const key = `${w.venueId}|${new Date(w.startsAt.getTime() + 9 * 3_600_000).toISOString().slice(0, 10)}`;
      const span = spans.get(key) ?? { venue_id: w.venueId, f: w.startsAt.getTime(), t: w.endsAt.getTime() };
      span.f = Math.min(span.f, w.startsAt.getTime());
      span.t = Math.max(span.t, w.endsAt.getTime());
      spans.set(key, span);
    }
    const open = JSON.stringify([...spans.values()].map((x) => ({ venue_id: x.venue_id, f: new Date(x.f).toISOString(), t: new Date(x.t).toISOString() })));
    const rows = await this.run<{ open: boolean; n: number }>(
      `with span as (select venue_id, f, t from jsonb_to_recordset(?::jsonb) as x(venue_id text, f timestamptz, t timestamptz)),
            want as (
              select s.venue_id, s.starts_at, exists (select 1 from span w where w.venue_id = s.venue_id and s.starts_at >= w.f and s.ends_at <= w.t) as open
                from slot s
               where s.venue_id = any(?::text[]) and s.starts_at >= ? and s.starts_at < ?),
            changed as (
              update slot s set open = want.open, updated_at = now()
                from want
               where want.venue_id = s.venue_id and want.starts_at = s.starts_at and s.open is distinct from want.open
              returning s.open)
       select open, count(*)::int as n from changed group by open`,
      [open, `{${venueIds.join(',')}}`, dayStart(fromDate), dayStart(addDays(toDate, 1))],
    );
    return { opened: rows.find((r) => r.open)?.n ?? 0, closed: rows.find((r) => !r.open)?.n ?? 0 };
  }

  /** A venue's slots from `fromDate` to `toDate` (Tokyo dates, inclusive), earliest first. */
  async list(venueId: string, fromDate: string, toDate: string): Promise<SlotView[]> {
    const rows = await this.run<SlotRow>(
      `select venue_id, starts_at, ends_at, capacity, booked, open from slot where venue_id = ? and starts_at >= ? and starts_at < ? order by starts_at`,
      [venueId, dayStart(fromDate), dayStart(addDays(toDate, 1))],
    );
    return rows.map(view);
  }

  async get(venueId: string, startsAt: Date): Promise<SlotView | null> {
    const rows = await this.run<SlotRow>(`select venue_id, starts_at, ends_at, capacity, booked, open from slot where venue_id = ? and starts_at = ?`, [venueId, startsAt]);
    return rows[0] ? view(rows[0]) : null;
  }

  /** Sets one slot's capacity (bookings are kept, even above it); null when there is no such slot. */
  async setSlotCapacity(venueId: string, startsAt: Date, capacity: number): Promise<SlotView | null> {
    const rows = await this.run<SlotRow>(
      `update slot set capacity = ?, updated_at = now() where venue_id = ? and starts_at = ? returning venue_id, starts_at, ends_at, capacity, booked, open`,
      [capacity, venueId, startsAt],
    );
    return rows[0] ? view(rows[0]) : null;
  }

  /** Sets the capacity of every slot of a venue's day; the number of slots changed. */
  async setDayCapacity(venueId: string, isoDate: string, capacity: number): Promise<number> {
    const rows = await this.run<{ n: number }>(
      `with u as (update slot set capacity = ?, updated_at = now() where venue_id = ? and starts_at >= ? and starts_at < ? returning 1) select count(*)::int as n from u`,
      [capacity, venueId, dayStart(isoDate), dayStart(addDays(isoDate, 1))],
    );
    return rows[0]?.n ?? 0;
  }

  /** The office's changes to days of the venues from `fromDate` to `toDate`, by `venueId|date`. */
  async overrides(fromDate: string, toDate: string): Promise<Map<string, DayOverride>> {
    const rows = await this.run<DayRow>(`select venue_id, to_char(day, 'YYYY-MM-DD') as day, open, opens_at, closes_at, capacity, updated_by, updated_at from venue_day where day between ? and ?`, [fromDate, toDate]);
    return new Map(rows.map((r) => [`${r.venue_id}|${r.day}`, { open: r.open, from: r.opens_at, to: r.closes_at, capacity: r.capacity, updatedBy: r.updated_by, updatedAt: new Date(r.updated_at) }]));
  }

  /** Writes the office's change to a day (a change with nothing left in it is removed: the calendar again). */
  async saveOverride(venueId: string, isoDate: string, o: Pick<DayOverride, 'open' | 'from' | 'to' | 'capacity'>, userId: string): Promise<void> {
    if (o.open === null && o.capacity === null) {
      await this.run(`delete from venue_day where venue_id = ? and day = ?`, [venueId, isoDate]);
      return;
    }
    await this.run(
      `insert into venue_day (venue_id, day, open, opens_at, closes_at, capacity, updated_by) values (?, ?, ?, ?, ?, ?, ?)
       on conflict (venue_id, day) do update set open = excluded.open, opens_at = excluded.opens_at, closes_at = excluded.closes_at,
         capacity = excluded.capacity, updated_by = excluded.updated_by, updated_at = now()`,
      [venueId, isoDate, o.open, o.from, o.to, o.capacity, userId],
    );
  }

  /** Slots from `fromDate` on with more booked than their capacity, earliest first. */
  async overCapacity(fromDate: string, venueId?: string, limit = 500): Promise<SlotView[]> {
    const rows = await this.run<SlotRow>(
      `select venue_id, starts_at, ends_at, capacity, booked, open from slot where booked > capacity and starts_at >= ? ${venueId ? 'and venue_id = ?' : ''} order by starts_at, venue_id limit ?`,
      venueId ? [dayStart(fromDate), venueId, limit] : [dayStart(fromDate), limit],
    );
    return rows.map(view);
  }

  /** Bookings (status `booked`) from `fromDate` on in a slot that is closed: to move to another slot. */
  async bookingsToMove(fromDate: string, venueId?: string, limit = 500): Promise<BookingToMove[]> {
    const rows = await this.run<{ card_id: string; venue_id: string; starts_at: Date | string }>(
      `select b.card_id, b.venue_id, b.starts_at from booking b join slot s on s.venue_id = b.venue_id and s.starts_at = b.starts_at
       where b.status = 'booked' and not s.open and s.starts_at >= ? ${venueId ? 'and s.venue_id = ?' : ''}
       order by b.starts_at, b.venue_id, b.card_id limit ?`,
      venueId ? [dayStart(fromDate), venueId, limit] : [dayStart(fromDate), limit],
    );
    return rows.map((r) => ({ cardId: r.card_id, venueId: r.venue_id, startsAt: tokyoIso(r.starts_at) }));
  }
}
