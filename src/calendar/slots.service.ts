/**
 * Slots (issue 9, item 2): generated from the ward calendar over a rolling horizon, idempotently
 * (`insert … on conflict do nothing`), at API start, every hour in the API process
 * (`SLOT_GENERATION_MINUTES`; 0 turns both off) and by `npm run cli -- slots generate`; the office's changes to a day's capacity, a slot's capacity and a
 * day's opening; over-capacity slots and the bookings to move.
 *
 * A lowered capacity never drops a booking: the slot shows more booked than its capacity (over
 * capacity, on the office's list) and takes no new booking. A day closed after bookings were made
 * closes its slots (`open = false`) and its bookings are listed to move.
 */
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown, Optional } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/config.module.js';
import { addDays, tokyoDate } from './business-days.js';
import { type DayOpening, type DayOverride, type SlotWindow, dayOpening, slotWindows } from './slot-windows.js';
import { type BookingToMove, type SlotView, SlotsRepository } from './slots.repository.js';
import { SlotsErrorCode, SlotsException } from './slots.exception.js';
import { WardCalendar } from './ward-calendar.js';

export interface GenerationResult {
  from: string;
  to: string;
  inserted: number;
  opened: number;
  closed: number;
}

export interface DayView {
  venueId: string;
  date: string;
  opening: DayOpening;
  calendar: ReturnType<WardCalendar['venueOpening']>;
  override: DayOverride | null;
  slots: SlotView[];
  capacity: number;
  booked: number;
  free: number;
}


@Injectable()
export class SlotsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('slots');
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(WardCalendar) private readonly calendar: WardCalendar,
    private readonly repo: SlotsRepository,
    /** Only `SLOT_GENERATION_MINUTES`; without it (the CLI), the process does not generate on its own. */
    @Optional() @Inject(APP_CONFIG) private readonly config?: Pick<AppConfig, 'SLOT_GENERATION_MINUTES'>,
  ) {}

  /** At API start (awaited, so `npm start`'s demo finds slots), then every `SLOT_GENERATION_MINUTES` (60). */
  async onApplicationBootstrap(): Promise<void> {
    const minutes = this.config?.SLOT_GENERATION_MINUTES ?? 0;
    if (minutes === 0) return;
    await this.generateLogged();
    this.timer = setInterval(() => void this.generateLogged(), minutes * 60_000);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async generateLogged(): Promise<void> {
    try {
      const r = await this.generate();
      this.log.log(`slots generated ${r.from}..${r.to}: ${r.inserted} new, ${r.opened} opened, ${r.closed} closed`);
    } catch (e) {
      this.log.error(`slot generation failed: ${(e as Error).message}`);
    }
  }

  /** The horizon's first and last day: today (Tokyo) and `slotHorizonDays` - 1 days later. */
  horizon(today = tokyoDate()): { from: string; to: string } {
    return { from: today, to: addDays(today, this.calendar.config.slotHorizonDays - 1) };
  }

  /**
   * Generates the venues' slots from `from` to `to` (Tokyo dates, inclusive; the horizon by
   * default): inserts missing slots, and makes each slot's `open` follow the calendar and the
   * office's changes (a day closed after generation closes its slots; reopened, opens them).
   * Running it again changes nothing.
   */
  async generate(opts: { from?: string; to?: string; venueIds?: string[] } = {}): Promise<GenerationResult> {
    const h = this.horizon();
    const from = opts.from ?? h.from;
    const to = opts.to ?? h.to;
    const venueIds = opts.venueIds ?? this.calendar.venueIds();
    const overrides = await this.repo.overrides(from, to);
    const windows: SlotWindow[] = [];
    for (let day = from; day <= to; day = addDays(day, 1)) {
      for (const venueId of venueIds) windows.push(...slotWindows(this.calendar, venueId, day, overrides.get(`${venueId}|${day}`)));
    }
    const inserted = await this.repo.insertMissing(windows);
    const { opened, closed } = await this.repo.syncOpen(venueIds, from, to, windows);
    return { from, to, inserted, opened, closed };
  }

  /** One venue's day: its opening (the calendar's and the office's), its slots and totals. */
  async day(venueId: string, date: string): Promise<DayView> {
    this.assertVenue(venueId);
    const [overrides, slots] = await Promise.all([this.repo.overrides(date, date), this.repo.list(venueId, date, date)]);
    const override = overrides.get(`${venueId}|${date}`) ?? null;
    const open = slots.filter((s) => s.open);
    return {
      venueId,
      date,
      opening: dayOpening(this.calendar, venueId, date, override),
      calendar: this.calendar.venueOpening(venueId, date),
      override,
      slots,
      capacity: open.reduce((n, s) => n + s.capacity, 0),
      booked: slots.reduce((n, s) => n + s.booked, 0),
      free: open.reduce((n, s) => n + s.free, 0),
    };
  }

  /** A venue's slots between two Tokyo dates (inclusive). */
  list(venueId: string, from: string, to: string): Promise<SlotView[]> {
    this.assertVenue(venueId);
    return this.repo.list(venueId, from, to);
  }

  /** Sets one slot's capacity. Bookings above it are kept (the slot is then over capacity). */
  async setSlotCapacity(venueId: string, startsAt: Date, capacity: number): Promise<SlotView | null> {
    this.assertVenue(venueId);
    return this.repo.setSlotCapacity(venueId, startsAt, capacity);
  }

  /**
   * Sets (or, with null, gives back to the configuration) the capacity of every slot of a venue's
   * day, for slots generated now and later.
   */
  async setDayCapacity(venueId: string, date: string, capacity: number | null, userId: string): Promise<void> {
    this.assertVenue(venueId);
    const current = (await this.repo.overrides(date, date)).get(`${venueId}|${date}`);
    await this.repo.saveOverride(venueId, date, { open: current?.open ?? null, from: current?.from ?? null, to: current?.to ?? null, capacity }, userId);
    if (capacity !== null) {
      await this.repo.setDayCapacity(venueId, date, capacity);
    } else {
      // Back to the configured capacity of each window.
      for (const w of slotWindows(this.calendar, venueId, date, null)) await this.repo.setSlotCapacity(venueId, w.startsAt, w.capacity);
    }
    await this.generate({ from: date, to: date, venueIds: [venueId] });
  }

  /** Closes a venue's day: its slots close, their bookings are listed to move. */
  async closeDay(venueId: string, date: string, userId: string): Promise<GenerationResult> {
    this.assertVenue(venueId);
    const current = (await this.repo.overrides(date, date)).get(`${venueId}|${date}`);
    const calendarOpen = this.calendar.venueOpening(venueId, date).open;
    // A day the calendar closes needs no change of its own to be closed.
    await this.repo.saveOverride(venueId, date, { open: calendarOpen ? false : null, from: null, to: null, capacity: current?.capacity ?? null }, userId);
    return this.generate({ from: date, to: date, venueIds: [venueId] });
  }

  /**
   * Opens a venue's day: back to the calendar's hours when the calendar opens it and no hours are
   * given, else with the hours given (a day the calendar closes needs them).
   */
  async openDay(venueId: string, date: string, hours: { from: string; to: string } | null, userId: string): Promise<GenerationResult> {
    this.assertVenue(venueId);
    const current = (await this.repo.overrides(date, date)).get(`${venueId}|${date}`);
    const cal = this.calendar.venueOpening(venueId, date);
    const asCalendar = cal.open && (!hours || (hours.from === cal.from && hours.to === cal.to));
    if (!asCalendar && !hours) throw new Error('hours are needed to open a day the calendar closes');
    await this.repo.saveOverride(
      venueId,
      date,
      asCalendar ? { open: null, from: null, to: null, capacity: current?.capacity ?? null } : { open: true, from: hours!.from, to: hours!.to, capacity: current?.capacity ?? null },
      userId,
    );
    return this.generate({ from: date, to: date, venueIds: [venueId] });
  }

  /** The office's list: over-capacity slots and bookings in closed slots, from today on. */
  async attention(venueId?: string, today = tokyoDate()): Promise<{ overCapacity: SlotView[]; toMove: BookingToMove[] }> {
    if (venueId) this.assertVenue(venueId);
    const [overCapacity, toMove] = await Promise.all([this.repo.overCapacity(today, venueId), this.repo.bookingsToMove(today, venueId)]);
    return { overCapacity, toMove };
  }

  isVenue(venueId: string): boolean {
    return this.calendar.venueIds().includes(venueId);
  }

  private assertVenue(venueId: string): void {
    if (!this.isVenue(venueId)) throw new SlotsException(SlotsErrorCode.UNKNOWN_VENUE, `no venue ${venueId}`, { venueId });
  }
}
