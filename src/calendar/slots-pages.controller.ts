/**
 * `/slots`: the office's and the ward's page of a venue's day: its opening, its slots with capacity,
 * booked and free places, changing a day's or a slot's capacity, closing or opening the day (with a
 * confirmation), and the lists of over-capacity slots and bookings to move. Works without JavaScript.
 */
import { Body, Controller, Get, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { AccessLogService } from '../audit/access-log.service.js';
import { Allow } from '../auth/auth.types.js';
import type { WebSessionContext } from '../auth/web-auth.service.js';
import { Inject } from '@nestjs/common';
import { WARD_CONFIG, type WardConfig } from '../config/config.module.js';
import { addDays, tokyoDate, weekday } from './business-days.js';
import type { BookingToMove, SlotView } from './slots.repository.js';
import { SlotsService } from './slots.service.js';
import { minutesOf, tokyoInstant } from './ward-calendar.js';

type WebRequest = Request & { web: WebSessionContext };

const ROLES = ['ward', 'office'] as const;
/** How far ahead the office may change a day. */
const EDIT_DAYS_AHEAD = 400;
const DAY_JA = '日月火水木金土';

const DONE: Record<string, string> = {
  day: 'この日のすべての枠の定員を変更しました。',
  dayReset: 'この日の定員を設定どおりに戻しました。',
  slot: '枠の定員を変更しました。',
  closed: 'この日を休業にしました。予約は取り消していません。移動が必要な予約は下の一覧に出ています。',
  opened: 'この日を開庁にしました。',
};

const str = (v: unknown) => (typeof v === 'string' ? v : '');
const hhmm = z.string().regex(/^(?:[01]\d|2[0-3]):[0-5]\d$/, '時刻を「09:00」の形で入力してください');
const capacity = z
  .string()
  .trim()
  .regex(/^\d{1,4}$/, '定員は0から1000までの数で入力してください')
  .transform(Number)
  .refine((n) => n <= 1000, '定員は0から1000までの数で入力してください');

/** Date label: 2026年12月2日（水）. */
export function dateLabel(iso: string): string {
  return `${Number(iso.slice(0, 4))}年${Number(iso.slice(5, 7))}月${Number(iso.slice(8, 10))}日（${DAY_JA[weekday(iso)]}）`;
}
const timeOf = (isoInstant: string) => isoInstant.slice(11, 16);
const dateOf = (isoInstant: string) => isoInstant.slice(0, 10);

interface PageError {
  form: string;
  field: string;
  message: string;
}

/** The id of the input an error summary links to. */
function anchorOf(e: PageError): string {
  if (e.form.startsWith('slot-')) return `cap-${e.form.slice(5).replace(':', '')}`;
  if (e.form === 'day') return 'day-capacity';
  if (e.form === 'close') return 'close-confirm';
  if (e.form === 'open') return e.field === 'from' || e.field === 'to' ? `open-${e.field}` : 'open-confirm';
  return 'date';
}

@ApiExcludeController()
@Controller('slots')
export class SlotsPagesController {
  constructor(
    private readonly slots: SlotsService,
    private readonly accessLog: AccessLogService,
    @Inject(WARD_CONFIG) private readonly ward: WardConfig,
  ) {}

  private schemas() {
    const today = tokyoDate();
    const last = addDays(today, EDIT_DAYS_AHEAD);
    const venue = z.enum(this.ward.venues.map((v) => v.id) as [string, ...string[]], { error: '会場を選んでください' });
    const date = z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/, '日付を選んでください')
      .refine((d) => d >= today && d <= last, `今日から${EDIT_DAYS_AHEAD}日先までの日付を選んでください（過ぎた日は変更できません）`);
    const confirm = z.literal('yes', { error: '確認のチェックを入れてください' });
    return {
      view: z.object({
        venue: venue.optional(),
        date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, '日付を選んでください').refine((d) => d >= '2000-01-01' && d <= '2100-12-31', '日付を選んでください').optional(),
        done: z.string().max(20).optional(),
      }),
      day: z.object({ venue, date, capacity: z.union([z.literal('').transform(() => null), capacity]) }),
      slot: z.object({ venue, date, time: hhmm, capacity }),
      close: z.object({ venue, date, confirm }),
      open: z
        .object({ venue, date, confirm, from: z.union([z.literal('').transform(() => null), hhmm]).optional(), to: z.union([z.literal('').transform(() => null), hhmm]).optional() })
        .refine((o) => !o.from || !o.to || minutesOf(o.from) < minutesOf(o.to), { message: '終了時刻は開始時刻より後にしてください', path: ['to'] }),
    };
  }

  @Get()
  @Allow(...ROLES)
  async page(@Query() query: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const params = Object.fromEntries(Object.entries(query).filter(([, v]) => typeof v === 'string' && v !== '')) as Record<string, string>;
    const parsed = this.schemas().view.safeParse(params);
    const venue = parsed.success && parsed.data.venue ? parsed.data.venue : this.ward.venues[0].id;
    const date = parsed.success && parsed.data.date ? parsed.data.date : tokyoDate();
    const done = parsed.success && parsed.data.done && Object.hasOwn(DONE, parsed.data.done) ? DONE[parsed.data.done] : undefined;
    const errors: PageError[] = parsed.success ? [] : [{ form: 'view', field: 'date', message: '会場と日付を選び直してください' }];
    await this.render(req, res, parsed.success ? 200 : 400, venue, date, { done, errors });
  }

  @Post('day-capacity')
  @Allow(...ROLES)
  async dayCapacity(@Body() body: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const parsed = this.schemas().day.safeParse(body);
    if (!parsed.success) return this.refuse(req, res, body, 'day', parsed.error);
    const { venue, date, capacity: cap } = parsed.data;
    await this.slots.setDayCapacity(venue, date, cap, req.web.user.username);
    await this.log(req, `slots ${venue} ${date} day capacity ${cap ?? 'as configured'}`);
    res.redirect(303, this.url(venue, date, cap === null ? 'dayReset' : 'day'));
  }

  @Post('slot-capacity')
  @Allow(...ROLES)
  async slotCapacity(@Body() body: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const parsed = this.schemas().slot.safeParse(body);
    if (!parsed.success) return this.refuse(req, res, body, `slot-${str(body.time)}`, parsed.error);
    const { venue, date, time, capacity: cap } = parsed.data;
    const changed = await this.slots.setSlotCapacity(venue, tokyoInstant(date, time), cap);
    if (!changed) return this.render(req, res, 404, venue, date, { errors: [{ form: `slot-${time}`, field: 'capacity', message: `${time}に始まる枠はありません。ページを開き直してください。` }] });
    await this.log(req, `slots ${venue} ${date} ${time} capacity ${cap}`);
    res.redirect(303, this.url(venue, date, 'slot'));
  }

  @Post('close')
  @Allow(...ROLES)
  async close(@Body() body: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const parsed = this.schemas().close.safeParse(body);
    if (!parsed.success) return this.refuse(req, res, body, 'close', parsed.error);
    const { venue, date } = parsed.data;
    await this.slots.closeDay(venue, date, req.web.user.username);
    await this.log(req, `slots ${venue} ${date} closed`);
    res.redirect(303, this.url(venue, date, 'closed'));
  }

  @Post('open')
  @Allow(...ROLES)
  async open(@Body() body: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const parsed = this.schemas().open.safeParse(body);
    if (!parsed.success) return this.refuse(req, res, body, 'open', parsed.error);
    const { venue, date, from, to } = parsed.data;
    const calendar = (await this.slots.day(venue, date)).calendar;
    // The calendar's own hours are no change of the office's: the day goes back to the calendar.
    const hours = from && to && !(calendar.open && calendar.from === from && calendar.to === to) ? { from, to } : null;
    if (!calendar.open && !hours) {
      return this.render(req, res, 400, venue, date, { errors: [{ form: 'open', field: 'from', message: 'この日は暦では休業日です。開庁する時間（開始と終了）を入力してください。' }], submitted: body });
    }
    await this.slots.openDay(venue, date, hours, req.web.user.username);
    await this.log(req, `slots ${venue} ${date} opened ${hours ? `${hours.from}-${hours.to}` : 'as the calendar'}`);
    res.redirect(303, this.url(venue, date, 'opened'));
  }

  private url(venue: string, date: string, done?: string): string {
    return `/slots?venue=${encodeURIComponent(venue)}&date=${date}${done ? `&done=${done}` : ''}`;
  }

  private async log(req: WebRequest, detail: string): Promise<void> {
    await this.accessLog.record({ user: req.web.user, kind: 'change', cardIds: [], detail, channel: 'web', ip: req.ip, requestId: String(req.id ?? '') });
  }

  /** A refused form: the page again (the venue and day the form was for, if they were valid), the message beside the field. */
  private async refuse(req: WebRequest, res: Response, body: Record<string, unknown>, form: string, error: z.ZodError): Promise<void> {
    const venue = this.ward.venues.some((v) => v.id === body.venue) ? String(body.venue) : this.ward.venues[0].id;
    const date = /^\d{4}-\d{2}-\d{2}$/.test(str(body.date)) && str(body.date) >= '2000-01-01' && str(body.date) <= '2100-12-31' ? str(body.date) : tokyoDate();
    const errors = error.issues.map((i) => ({ form, field: String(i.path[0] ?? ''), message: i.message }));
    await this.render(req, res, 400, venue, date, { errors, submitted: body });
  }

  private async render(req: WebRequest, res: Response, status: number, venueId: string, date: string, opts: { done?: string; errors?: PageError[]; submitted?: Record<string, unknown> }) {
    const today = tokyoDate();
    const [day, attention] = await Promise.all([this.slots.day(venueId, date), this.slots.attention()]);
    const errors = opts.errors ?? [];
    const fieldError = (form: string, field: string) => errors.find((e) => e.form === form && e.field === field)?.message;
    const venueName = (id: string) => this.ward.venues.find((v) => v.id === id)?.name ?? id;
    const editable = date >= today && date <= addDays(today, EDIT_DAYS_AHEAD);
    const submitted = opts.submitted ?? {};
    const row = (s: SlotView) => {
      const time = timeOf(s.startsAt);
      return {
        ...s,
        time,
        end: timeOf(s.endsAt),
        key: time.replace(':', ''),
        status: !s.open ? '休止' : s.overCapacity ? '定員超過' : s.free === 0 ? '満員' : '受付中',
        warn: !s.open || s.overCapacity,
        error: fieldError(`slot-${time}`, 'capacity'),
        value: errors.some((e) => e.form === `slot-${time}`) ? str(submitted.capacity) : String(s.capacity),
      };
    };
    const o = day.opening;
    res.status(status).render('slots', {
      title: status >= 400 ? `入力に誤りがあります: 予約枠（${venueName(venueId)} ${dateLabel(date)}）` : `予約枠（${venueName(venueId)} ${dateLabel(date)}）`,
      nav: 'slots',
      web: req.web,
      venues: this.ward.venues.map((v) => ({ value: v.id, label: v.name, selected: v.id === venueId })),
      venueId,
      venueName: venueName(venueId),
      date,
      dateLabel: dateLabel(date),
      prev: this.url(venueId, addDays(date, -1)),
      next: this.url(venueId, addDays(date, 1)),
      todayUrl: date === today ? undefined : this.url(venueId, today),
      opening: o.open ? `${o.from}〜${o.to}（${o.why}）` : `休業（${o.why}）`,
      open: o.open,
      byOffice: o.byOffice,
      override: day.override && { ...day.override, updatedAt: day.override.updatedAt.toISOString() },
      calendarOpening: day.calendar.open ? `${day.calendar.from}〜${day.calendar.to}（${day.calendar.why}）` : `休業（${day.calendar.why}）`,
      calendarOpen: day.calendar.open,
      dayCapacity: day.override?.capacity ?? null,
      totals: { capacity: day.capacity, booked: day.booked, free: day.free },
      slots: day.slots.map(row),
      generated: day.slots.length > 0,
      editable,
      done: opts.done,
      errors: errors.map((e) => ({ ...e, anchor: anchorOf(e) })),
      dayError: fieldError('day', 'capacity') ?? fieldError('day', 'date') ?? fieldError('day', 'venue'),
      dayValue: errors.some((e) => e.form === 'day') ? str(submitted.capacity) : (day.override?.capacity ?? ''),
      closeError: fieldError('close', 'confirm') ?? fieldError('close', 'date') ?? fieldError('close', 'venue'),
      openError: fieldError('open', 'confirm') ?? fieldError('open', 'date') ?? fieldError('open', 'venue'),
      openFromError: fieldError('open', 'from'),
      openToError: fieldError('open', 'to'),
      openFrom: errors.some((e) => e.form === 'open') ? str(submitted.from) : o.open ? o.from : '08:30',
      openTo: errors.some((e) => e.form === 'open') ? str(submitted.to) : o.open ? o.to : '17:00',
      overCapacity: attention.overCapacity.map((s) => ({ ...s, venueName: venueName(s.venueId), label: `${dateLabel(dateOf(s.startsAt))} ${timeOf(s.startsAt)}〜${timeOf(s.endsAt)}`, url: this.url(s.venueId, dateOf(s.startsAt)) })),
      toMove: attention.toMove.map((b: BookingToMove) => ({ ...b, venueName: venueName(b.venueId), label: `${dateLabel(dateOf(b.startsAt))} ${timeOf(b.startsAt)}`, url: this.url(b.venueId, dateOf(b.startsAt)) })),
    });
  }
}
