/**
 * The call center's pages (R-4): find a caller without the booking number, the caller's card with
 * what the call center does on it (a reissue request for a lost or undelivered notice, bookings),
 * the no-show callback list in the call center's hours, and the office's list of reissue requests.
 * Japanese, server-rendered, usable without JavaScript and on a phone-sized screen.
 */
import { Body, Controller, Get, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { AccessLogService } from '../audit/access-log.service.js';
import { Allow } from '../auth/auth.types.js';
import type { WebSessionContext } from '../auth/web-auth.service.js';
import { type ActionAccess, CardsService } from '../cards/cards.service.js';
import { CardsErrorCode, CardsException } from '../cards/cards.exception.js';
import { VenueScope } from '../cards/venue-scope.js';
import { CommonException } from '../common/errors.js';
import { safeRandomUUID } from '../common/my-number.js';
import { parseOrThrow } from '../common/zod-validation.js';
import { WARD_CONFIG } from '../config/config.module.js';
import type { WardConfig } from '../config/ward-config.js';
import { TasksRepository } from '../tasks/tasks.repository.js';
import { type Booker, BookingService, type SlotView } from '../booking/booking.service.js';
import { addDays, tokyoDate } from '../calendar/business-days.js';
import { FormErrorRenderers, errorsByField } from '../web/form-errors.js';
import type { PageError } from '../web/messages.js';
import { STATE_LABELS, type Booking } from '../../workflows/card-state-machine.js';
import {
  CALLBACK_LIMIT,
  CALLCENTER_OUTCOMES,
  CALL_OUTCOMES,
  CALL_OUTCOME_LABELS,
  CallCenterRepository,
  type CallOutcome,
  type CallerRow,
  SEARCH_LIMIT,
  WARD_OUTCOMES,
} from './callcenter.repository.js';
import { CallCenterHours } from './hours.js';
import { searchCriteria } from './search-criteria.js';

type WebRequest = Request & { web: WebSessionContext };

const CARD_ID = /^[A-Za-z0-9][A-Za-z0-9-]{0,31}$/;
const cardIdSchema = z.string().regex(CARD_ID, 'must be a card id');
/** Visible text without control or format characters. */
const PLAIN = /^[^\p{Cc}\p{Cf}]*$/u;
const field = (max: number, label: string) =>
  z
    .string()
    .max(max, `${label}は${max}文字以内で入力してください。`)
    .regex(PLAIN, `${label}に使えない文字が含まれています。`)
    .optional()
    .transform((v) => (v ?? '').trim());

const channelSchema = z.enum(['phone', 'fax'], { error: '受付の方法（電話またはFAX）を選んでください。' });
const REISSUE_KINDS = { lost: '紛失', undelivered: '未着' } as const;
const reissueSchema = z.object({
  key: z.uuid(),
  channel: channelSchema,
  kind: z.enum(['lost', 'undelivered'], { error: '紛失か未着かを選んでください。' }),
  note: field(500, 'メモ'),
});
const venueIdSchema = z.string().regex(/^[a-z0-9_-]{1,30}$/, '会場を選んでください。');
const bookSchema = z.object({
  key: z.uuid(),
  channel: channelSchema,
  venueId: venueIdSchema,
  startsAt: z.iso.datetime({ offset: true, error: '時間を選んでください。' }),
  stockChecked: z.literal('yes').optional(),
});
const cancelSchema = z.object({ key: z.uuid(), channel: channelSchema, note: field(500, '理由') });
const pickerSchema = z.object({
  venue: venueIdSchema.optional(),
  date: z.iso.date().optional(),
});
/** How many days ahead the staff slot picker lists. */
const PICKER_DAYS = 28;

const callSchema = z.object({
  outcome: z.enum(CALL_OUTCOMES, { error: '結果を選んでください。' }),
  note: field(500, 'メモ'),
});

const CALLCENTER_ROLES = ['callcenter', 'ward'] as const;
const CARD_FORM = /^\/callcenter\/cards\/([A-Za-z0-9][A-Za-z0-9-]{0,31})\/(reissue|book|cancel)$/;
const CARD_FIELDS = ['channel', 'kind', 'note', 'venueId', 'startsAt', 'stockChecked'];
const DONE: Record<string, string> = {
  reissue: '再発行依頼を記録し、事務センターの一覧に載せました。',
  book: '予約を記録しました。',
  short: '予約を記録しました。3開庁日以内の予約のため、会場にカードの準備を依頼しました。',
  cancel: '予約を取り消しました。',
};
const WEEKDAYS = '日月火水木金土';
const hhmm = (iso: string) => new Date(Date.parse(iso) + 9 * 3_600_000).toISOString().slice(11, 16);

@ApiExcludeController()
@Controller()
export class CallCenterController {
  constructor(
    private readonly repo: CallCenterRepository,
    private readonly cards: CardsService,
    private readonly tasks: TasksRepository,
    private readonly booking: BookingService,
    private readonly accessLog: AccessLogService,
    private readonly hours: CallCenterHours,
    @Inject(WARD_CONFIG) private readonly ward: WardConfig,
    forms: FormErrorRenderers,
  ) {
    // A refused form on the caller's card draws the card again with the message and the input kept.
    forms.register(CARD_FORM, async ({ req, res, params: [id, form], status, errors, input }) => {
      if (status === 404 || status === 403) return false;
      await this.renderCard(req as WebRequest, res, id, status, { form, errors, input });
    });
  }

  /** A card action's access-log row, written with its idempotency fingerprint (CardsService.act). */
  private access(req: WebRequest, detail: string): ActionAccess {
    return { channel: 'web', ip: req.ip, requestId: String(req.id ?? ''), detail };
  }

  private log(req: WebRequest, kind: 'search' | 'read' | 'change', cardIds: string[], detail: string) {
    return this.accessLog.record({ user: req.web.user, kind, cardIds, detail, channel: 'web', ip: req.ip, requestId: String(req.id ?? '') });
  }

  private venueName(id: string | null | undefined): string | undefined {
    return this.ward.venues.find((v) => v.id === id)?.name;
  }

  private row(r: CallerRow) {
    return { ...r, stateLabel: STATE_LABELS[r.state] ?? r.state, venueName: this.venueName(r.venueId), booking: r.booking ? this.bookingView(r.booking) : undefined };
  }

  private bookingView(b: Booking) {
    return { ...b, venueName: this.venueName(b.venueId) ?? b.venueId };
  }

  /** Find a caller (R-4.2): by name in kanji or kana, date of birth, phone, part of the address, alone or together. */
  @Get('callcenter')
  @Allow(...CALLCENTER_ROLES)
  async search(@Query() query: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const values = Object.fromEntries(['name', 'birthDate', 'phone', 'address'].map((k) => [k, typeof query[k] === 'string' ? (query[k] as string).slice(0, 200) : '']));
    const { criteria, problems, given } = searchCriteria(query);
    let items: ReturnType<CallCenterController['row']>[] | undefined;
    let tooMany = false;
    if (problems.length === 0 && given.length > 0) {
      const rows = await this.repo.search(VenueScope.of(req.web.user), criteria);
      tooMany = rows.length > SEARCH_LIMIT;
      // Too many: nobody's data is shown; the caller is asked for another detail.
      items = tooMany ? [] : rows.map((r) => this.row(r));
      if (items.length > 0) await this.log(req, 'search', items.map((i) => i.cardId), `callcenter search by ${given.join(', ')}`);
    }
    const errors = errorsByField(problems, ['name', 'birthDate', 'phone', 'address']);
    res.status(problems.length ? 400 : 200).render('callcenter-search', {
      title: '問い合わせ対応（住民の検索）',
      nav: 'callcenter',
      web: req.web,
      values,
      errors: errors.fields,
      hasErrors: problems.length > 0,
      searched: items !== undefined,
      items: items ?? [],
      tooMany,
      limit: SEARCH_LIMIT,
    });
  }

  @Get('callcenter/cards/:cardId')
  @Allow(...CALLCENTER_ROLES)
  async card(@Param('cardId') cardId: string, @Query() query: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const id = parseOrThrow(cardIdSchema, cardId, 'cardId');
    const picker = parseOrThrow(pickerSchema, { venue: query.venue || undefined, date: query.date || undefined }, 'query');
    await this.renderCard(req, res, id, 200, { done: typeof query.done === 'string' ? query.done.slice(0, 20) : undefined, picker });
  }

  /** The staff slot picker: the venue, its days with free places, and the chosen day's free times. */
  private async slotPicker(user: WebRequest['web']['user'], cardVenue: string | null, picker: { venue?: string; date?: string }) {
    const booker: Booker = { kind: 'staff', user, channel: 'phone' };
    const today = tokyoDate();
    const earliest = this.booking.earliestDate(booker, today);
    const venueId = picker.venue && this.ward.venues.some((v) => v.id === picker.venue) ? picker.venue : (cardVenue ?? this.ward.venues[0]?.id);
    const slots = venueId ? await this.booking.freeSlots(venueId, today, addDays(today, PICKER_DAYS)) : [];
    const upcoming = slots.filter((s) => Date.parse(s.endsAt) > Date.now());
    const byDay = new Map<string, SlotView[]>();
    for (const slot of upcoming) {
      const day = tokyoDate(new Date(slot.startsAt));
      byDay.set(day, [...(byDay.get(day) ?? []), slot]);
    }
    const date = picker.date && byDay.has(picker.date) ? picker.date : undefined;
    return {
      venueId,
      venues: this.ward.venues.map((v) => ({ value: v.id, label: v.name, selected: v.id === venueId, cardIsHere: v.id === cardVenue })),
      earliest,
      days: [...byDay.entries()].map(([day, list]) => ({
        date: day,
        label: `${day.slice(5).replace('-', '/')}（${WEEKDAYS[new Date(`${day}T00:00:00Z`).getUTCDay()]}）`,
        free: list.reduce((n, s) => n + s.free, 0),
        shortNotice: day < earliest,
        current: day === date,
      })),
      date,
      shortNoticeDay: date !== undefined && date < earliest,
      times: (date ? byDay.get(date)! : []).map((s) => ({ startsAt: s.startsAt, label: `${hhmm(s.startsAt)}〜${hhmm(s.endsAt)}（空き${s.free}）` })),
    };
  }

  private async renderCard(
    req: WebRequest,
    res: Response,
    id: string,
    status: number,
    opts: { done?: string; form?: string; errors?: PageError[]; input?: Record<string, unknown>; picker?: { venue?: string; date?: string } },
  ) {
    const detail = await this.cards.get(id, req.web.user);
    const calls = await this.repo.calls(VenueScope.of(req.web.user), id);
    await this.log(req, 'read', [id], 'callcenter card');
    const allowed = new Set(detail.allowedActions.map((a) => a.action));
    const input = opts.input ?? {};
    const text = (v: unknown, max = 500) => (typeof v === 'string' ? v.slice(0, max) : '');
    const split = errorsByField(opts.errors ?? [], CARD_FIELDS);
    const notices = detail.timeline.filter((e) => ['mail_notice', 'record_return', 'mail_renotice', 'record_reissue_request'].includes(e.type));
    const bookingForm = opts.form === 'book' || opts.form === 'cancel' ? opts.form : undefined;
    // After a refused booking, the picker stays on the venue and day that were chosen.
    const failedSlot = bookingForm === 'book' && typeof input.startsAt === 'string' && !Number.isNaN(Date.parse(input.startsAt)) ? input.startsAt : undefined;
    const picker = allowed.has('reserve')
      ? await this.slotPicker(req.web.user, detail.card.venueId, opts.picker ?? { venue: text(input.venueId, 30) || undefined, date: failedSlot ? tokyoDate(new Date(failedSlot)) : undefined })
      : undefined;
    res.status(status).render('callcenter-card', {
      title: `問い合わせ対応 カード ${id}`,
      nav: 'callcenter',
      web: req.web,
      card: detail.card,
      venueName: this.venueName(detail.card.venueId),
      booking: detail.booking ? this.bookingView(detail.booking) : undefined,
      notices,
      calls: calls.map((c) => ({ ...c, outcomeLabel: CALL_OUTCOME_LABELS[c.outcome] })),
      done: opts.done && Object.hasOwn(DONE, opts.done) ? DONE[opts.done] : undefined,
      failedForm: opts.form,
      generalErrors: split.general,
      reissue: allowed.has('record_reissue_request')
        ? {
            key: safeRandomUUID(),
            errors: opts.form === 'reissue' ? split.fields : {},
            channel: opts.form === 'reissue' ? text(input.channel, 10) : 'phone',
            kind: opts.form === 'reissue' ? text(input.kind, 20) : '',
            note: opts.form === 'reissue' ? text(input.note) : '',
          }
        : undefined,
      openReissue: (await this.tasks.openForCard(id)).some((t) => t.kind === 'reissue'),
      book: picker
        ? {
            ...picker,
            key: safeRandomUUID(),
            change: detail.card.state === 'reserved',
            errors: bookingForm === 'book' ? split.fields : {},
            channel: bookingForm === 'book' ? text(input.channel, 10) : 'phone',
            stockChecked: bookingForm === 'book' && input.stockChecked === 'yes',
            times: picker.times.map((t) => ({ ...t, checked: t.startsAt === failedSlot })),
          }
        : undefined,
      cancel: allowed.has('cancel_reservation')
        ? { key: safeRandomUUID(), errors: bookingForm === 'cancel' ? split.fields : {}, channel: bookingForm === 'cancel' ? text(input.channel, 10) : 'phone', note: bookingForm === 'cancel' ? text(input.note) : '' }
        : undefined,
    });
  }

  /**
   * Books or changes the caller's booking (R-4.1, R-4.3) through BookingService, with the channel
   * (phone or FAX). A day within 3 business days needs the clerk's explicit 会場在庫を確認済み; the
   * service then checks that the card is at that venue and the slot has room, and puts a "prepare
   * this card" task on the venue's list.
   */
  @Post('callcenter/cards/:cardId/book')
  @Allow(...CALLCENTER_ROLES)
  async book(@Param('cardId') cardId: string, @Body() body: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const id = parseOrThrow(cardIdSchema, cardId, 'cardId');
    const input = parseOrThrow(bookSchema, body);
    const booker: Booker = { kind: 'staff', user: req.web.user, channel: input.channel };
    const shortNotice = tokyoDate(new Date(input.startsAt)) < this.booking.earliestDate(booker);
    if (shortNotice && !input.stockChecked) {
      throw CommonException.validation([
        {
          field: 'stockChecked',
          message: `3開庁日以内（${this.booking.earliestDate(booker)}より前）の予約です。カードがその会場にあり、枠に空きがあることを会場に確認してから「会場在庫を確認済み」にチェックを入れてください。`,
        },
      ]);
    }
    const access = this.access(req, `reserve via ${input.channel}${shortNotice ? ' (short notice)' : ''}`);
    await this.booking.book(id, { venueId: input.venueId, startsAt: new Date(input.startsAt).toISOString() }, { ...booker, access }, input.key);
    res.redirect(303, `/callcenter/cards/${id}?done=${shortNotice ? 'short' : 'book'}`);
  }

  @Post('callcenter/cards/:cardId/cancel')
  @Allow(...CALLCENTER_ROLES)
  async cancelBooking(@Param('cardId') cardId: string, @Body() body: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const id = parseOrThrow(cardIdSchema, cardId, 'cardId');
    const input = parseOrThrow(cancelSchema, body);
    const access = this.access(req, `cancel_reservation via ${input.channel}`);
    await this.booking.cancel(id, { kind: 'staff', user: req.web.user, channel: input.channel, access }, input.key, input.note || undefined);
    res.redirect(303, `/callcenter/cards/${id}?done=cancel`);
  }

  /** A lost or undelivered notice (R-4.4): recorded on the card with the channel, and put on the office's list. */
  @Post('callcenter/cards/:cardId/reissue')
  @Allow(...CALLCENTER_ROLES)
  async reissue(@Param('cardId') cardId: string, @Body() body: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const id = parseOrThrow(cardIdSchema, cardId, 'cardId');
    const input = parseOrThrow(reissueSchema, body);
    const reason = `${REISSUE_KINDS[input.kind]}${input.note ? `：${input.note}` : ''}`;
    await this.cards.act(id, 'record_reissue_request', { reason }, req.web.user, input.key, input.channel, this.access(req, `record_reissue_request via ${input.channel}`));
    // The office's list; one open request per card (a retried form finds the same one).
    await this.tasks.open({ kind: 'reissue', cardId: id, venueId: null, note: `${reason}（${input.channel === 'fax' ? 'FAX' : '電話'}）`, createdBy: req.web.user.username });
    res.redirect(303, `/callcenter/cards/${id}?done=reissue`);
  }

  /** The office's list of open reissue requests, with a button to mark one handled. */
  @Get('reissue-requests')
  @Allow('office', 'ward', 'callcenter', 'auditor')
  async reissues(@Query('done') done: string | undefined, @Req() req: WebRequest, @Res() res: Response) {
    const items = await this.repo.openReissues(VenueScope.of(req.web.user));
    if (items.length) await this.log(req, 'search', items.map((i) => i.cardId), 'reissue requests');
    res.render('reissue-requests', {
      title: '通知書の再発行依頼',
      nav: 'reissue',
      web: req.web,
      items: items.map((i) => ({ ...i, stateLabel: STATE_LABELS[i.state] ?? i.state })),
      canComplete: ['office', 'ward'].includes(req.web.user.role),
      done: done === '1',
    });
  }

  @Post('reissue-requests/:taskId/done')
  @Allow('office', 'ward')
  async reissueDone(@Param('taskId') taskId: string, @Req() req: WebRequest, @Res() res: Response) {
    const id = parseOrThrow(z.string().regex(/^[1-9]\d{0,17}$/), taskId, 'taskId');
    const open = (await this.repo.openReissues(VenueScope.of(req.web.user), 10_000)).find((t) => t.taskId === id);
    if (!open) throw new CardsException(CardsErrorCode.CARD_NOT_FOUND, `no open reissue request ${id}`);
    await this.tasks.complete(id, req.web.user.username);
    await this.log(req, 'change', [open.cardId], 'reissue request handled');
    res.redirect(303, '/reissue-requests?done=1');
  }

  /**
   * The no-show callback list (R-4.6), in the call center's hours only (R-4.5): the cards to call,
   * and the unclear ones for the ward (区に確認). The ward sees both at any time and answers the
   * unclear ones.
   */
  @Get('callcenter/callbacks')
  @Allow(...CALLCENTER_ROLES)
  async callbacks(@Query('list') list: string | undefined, @Query('done') done: string | undefined, @Req() req: WebRequest, @Res() res: Response) {
    await this.renderCallbacks(req, res, list === 'ward' ? 'ward' : 'call', 200, { done: done === '1' });
  }

  private async renderCallbacks(req: WebRequest, res: Response, list: 'call' | 'ward', status: number, opts: { done?: boolean; error?: { cardId: string; errors: PageError[] } }) {
    const isWard = req.web.user.role === 'ward';
    const open = this.hours.openNow();
    if (!open && !isWard) {
      res.status(status).render('callcenter-callbacks', { title: '予約不来の架電リスト', nav: 'callbacks', web: req.web, closed: true, hours: this.hours.text() });
      return;
    }
    const all = await this.repo.callbacks(VenueScope.of(req.web.user));
    const more = all.length > CALLBACK_LIMIT;
    const rows = all.slice(0, CALLBACK_LIMIT);
    const toCall = rows.filter((r) => r.unclear.length === 0);
    const unclear = rows.filter((r) => r.unclear.length > 0);
    const items = list === 'ward' ? unclear : toCall;
    if (items.length) await this.log(req, 'search', items.map((i) => i.cardId), `callback list ${list}`);
    const outcomes = (isWard ? WARD_OUTCOMES : CALLCENTER_OUTCOMES).map((o) => ({ value: o, label: CALL_OUTCOME_LABELS[o] }));
    res.status(status).render('callcenter-callbacks', {
      title: list === 'ward' ? '予約不来: 区に確認' : '予約不来の架電リスト',
      nav: 'callbacks',
      web: req.web,
      closed: false,
      hours: this.hours.text(),
      list,
      tabs: [
        { href: '/callcenter/callbacks', title: '架電リスト', count: toCall.length, current: list === 'call' },
        { href: '/callcenter/callbacks?list=ward', title: '区に確認', count: unclear.length, current: list === 'ward' },
      ],
      // The call center records calls only in its hours; the ward answers the unclear cases.
      canRecord: isWard ? list === 'ward' : open,
      outcomes,
      more,
      done: opts.done,
      items: items.map((r) => ({
        ...this.row(r),
        lastOutcomeLabel: r.lastOutcome ? CALL_OUTCOME_LABELS[r.lastOutcome] : undefined,
        lastCalledAt: r.lastCalledAt?.toISOString(),
        calls: r.calls,
        unclear: r.unclear,
        errors: opts.error?.cardId === r.cardId ? opts.error.errors.map((e) => e.message) : [],
      })),
    });
  }

  /** Records one call's outcome (append-only `callback_call`). */
  @Post('callcenter/callbacks/:cardId')
  @Allow(...CALLCENTER_ROLES)
  async recordCall(@Param('cardId') cardId: string, @Body() body: Record<string, unknown>, @Query('list') list: string | undefined, @Req() req: WebRequest, @Res() res: Response) {
    const id = parseOrThrow(cardIdSchema, cardId, 'cardId');
    const isWard = req.web.user.role === 'ward';
    const back = list === 'ward' ? 'ward' : 'call';
    if (!isWard && !this.hours.openNow()) {
      throw CommonException.validation([{ field: 'outcome', message: `受付時間外のため記録できません（${this.hours.text()}）。` }]);
    }
    const parsed = callSchema.safeParse(body);
    const allowed: readonly CallOutcome[] = isWard ? WARD_OUTCOMES : CALLCENTER_OUTCOMES;
    if (!parsed.success || !allowed.includes(parsed.data.outcome)) {
      const errors = parsed.success ? [{ message: '結果を選び直してください。' }] : parsed.error.issues.map((i) => ({ message: i.message }));
      await this.renderCallbacks(req, res, back, 400, { error: { cardId: id, errors } });
      return;
    }
    // Only a card on the lists (in the scope) can be called about.
    const onList = (await this.repo.callbacks(VenueScope.of(req.web.user))).some((r) => r.cardId === id);
    if (!onList) throw new CardsException(CardsErrorCode.CARD_NOT_FOUND, `card ${id} is not on the callback list`);
    await this.repo.recordCall({ cardId: id, outcome: parsed.data.outcome, note: parsed.data.note, calledBy: req.web.user.username, role: req.web.user.role });
    await this.log(req, 'change', [id], `callback ${parsed.data.outcome}`);
    res.redirect(303, `/callcenter/callbacks?${back === 'ward' ? 'list=ward&' : ''}done=1`);
  }
}
