/**
 * The venues' pages (R-5.1–R-5.5): the day's bookings with check-in and the waiting estimate, the
 * counter page of one resident (issue, or documents missing, and the card's storage place), the
 * ward-approved unbooked queue, the fetch list, the stock, and mismatches raised to the office.
 * Venue staff see their own venue only (`VenueScope`); the ward and the office choose a venue.
 */
import { Body, Controller, Get, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { TZDate } from '@date-fns/tz';
import { format } from 'date-fns';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { AccessLogService } from '../audit/access-log.service.js';
import { Allow } from '../auth/auth.types.js';
import type { WebSessionContext } from '../auth/web-auth.service.js';
import { addDays, tokyoDate } from '../calendar/business-days.js';
import { CardsErrorCode, CardsException } from '../cards/cards.exception.js';
import { CardsService } from '../cards/cards.service.js';
import { VenueScope } from '../cards/venue-scope.js';
import { safeRandomUUID } from '../common/my-number.js';
import { CommonException } from '../common/errors.js';
import { parseOrThrow } from '../common/zod-validation.js';
import { WARD_CONFIG } from '../config/config.module.js';
import type { WardConfig } from '../config/ward-config.js';
import { TasksRepository } from '../tasks/tasks.repository.js';
import { FormErrorRenderers, errorsByField } from '../web/form-errors.js';
import type { PageError } from '../web/messages.js';
import { STATE_LABELS, type CardStateName } from '../../workflows/card-state-machine.js';
import { CardStorageRepository, storagePlaceSchema } from './card-storage.repository.js';
import { VENUE_DESK_CONFIG, type VenueDeskConfig } from './venue-desk.config.js';
import { VenueDeskRepository } from './venue-desk.repository.js';
import { waitingEstimate } from './waiting.js';

type WebRequest = Request & { web: WebSessionContext };

export const VENUE_ROLES = ['venue', 'ward', 'office'] as const;
export const VENUE_ID = /^[a-z0-9_-]{1,30}$/;
export const CARD_ID = /^[A-Za-z0-9][A-Za-z0-9-]{0,31}$/;
const cardIdField = z.string({ error: 'カード番号を入力してください' }).trim().regex(CARD_ID, 'カード番号は英数字とハイフン（32文字以内）で入力してください');
const personText = (label: string, max: number) =>
  z
    .string({ error: `${label}を入力してください` })
    .trim()
    .min(1, `${label}を入力してください`)
    .max(max, `${label}は${max}文字以内で入力してください`)
    .regex(/^[^\p{Cc}\p{Cf}]*$/u, `${label}に制御文字は使えません`);

const checkInSchema = z.object({ cardId: cardIdField });
const unbookedSchema = z.object({ cardId: cardIdField, approvedBy: personText('承認した区職員', 100), reason: personText('理由', 500) });
const storageSchema = z.object({ place: storagePlaceSchema, back: z.enum(['counter', 'fetch', 'stock']).default('counter') });
const counterActionSchema = z.object({
  key: z.uuid(),
  reason: z.string().trim().max(2000, '理由は2000文字以内にしてください。').regex(/^(?:[^\p{Cc}\p{Cf}]|[\n\r\t])*$/u, '理由に制御文字は使えません。').optional(),
  confirm: z.string().max(10).optional(),
});
const mismatchSchema = z.object({
  cardId: z.union([z.literal(''), cardIdField]).default(''),
  bookingNumber: z.union([z.literal(''), z.string().trim().regex(/^[A-Za-z0-9-]{1,20}$/, '予約番号は英数字（20文字以内）で入力してください')]).default(''),
  kind: z.enum(['booking', 'card_missing'], { error: '不一致の種類を選んでください' }),
  note: personText('内容', 1000),
});

/** What each kind of mismatch says on the office's task. */
export const MISMATCH_KINDS: Record<'booking' | 'card_missing', string> = {
  booking: '予約の内容がシステムと一致しない',
  card_missing: 'カードが会場にない',
};

const DONE: Record<string, string> = {
  checkin: '受付を記録しました。',
  issue: '交付を記録しました。',
  mark_documents_missing: '書類不備を記録しました。',
  unbooked: '予約外（区承認）の方を受付しました。カードを保管場所からすぐに取り出してください（取り出しリストの先頭にあります）。',
  mismatch: '不一致を事務センターとコールセンターのタスクとして登録しました。',
  walkin: '当日の空き枠に予約し、受付しました。',
  storage: '保管場所を記録しました。',
};

const hhmm = (d: Date | null) => (d ? format(new TZDate(d.getTime(), 'Asia/Tokyo'), 'HH:mm') : '');
const text = (v: unknown, max = 2000) => (typeof v === 'string' ? v.slice(0, max) : '');
const stateLabel = (s: string) => STATE_LABELS[s as CardStateName] ?? s;
const dateLabel = (iso: string) => {
  const d = new Date(`${iso}T00:00:00Z`);
  return `${iso.replaceAll('-', '/')}（${'日月火水木金土'[d.getUTCDay()]}）`;
};

@ApiExcludeController()
@Controller('venues')
export class VenuePagesController {
  constructor(
    private readonly desk: VenueDeskRepository,
    private readonly storage: CardStorageRepository,
    private readonly cards: CardsService,
    private readonly tasks: TasksRepository,
    private readonly accessLog: AccessLogService,
    @Inject(WARD_CONFIG) private readonly ward: WardConfig,
    @Inject(VENUE_DESK_CONFIG) private readonly deskConfig: VenueDeskConfig,
    forms: FormErrorRenderers,
  ) {
    const v = '([a-z0-9_-]{1,30})';
    const c = '([A-Za-z0-9][A-Za-z0-9-]{0,31})';
    forms.register(new RegExp(`^/venues/${v}/counter/${c}/(?:actions/[a-z_]{1,40}|storage)$`), async ({ req, res, params: [venueId, cardId], status, errors, input }) => {
      if (status === 403 || status === 404) return false;
      const action = /\/actions\/([a-z_]+)$/.exec(req.path)?.[1] ?? 'storage';
      await this.renderCounter(req as WebRequest, res, venueId, cardId, status, { action, errors, input });
    });
    forms.register(new RegExp(`^/venues/${v}/(checkin|unbooked)$`), async ({ req, res, params: [venueId, form], status, errors, input }) => {
      if (status === 403 || status === 404) return false;
      await this.renderDay(req as WebRequest, res, venueId, status, { form, errors, input });
    });
    forms.register(new RegExp(`^/venues/${v}/mismatch$`), async ({ req, res, params: [venueId], status, errors, input }) => {
      if (status === 403 || status === 404) return false;
      this.renderMismatch(req as WebRequest, res, venueId, status, { errors, input });
    });
  }

  private venue(id: string) {
    const venue = VENUE_ID.test(id) ? this.ward.venues.find((v) => v.id === id) : undefined;
    if (!venue) throw new CardsException(CardsErrorCode.CARD_NOT_FOUND, `no venue ${id.slice(0, 40)}`);
    return venue;
  }

  /** A venue user goes to their own venue; the ward and the office choose one. */
  @Get()
  @Allow(...VENUE_ROLES)
  index(@Req() req: WebRequest, @Res() res: Response) {
    const scope = VenueScope.of(req.web.user);
    if (scope.restricted) return res.redirect(303, `/venues/${scope.venueId}`);
    res.render('venues', { title: '会場', nav: 'venues', web: req.web, venues: this.ward.venues });
  }

  @Get(':venueId')
  @Allow(...VENUE_ROLES)
  async day(@Param('venueId') venueId: string, @Query('done') done: string | undefined, @Req() req: WebRequest, @Res() res: Response) {
    await this.renderDay(req, res, venueId, 200, { done });
  }

  private async renderDay(req: WebRequest, res: Response, venueId: string, status: number, opts: { done?: string; form?: string; errors?: PageError[]; input?: Record<string, unknown> }) {
    const venue = this.venue(venueId);
    const scope = VenueScope.of(req.web.user);
    const date = tokyoDate();
    const bookings = await this.desk.dayBookings(scope, venue.id, date);
    const unbooked = await this.desk.unbooked(scope, venue.id, date);
    const minutes = this.deskConfig.minutesPerResident(venue.id);
    const wait = waitingEstimate(bookings, minutes);
    await this.accessLog.record({
      user: req.web.user,
      kind: 'read',
      cardIds: [...bookings.map((b) => b.cardId), ...unbooked.map((u) => u.cardId)],
      detail: `venue day list ${venue.id} ${date}`,
      channel: 'web',
      ip: req.ip,
      requestId: String(req.id ?? ''),
    });
    const split = opts.errors ? errorsByField(opts.errors, opts.form === 'unbooked' ? ['cardId', 'approvedBy', 'reason'] : []) : undefined;
    res.status(status).render('venue-day', {
      tab: 'day',
      title: `本日の予約 ${venue.name}`,
      nav: 'venues',
      web: req.web,
      venue,
      dateLabel: dateLabel(date),
      done: opts.done && Object.hasOwn(DONE, opts.done) ? DONE[opts.done] : undefined,
      errors: split?.general ?? [],
      unbookedErrors: opts.form === 'unbooked' ? (split?.fields ?? {}) : {},
      unbookedValues: opts.form === 'unbooked' ? { cardId: text(opts.input?.cardId, 32), approvedBy: text(opts.input?.approvedBy, 100), reason: text(opts.input?.reason, 500) } : {},
      wait: { waiting: wait.waiting, minutes, next: wait.nextMinutes },
      rows: bookings.map((b) => {
        const queued = wait.byCard.get(b.cardId);
        return {
          ...b,
          time: `${hhmm(b.startsAt)}〜${hhmm(b.endsAt)}`,
          stateLabel: stateLabel(b.state),
          arrived: hhmm(b.arrivedAt),
          canCheckIn: !b.arrivedAt && b.status === 'booked' && !b.served,
          waiting: queued ? { ahead: queued.ahead, minutes: queued.minutes } : undefined,
        };
      }),
      unbooked: unbooked.map((u) => ({ ...u, stateLabel: stateLabel(u.state), arrived: hhmm(u.arrivedAt) })),
    });
  }

  @Post(':venueId/checkin')
  @Allow(...VENUE_ROLES)
  async checkIn(@Param('venueId') venueId: string, @Body() body: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const venue = this.venue(venueId);
    const input = parseOrThrow(checkInSchema, body);
    await this.desk.checkIn(VenueScope.of(req.web.user), venue.id, tokyoDate(), input.cardId, req.web.user.username);
    await this.accessLog.record({ user: req.web.user, kind: 'change', cardIds: [input.cardId], detail: `venue check-in ${venue.id}`, channel: 'web', ip: req.ip, requestId: String(req.id ?? '') });
    res.redirect(303, `/venues/${venue.id}?done=checkin#c-${input.cardId}`);
  }

  @Post(':venueId/unbooked')
  @Allow(...VENUE_ROLES)
  async queueUnbooked(@Param('venueId') venueId: string, @Body() body: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const venue = this.venue(venueId);
    const input = parseOrThrow(unbookedSchema, body);
    await this.desk.queueUnbooked(VenueScope.of(req.web.user), venue.id, tokyoDate(), input, req.web.user.username);
    await this.accessLog.record({ user: req.web.user, kind: 'change', cardIds: [input.cardId], detail: `venue unbooked (ward-approved) ${venue.id}`, channel: 'web', ip: req.ip, requestId: String(req.id ?? '') });
    res.redirect(303, `/venues/${venue.id}?done=unbooked`);
  }

  /** One resident at the counter: the card, the booking, check-in, issue or documents missing, the storage place. */
  @Get(':venueId/counter/:cardId')
  @Allow(...VENUE_ROLES)
  async counter(@Param('venueId') venueId: string, @Param('cardId') cardId: string, @Query('done') done: string | undefined, @Req() req: WebRequest, @Res() res: Response) {
    await this.renderCounter(req, res, venueId, cardId, 200, { done });
  }

  private async renderCounter(req: WebRequest, res: Response, venueId: string, rawCardId: string, status: number, opts: { done?: string; action?: string; errors?: PageError[]; input?: Record<string, unknown> }) {
    const venue = this.venue(venueId);
    const scope = VenueScope.of(req.web.user);
    this.desk.assertVenue(scope, venue.id);
    const cardId = parseOrThrow(z.string().regex(CARD_ID), rawCardId, 'cardId');
    // Through the reader's scope: another venue's card is unknown here.
    const detail = await this.cards.get(cardId, req.web.user);
    const date = tokyoDate();
    const today = (await this.desk.dayBookings(scope, venue.id, date)).find((b) => b.cardId === cardId);
    const unbooked = (await this.desk.unbooked(scope, venue.id, date)).find((u) => u.cardId === cardId);
    const place = await this.storage.get(cardId);
    await this.accessLog.record({ user: req.web.user, kind: 'read', cardIds: [cardId], detail: `venue counter page ${venue.id}`, channel: 'web', ip: req.ip, requestId: String(req.id ?? '') });
    const fields = ['reason', 'confirm', 'place'];
    const split = opts.errors ? errorsByField(opts.errors, fields) : undefined;
    const allowed = new Set(detail.allowedActions.map((a) => a.action));
    const errorsFor = (action: string) => (opts.action === action ? (split?.fields ?? {}) : {});
    res.status(status).render('venue-counter', {
      title: `窓口 ${cardId}`,
      nav: 'venues',
      web: req.web,
      venue,
      card: detail.card,
      booking: detail.booking,
      bookingVenueName: this.ward.venues.find((v) => v.id === detail.booking?.venueId)?.name,
      today: today ? { ...today, arrived: hhmm(today.arrivedAt), canCheckIn: !today.arrivedAt && !today.served && today.status === 'booked' } : undefined,
      unbooked: unbooked ? { ...unbooked, arrived: hhmm(unbooked.arrivedAt) } : undefined,
      place: place && place.venueId === venue.id ? place : undefined,
      done: opts.done && Object.hasOwn(DONE, opts.done) ? DONE[opts.done] : undefined,
      errors: split?.general ?? [],
      issue: allowed.has('issue') ? { key: safeRandomUUID(), errors: errorsFor('issue') } : undefined,
      missing: allowed.has('mark_documents_missing') ? { key: safeRandomUUID(), errors: errorsFor('mark_documents_missing'), reason: opts.action === 'mark_documents_missing' ? text(opts.input?.reason) : '' } : undefined,
      storageErrors: errorsFor('storage'),
      placeValue: opts.action === 'storage' ? text(opts.input?.place, 50) : (place?.place ?? ''),
    });
  }

  @Post(':venueId/counter/:cardId/actions/:action')
  @Allow(...VENUE_ROLES)
  async act(@Param('venueId') venueId: string, @Param('cardId') rawCardId: string, @Param('action') action: string, @Body() body: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const venue = this.venue(venueId);
    this.desk.assertVenue(VenueScope.of(req.web.user), venue.id);
    const cardId = parseOrThrow(z.string().regex(CARD_ID), rawCardId, 'cardId');
    if (action !== 'issue' && action !== 'mark_documents_missing') throw new CardsException(CardsErrorCode.UNKNOWN_ACTION, `no counter action ${action.slice(0, 40)}`);
    const input = parseOrThrow(counterActionSchema, body);
    if (action === 'issue' && input.confirm !== 'yes') throw CommonException.validation([{ field: 'confirm', message: '取り消せない操作です。本人確認と書類を確かめて、確認のチェックを入れてください。' }]);
    if (action === 'mark_documents_missing' && !input.reason) throw CommonException.validation([{ field: 'reason', message: '不足している書類を入力してください（この操作には理由の記録が必要です）。' }]);
    // The access-log row is written with the key's fingerprint, before the action is sent.
    await this.cards.act(cardId, action, { reason: input.reason || undefined }, req.web.user, input.key, 'counter', { channel: 'web', ip: req.ip, requestId: String(req.id ?? '') });
    await this.desk.markServed(venue.id, tokyoDate(), cardId);
    res.redirect(303, `/venues/${venue.id}?done=${action}#c-${cardId}`);
  }

  @Post(':venueId/counter/:cardId/storage')
  @Allow(...VENUE_ROLES)
  async setStorage(@Param('venueId') venueId: string, @Param('cardId') rawCardId: string, @Body() body: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const venue = this.venue(venueId);
    const cardId = parseOrThrow(z.string().regex(CARD_ID), rawCardId, 'cardId');
    const input = parseOrThrow(storageSchema, body);
    if (!(await this.desk.cardAtVenue(VenueScope.of(req.web.user), venue.id, cardId))) throw new CardsException(CardsErrorCode.CARD_NOT_FOUND, `no card ${cardId} at ${venue.id}`);
    await this.storage.set(cardId, venue.id, input.place, req.web.user.username);
    await this.accessLog.record({ user: req.web.user, kind: 'change', cardIds: [cardId], detail: `storage place ${venue.id}`, channel: 'web', ip: req.ip, requestId: String(req.id ?? '') });
    const back = input.back === 'counter' ? `/venues/${venue.id}/counter/${cardId}` : `/venues/${venue.id}/${input.back}`;
    res.redirect(303, `${back}?done=storage`);
  }

  /** The cards to bring from storage: ward-approved residents first, then today's and tomorrow's bookings. */
  @Get(':venueId/fetch')
  @Allow(...VENUE_ROLES)
  async fetchList(@Param('venueId') venueId: string, @Query('done') done: string | undefined, @Req() req: WebRequest, @Res() res: Response) {
    const venue = this.venue(venueId);
    const date = tokyoDate();
    const items = await this.desk.fetchList(VenueScope.of(req.web.user), venue.id, date);
    const tomorrow = addDays(date, 1);
    res.render('venue-fetch', {
      tab: 'fetch',
      title: `取り出しリスト ${venue.name}`,
      nav: 'venues',
      web: req.web,
      venue,
      done: done === 'storage' ? DONE.storage : undefined,
      dates: `${dateLabel(date)}・${dateLabel(tomorrow)}`,
      items: items.map((i) => ({
        ...i,
        when: i.kind === 'ward_approved' ? '予約外（区承認）・すぐに' : `${tokyoDate(i.startsAt!) === date ? '本日' : '明日'} ${hhmm(i.startsAt)}`,
        urgent: i.kind === 'ward_approved',
        stateLabel: stateLabel(i.state),
      })),
    });
  }

  /** The stock at the venue (R-5.3): counts by state and by storage place, and the cards at one place. */
  @Get(':venueId/stock')
  @Allow(...VENUE_ROLES)
  async stock(@Param('venueId') venueId: string, @Query() query: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const venue = this.venue(venueId);
    const scope = VenueScope.of(req.web.user);
    const q = parseOrThrow(z.object({ place: z.string().max(50).optional(), none: z.literal('1').optional(), done: z.string().max(20).optional() }), query, 'query');
    const counts = await this.desk.stockCounts(scope, venue.id);
    const selected = q.none ? null : q.place !== undefined && q.place.trim() !== '' ? q.place.trim() : undefined;
    const list = selected !== undefined ? await this.desk.stockAt(scope, venue.id, selected) : undefined;
    res.render('venue-stock', {
      tab: 'stock',
      title: `在庫 ${venue.name}`,
      nav: 'venues',
      web: req.web,
      venue,
      done: q.done === 'storage' ? DONE.storage : undefined,
      total: counts.byState.reduce((n, s) => n + s.n, 0),
      byState: counts.byState.map((s) => ({ ...s, label: stateLabel(s.state) })),
      byPlace: counts.byPlace.map((p) => ({ ...p, link: p.place === null ? `?none=1` : `?place=${encodeURIComponent(p.place)}` })),
      selected: selected === undefined ? undefined : { label: selected ?? '保管場所未設定', items: list!.map((c) => ({ ...c, stateLabel: stateLabel(c.state) })), full: list!.length >= 500 },
    });
  }

  @Get(':venueId/mismatch')
  @Allow(...VENUE_ROLES)
  mismatchForm(@Param('venueId') venueId: string, @Query() query: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    this.renderMismatch(req, res, venueId, 200, { input: { cardId: text(query.card, 32), kind: text(query.kind, 20) } });
  }

  private renderMismatch(req: WebRequest, res: Response, venueId: string, status: number, opts: { errors?: PageError[]; input?: Record<string, unknown> }) {
    const venue = this.venue(venueId);
    this.desk.assertVenue(VenueScope.of(req.web.user), venue.id);
    const split = opts.errors ? errorsByField(opts.errors, ['cardId', 'bookingNumber', 'kind', 'note']) : undefined;
    const kind = text(opts.input?.kind, 20);
    res.status(status).render('venue-mismatch', {
      tab: 'mismatch',
      title: `不一致の連絡 ${venue.name}`,
      nav: 'venues',
      web: req.web,
      venue,
      errors: split?.general ?? [],
      fieldErrors: split?.fields ?? {},
      values: { cardId: text(opts.input?.cardId, 32), bookingNumber: text(opts.input?.bookingNumber, 20), note: text(opts.input?.note, 1000) },
      kinds: Object.entries(MISMATCH_KINDS).map(([value, label]) => ({ value, label, checked: kind === value })),
    });
  }

  /** A booking that does not match the system, or a card not at the venue: a `mismatch` task on the office's list. */
  @Post(':venueId/mismatch')
  @Allow(...VENUE_ROLES)
  async raiseMismatch(@Param('venueId') venueId: string, @Body() body: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const venue = this.venue(venueId);
    this.desk.assertVenue(VenueScope.of(req.web.user), venue.id);
    const input = parseOrThrow(mismatchSchema, body);
    if (!input.cardId && !input.bookingNumber) throw CommonException.validation([{ field: 'cardId', message: 'カード番号か予約番号のどちらかを入力してください' }]);
    const note = `【${venue.name}】${MISMATCH_KINDS[input.kind]}${input.bookingNumber ? `（予約番号 ${input.bookingNumber}）` : ''}: ${input.note}`;
    await this.tasks.open({ kind: 'mismatch', cardId: input.cardId || null, venueId: null, note: note.slice(0, 2000), createdBy: req.web.user.username });
    await this.accessLog.record({ user: req.web.user, kind: 'change', cardIds: input.cardId ? [input.cardId] : [], detail: `mismatch task from ${venue.id}`, channel: 'web', ip: req.ip, requestId: String(req.id ?? '') });
    res.redirect(303, `/venues/${venue.id}?done=mismatch`);
  }
}
