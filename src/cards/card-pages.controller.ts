/** The staff pages for cards: search (with CSV export), the card page and its actions. */
import { safeRandomUUID } from '../common/my-number.js';
import { EntityManager } from '@mikro-orm/postgresql';
import { cardHandwriting } from '../migration/handwriting.js';
import { Body, Controller, Get, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { BookingService } from '../booking/booking.service.js';
import { slotChoice, slotFieldSchema } from '../booking/slot-choice.js';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { AccessLogService } from '../audit/access-log.service.js';
import { Allow } from '../auth/auth.types.js';
import type { WebSessionContext } from '../auth/web-auth.service.js';
import { CommonException, type FieldError } from '../common/errors.js';
import { parseOrThrow } from '../common/zod-validation.js';
import { MailingRepository } from '../mailing/mailing.repository.js';
import { WARD_CONFIG } from '../config/config.module.js';
import type { WardConfig } from '../config/ward-config.js';
import { FormErrorRenderers, errorsByField } from '../web/form-errors.js';
import { actionButtonLabel, isDangerAction, reasonField, type PageError } from '../web/messages.js';
import { ACTION_DEFINITIONS, type CardAction, PROPOSAL_KINDS, PROPOSAL_LABELS, ROUTES, ROUTE_LABELS, STATES, STATE_LABELS } from '../../workflows/card-state-machine.js';
import { actionNameSchema, exportQuerySchema, searchQuerySchema } from './card.dto.js';
import { CardExportService, sendSubstitutionList } from './card-export.service.js';
import { VenueScope, assertVenueFilter } from './venue-scope.js';
import { CardsErrorCode, CardsException } from './cards.exception.js';
import { CardsService } from './cards.service.js';
import { MAX_SAVED_SEARCHES, SavedSearchesRepository } from './saved-searches.repository.js';
import { CardStorageRepository, storagePlaceSchema } from '../venues/card-storage.repository.js';
import { ResidentLockRepository } from '../resident/resident-locks.js';

type WebRequest = Request & { web: WebSessionContext };

const STAFF = ['ward', 'office', 'callcenter', 'venue', 'auditor'] as const;
const cardIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,31}$/, 'must be a card id');

/** A form leaves unused fields empty: they mean "no filter". */
function filled(query: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(query).filter(([, v]) => typeof v === 'string' && v.trim() !== '')) as Record<string, string>;
}

const SORT_LABELS: Record<string, string> = {
  cardId: 'カード番号',
  route: '交付方式',
  state: '状態',
  venueId: '会場',
  receivedAt: '受領日時',
  noticeMailedAt: '通知書発送日時',
  expiresOn: '有効期限',
  updatedAt: '更新日時',
  nameKana: '氏名（カナ）',
};

const saveSearchSchema = z.object({
  name: z
    .string({ error: '保存する名前を入力してください' })
    .trim()
    .min(1, '保存する名前を入力してください')
    .max(100, '名前は100文字以内にしてください')
    .regex(/^[^\p{Cc}]*$/u, '名前に制御文字は使えません'),
  query: z.string().max(2000).default(''),
});

const SAVED_NOTICES: Record<string, string> = { created: '検索条件を保存しました。', deleted: '保存した検索条件を削除しました。' };

/** The search filters of a query string, checked as a search, without paging: what a saved search keeps. */
function searchOnly(raw: string): string {
  const params = filled(Object.fromEntries(new URLSearchParams(raw)));
  delete params.cursor;
  delete params.saved;
  parseOrThrow(searchQuerySchema, params, 'query');
  return new URLSearchParams(params).toString();
}

/** The action form's fields: an error on another one is shown above the forms. */
const ACTION_FIELDS = ['reason', 'slot', 'startsAt', 'endsAt', 'kind', 'confirm', 'venueId', 'storagePlace'];

@ApiExcludeController()
@Controller('cards')
export class CardPagesController {
  constructor(
    private readonly service: CardsService,
    private readonly accessLog: AccessLogService,
    private readonly savedSearches: SavedSearchesRepository,
    @Inject(WARD_CONFIG) private readonly ward: WardConfig,
    forms: FormErrorRenderers,
    private readonly moduleRef: ModuleRef,
    private readonly storage: CardStorageRepository,
    private readonly residentLocks: ResidentLockRepository,
    private readonly mailing: MailingRepository,
  ) {
    // A refused action draws the card page again (404 and 403 stay error pages that link back).
    forms.register(/^\/cards\/([A-Za-z0-9][A-Za-z0-9-]{0,31})\/actions\/([a-z_]{1,40})$/, async ({ req, res, params: [id, action], status, errors, input }) => {
      if (status === 404 || status === 403) return false;
      await this.renderCard(req as WebRequest, res, id, status, { failed: { action, errors, input } });
    });
    // A saved search that cannot be saved: the search page again, the name kept, the reason beside it.
    forms.register(/^\/cards\/saved-searches$/, async ({ req, res, status, errors, input }) => {
      if (status === 403 || status === 404) return false;
      const raw = typeof input.query === 'string' ? input.query.slice(0, 2000) : '';
      const params = filled(Object.fromEntries(new URLSearchParams(raw)));
      delete params.saved;
      if (!searchQuerySchema.safeParse(params).success) return false;
      await this.renderSearch(req as WebRequest, res, params, status, {
        saveError: errors.map((e) => e.message).join(' '),
        savedName: typeof input.name === 'string' ? input.name.slice(0, 100) : '',
      });
    });
  }

  @Get()
  @Allow(...STAFF)
  async search(@Query() query: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    // `saved` only says what the last saved-search form did; it is no filter.
    const { saved, ...params } = filled(query);
    await this.renderSearch(req, res, params, 200, { savedNotice: saved && Object.hasOwn(SAVED_NOTICES, saved) ? SAVED_NOTICES[saved] : undefined });
  }

  private async renderSearch(req: WebRequest, res: Response, params: Record<string, string>, status: number, extra: { savedNotice?: string; saveError?: string; savedName?: string }) {
    const q = parseOrThrow(searchQuerySchema, params, 'query');
    assertVenueFilter(VenueScope.of(req.web.user), q.venue, 'ja');
    const page = await this.service.search(q, req.web.user);
    await this.accessLog.record({
      user: req.web.user,
      kind: 'search',
      cardIds: page.items.map((c) => c.cardId),
      detail: `search ${new URLSearchParams(params).toString()}`,
      channel: 'web',
      ip: req.ip,
      requestId: String(req.id ?? ''),
    });
    const withParams = (extra: Record<string, string | undefined>) => {
      const next = new URLSearchParams({ ...params, ...extra } as Record<string, string>);
      for (const [k, v] of Object.entries(extra)) if (v === undefined) next.delete(k);
      return `?${next.toString()}`;
    };
    const current = q.sort.replace(/^-/, '');
    const desc = q.sort.startsWith('-');
    const filters = { ...params };
    delete filters.cursor;
    res.status(status).render('cards', {
      title: 'カード検索',
      nav: 'cards',
      web: req.web,
      params,
      savedSearches: await this.savedSearches.list(req.web.user.id),
      savedNotice: extra.savedNotice,
      saveError: extra.saveError,
      savedName: extra.savedName,
      saveQuery: new URLSearchParams(filters).toString(),
      items: page.items.map((c) => ({ ...c, venueName: this.ward.venues.find((v) => v.id === c.venueId)?.name ?? '', bookingVenueName: this.venueName(c.booking?.venueId) })),
      nextLink: page.nextCursor ? withParams({ cursor: page.nextCursor }) : undefined,
      firstLink: params.cursor ? withParams({ cursor: undefined }) : undefined,
      csvLink: `/cards.csv${withParams({ cursor: undefined, limit: undefined })}`,
      sjisLink: `/cards-export${withParams({ cursor: undefined, limit: undefined })}`,
      canExport: ['ward', 'office', 'auditor'].includes(req.web.user.role),
      columns: ['cardId', 'nameKana', 'state', 'route', 'venueId', 'receivedAt', 'noticeMailedAt', 'expiresOn'].map((key) => ({
        key,
        label: SORT_LABELS[key],
        link: withParams({ sort: current === key && !desc ? `-${key}` : key, cursor: undefined }),
        sort: current === key ? (desc ? 'descending' : 'ascending') : undefined,
      })),
      states: STATES.map((s) => ({ value: s, label: STATE_LABELS[s], selected: params.state === s })),
      routes: ROUTES.map((r) => ({ value: r, label: ROUTE_LABELS[r], selected: params.route === r })),
      venues: this.ward.venues.filter((v) => VenueScope.of(req.web.user).allows(v.id)).map((v) => ({ value: v.id, label: v.name, selected: params.venue === v.id })),
      proposals: [...PROPOSAL_KINDS.map((k) => ({ value: k, label: PROPOSAL_LABELS[k] })), { value: 'any', label: 'いずれかの提案あり' }].map((p) => ({ ...p, selected: params.proposal === p.value })),
    });
  }

  /** Saves the current filters under a name, for the signed-in user only. */
  @Post('saved-searches')
  @Allow(...STAFF)
  async saveSearch(@Body() body: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const input = parseOrThrow(saveSearchSchema, body);
    const query = searchOnly(input.query);
    const id = await this.savedSearches.create(req.web.user.id, input.name, query);
    if (!id) throw CommonException.validation([{ field: 'name', message: `保存できる検索条件は${MAX_SAVED_SEARCHES}件までです。不要なものを削除してください。` }]);
    res.redirect(303, `/cards?${query ? `${query}&` : ''}saved=created`);
  }

  /** Deletes one of the user's saved searches and returns to the search the user was on. */
  @Post('saved-searches/:id/delete')
  @Allow(...STAFF)
  async deleteSearch(@Param('id') rawId: string, @Body() body: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const id = parseOrThrow(z.uuid(), rawId, 'id');
    const back = searchOnly(typeof body.query === 'string' ? body.query.slice(0, 2000) : '');
    // Someone else's search, or one already deleted (a double click), is left alone without an error.
    const deleted = await this.savedSearches.delete(req.web.user.id, id);
    res.redirect(303, `/cards?${back ? `${back}&` : ''}${deleted ? 'saved=deleted' : ''}`.replace(/[?&]$/, ''));
  }

  @Get(':cardId')
  @Allow(...STAFF)
  async card(@Param('cardId') cardId: string, @Query() query: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const id = parseOrThrow(cardIdSchema, cardId, 'cardId');
    const done = typeof query.done === 'string' ? query.done : undefined;
    await this.renderCard(req, res, id, 200, { done, slotQuery: query });
  }

  private get booking(): BookingService {
    return this.moduleRef.get(BookingService, { strict: false });
  }

  /**
   * The card page; after a refused action, the same page with the card as it is now, the message
   * beside the field of the action's form, and what was typed kept (never a refused My Number).
   */
  private async renderCard(
    req: WebRequest,
    res: Response,
    id: string,
    status: number,
    opts: { done?: string; slotQuery?: Record<string, unknown>; failed?: { action: string; errors: PageError[]; input: Record<string, unknown> } },
  ) {
    const detail = await this.service.get(id, req.web.user);
    // The reserve form's slot choice: venue and day (a GET form), then the free times of that day.
    const slots = detail.allowedActions.some((a) => a.action === 'reserve')
      ? await slotChoice(this.booking, this.ward.venues, detail.card, req.web.user, opts.failed?.action === 'reserve' ? opts.failed.input : (opts.slotQuery ?? {}))
      : undefined;
    await this.accessLog.record({ user: req.web.user, kind: 'read', cardIds: [id], detail: 'card page', channel: 'web', ip: req.ip, requestId: String(req.id ?? '') });
    const isAuditor = ['auditor', 'ward'].includes(req.web.user.role);
    const failed = opts.failed;
    const text = (v: unknown) => (typeof v === 'string' ? v.slice(0, 2000) : '');
    const failedOffered = failed && detail.allowedActions.some((a) => a.action === failed.action);
    const split = failed ? errorsByField(failed.errors, failedOffered ? ACTION_FIELDS : []) : undefined;
    const booking = detail.booking;
    // The notices mailed to this card, each a page of its batch's file with the file's SHA-256 (R-3.4).
    const mailed = await this.mailing.mailedForCard(id);
    const fieldErrors: { message: string; href: string }[] = [];
    // The card's storage place at its venue (R-5.3), set at receipt and changeable from the venue's pages.
    const stored = await this.storage.get(id);
    // Characters of a migrated card's old data to write by hand (R-11.1).
    const handwriting = await cardHandwriting(this.moduleRef.get(EntityManager, { strict: false }), id);
    res.status(status).render('card', {
      handwriting,
      storagePlace: stored && stored.venueId === detail.card.venueId ? stored.place : undefined,
      title: `カード ${id}`,
      nav: 'cards',
      web: req.web,
      card: detail.card,
      venueName: this.venueName(detail.card.venueId),
      booking: booking ? { ...booking, venueName: this.venueName(booking.venueId) } : undefined,
      timeline: detail.timeline,
      mailed: mailed.map((m) => ({ ...m, kindLabel: m.kind === 'notice' ? '交付通知書' : '再通知はがき', file: m.kind === 'notice' ? 'notices' : 'renotices' })),
      proposals: detail.proposals,
      done: opts.done && Object.hasOwn(ACTION_DEFINITIONS, opts.done) ? ACTION_DEFINITIONS[opts.done as CardAction].label : undefined,
      failedLabel: failed && Object.hasOwn(ACTION_DEFINITIONS, failed.action) ? ACTION_DEFINITIONS[failed.action as CardAction].label : undefined,
      generalErrors: split?.general ?? [],
      fieldErrors,
      failedOffered,
      actions: detail.allowedActions.map((a) => {
        const mine = failed?.action === a.action;
        const input = mine ? failed!.input : {};
        const key = safeRandomUUID();
        if (mine) fieldErrors.push(...Object.entries(split!.fields).map(([field, message]) => ({ message, href: field === 'venueId' ? `#a-${key}` : `#${field}-${key}` })));
        return {
          ...a,
          // One key per rendered form: a reload or a double click sends the same key.
          key,
          // On a reserved card the reserve form changes the booking (same booking number).
          buttonLabel: a.action === 'reserve' && detail.card.state === 'reserved' ? '予約を変更' : actionButtonLabel(a.action),
          reason: reasonField(a.action),
          needsSlot: a.action === 'reserve',
          slots: a.action === 'reserve' ? slots : undefined,
          needsKind: a.action === 'reject_proposal',
          needsStoragePlace: a.action === 'receive_at_venue',
          danger: isDangerAction(a.action),
          errors: mine ? split!.fields : {},
          values: { reason: text(input.reason), startsAt: text(input.startsAt), endsAt: text(input.endsAt), kind: text(input.kind), storagePlace: text(input.storagePlace).slice(0, 50) },
        };
      }),
      openKinds: detail.proposals.map((p) => ({ value: p.kind, label: PROPOSAL_LABELS[p.kind] })),
      venues: this.ward.venues,
      showHistory: isAuditor,
      // The residents' pages locked this booking number after failed sign-ins (the call center answers the phone).
      residentLockedUntil: ['callcenter', 'ward'].includes(req.web.user.role) ? await this.residentLocks.lockedUntilForCard(id) : undefined,
    });
  }

  private venueName(id: string | null | undefined): string | undefined {
    return this.ward.venues.find((v) => v.id === id)?.name;
  }

  @Post(':cardId/actions/:action')
  @Allow('ward', 'office', 'callcenter', 'venue')
  async act(@Param('cardId') cardId: string, @Param('action') action: string, @Body() body: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const id = parseOrThrow(cardIdSchema, cardId, 'cardId');
    const name = actionNameSchema.safeParse(action);
    if (!name.success) throw new CardsException(CardsErrorCode.UNKNOWN_ACTION, `no action ${action}`);
    const def = ACTION_DEFINITIONS[name.data];
    const reason = typeof body.reason === 'string' && body.reason.trim() ? body.reason.trim().slice(0, 2000) : undefined;
    // Checked here first, so that every problem of the form is answered at once, beside its field.
    const problems: FieldError[] = [];
    if (def.reasonRequired && !reason) problems.push({ field: 'reason', message: '理由を入力してください（この操作には理由の記録が必要です）。' });
    const slot = name.data === 'reserve' ? slotFieldSchema.safeParse(body.slot) : undefined;
    if (slot && !slot.success) problems.push({ field: 'slot', message: '予約する時間を選んでください。' });
    if (def.irreversible && body.confirm !== 'yes') problems.push({ field: 'confirm', message: '取り消せない操作です。内容を確かめて、確認のチェックを入れてください。' });
    // The receipt form's storage place (optional; kept in PostgreSQL, not in the card's workflow).
    const place = name.data === 'receive_at_venue' && typeof body.storagePlace === 'string' && body.storagePlace.trim() ? storagePlaceSchema.safeParse(body.storagePlace) : undefined;
    if (place && !place.success) problems.push({ field: 'storagePlace', message: place.error.issues[0].message });
    if (problems.length) throw CommonException.validation(problems);
    const data: Record<string, unknown> = {};
    if (name.data === 'reject_proposal') data.kind = body.kind;
    if (name.data === 'ship_to_venue' && body.venueId) data.venueId = body.venueId;
    const key = parseOrThrow(z.string().uuid(), body.key, 'key');
    // The access-log row is written with the key's fingerprint, before the action is sent.
    const access = { channel: 'web' as const, ip: req.ip, requestId: String(req.id ?? '') };
    // A booking goes through the booking service (the slot, the booker's rules, the claim).
    if (slot?.success) await this.booking.book(id, slot.data, { kind: 'staff', user: req.web.user, channel: 'web', access }, key);
    else {
      const result = await this.service.act(id, name.data, { reason, data: Object.keys(data).length ? data : undefined }, req.web.user, key, 'web', access);
      if (place?.success && result.card.venueId) await this.storage.set(id, result.card.venueId, place.data, req.web.user.username);
    }
    res.redirect(303, `/cards/${id}?done=${name.data}`);
  }

  @Get(':cardId/history')
  @Allow('ward', 'auditor')
  async history(@Param('cardId') cardId: string, @Req() req: WebRequest, @Res() res: Response) {
    const id = parseOrThrow(cardIdSchema, cardId, 'cardId');
    const history = await this.service.history(id, req.web.user);
    await this.accessLog.record({ user: req.web.user, kind: 'history', cardIds: [id], detail: 'history page', channel: 'web', ip: req.ip, requestId: String(req.id ?? '') });
    res.render('card-history', { title: `履歴 ${id}`, nav: 'cards', web: req.web, cardId: id, ...history, eventCount: (history.temporal as { events: unknown[] }).events.length });
  }

  @Post(':cardId/replay')
  @Allow('ward', 'auditor')
  async replay(@Param('cardId') cardId: string, @Req() req: WebRequest, @Res() res: Response) {
    const id = parseOrThrow(cardIdSchema, cardId, 'cardId');
    const result = await this.service.replay(id, req.web.user);
    await this.accessLog.record({ user: req.web.user, kind: 'replay', cardIds: [id], detail: `replayed=${result.replayed}`, channel: 'web', ip: req.ip, requestId: String(req.id ?? '') });
    const history = await this.service.history(id, req.web.user);
    res.render('card-history', { title: `履歴 ${id}`, nav: 'cards', web: req.web, cardId: id, ...history, eventCount: (history.temporal as { events: unknown[] }).events.length, replay: result });
  }
}

/**
 * `/cards.csv`: the search page's export, streamed, with Japanese headings and Tokyo times.
 * `/cards-export`: before a Shift_JIS export, how many cards hold characters it cannot (written as 〓),
 * with `/cards-substituted.csv`, the list of those cards.
 */
@ApiExcludeController()
@Controller()
export class CardExportPageController {
  constructor(
    private readonly exporter: CardExportService,
    private readonly accessLog: AccessLogService,
  ) {}

  @Get('cards.csv')
  @Allow('ward', 'office', 'auditor')
  async csv(@Query() query: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const params = filled(query);
    const q = parseOrThrow(exportQuerySchema, params, 'query');
    // The ids of every exported card go to the access log, page by page, in a few rows.
    const recorder = this.accessLog.exportRecorder({ user: req.web.user, channel: 'web', ip: req.ip, requestId: String(req.id ?? '') }, (n, part) => `csv export of ${n} cards${part ? ` (part ${part})` : ''}: ${new URLSearchParams(params).toString()}`);
    const { count } = await this.exporter.stream(VenueScope.of(req.web.user), q, res, 'staff', (ids) => recorder.add(ids));
    await recorder.finish(count);
  }

  @Get('cards-export')
  @Allow('ward', 'office', 'auditor')
  async sjisCheck(@Query() query: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const params = { ...filled(query), encoding: 'sjis' };
    const q = parseOrThrow(exportQuerySchema, params, 'query');
    const found = await this.exporter.substitutions(VenueScope.of(req.web.user), q);
    await this.accessLog.record({ user: req.web.user, kind: 'export', cardIds: found.map((f) => f.cardId), detail: `shift_jis check: ${found.length} cards with characters outside shift_jis`, channel: 'web', ip: req.ip, requestId: String(req.id ?? '') });
    const qs = new URLSearchParams(params).toString();
    res.render('cards-export', { title: 'Shift_JIS で出力', nav: 'cards', web: req.web, count: found.length, csvLink: `/cards.csv?${qs}`, listLink: `/cards-substituted.csv?${qs}`, utf8Link: `/cards.csv?${new URLSearchParams({ ...params, encoding: 'utf8' })}`, backLink: `/cards?${new URLSearchParams(filled(query))}` });
  }

  @Get('cards-substituted.csv')
  @Allow('ward', 'office', 'auditor')
  async substituted(@Query() query: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const q = parseOrThrow(exportQuerySchema, { ...filled(query), encoding: 'sjis' }, 'query');
    const found = await this.exporter.substitutions(VenueScope.of(req.web.user), q);
    await this.accessLog.record({ user: req.web.user, kind: 'export', cardIds: found.map((f) => f.cardId), detail: `shift_jis substitution list of ${found.length} cards`, channel: 'web', ip: req.ip, requestId: String(req.id ?? '') });
    sendSubstitutionList(res, q, found, 'staff');
  }
}
