/**
 * Shelf reconciliation pages (R-11.4, R-11.5): per venue, a session in which staff scan every card
 * on the shelves (a USB barcode scanner types the number and Enter into the focused field; a phone
 * keyboard does the same), see found / missing / unexpected as the scans come in, give each found
 * card its storage place, and close the session with the names of both vendors' staff. Plain form
 * posts that redirect back (no JavaScript needed); phone-sized. The report lists every card with its
 * outcome, as a page, CSV and PDF. Venue staff see their own venue only; every read is logged.
 */
import { Body, Controller, Get, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { TZDate } from '@date-fns/tz';
import { format } from 'date-fns';
import type { Request, Response } from 'express';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { z } from 'zod';
import { AccessLogService } from '../audit/access-log.service.js';
import { Allow } from '../auth/auth.types.js';
import type { WebSessionContext } from '../auth/web-auth.service.js';
import { CardsErrorCode, CardsException } from '../cards/cards.exception.js';
import { VenueScope } from '../cards/venue-scope.js';
import { csvOptions } from '../common/csv-cell.js';
import { parseOrThrow } from '../common/zod-validation.js';
import { WARD_CONFIG } from '../config/config.module.js';
import type { WardConfig } from '../config/ward-config.js';
import { renderReportPdf, reportDocument } from '../printing/report-pdf.js';
import { TasksRepository } from '../tasks/tasks.repository.js';
import { FormErrorRenderers, errorsByField } from '../web/form-errors.js';
import type { PageError } from '../web/messages.js';
import { STATE_LABELS, type CardStateName } from '../../workflows/card-state-machine.js';
import { CardStorageRepository } from './card-storage.repository.js';
import { ReconciliationRepository, closedError, shelfScanEffects, type ReconciliationSession, type ReportOutcome, type ScanRecord } from './reconciliation.repository.js';
import { VenueDeskRepository } from './venue-desk.repository.js';
import { VENUE_ID } from './venue-pages.controller.js';
import { VenuesErrorCode, VenuesException } from './venues.exception.js';
import { closeSchema, scanSchema } from './reconciliation.schemas.js';

type WebRequest = Request & { web: WebSessionContext };

/** Venue staff and the office reconcile; the ward reads the sessions and their reports. */
const WRITERS = ['venue', 'office'] as const;
const READERS = ['venue', 'office', 'ward'] as const;
const SESSION_ID = /^[1-9][0-9]{0,18}$/;
/** How many rows of each list the scan page shows (the report has all of them). */
const PAGE_LIST = 100;

const sessionQuery = z.object({
  scan: z.string().regex(SESSION_ID).optional(),
  dup: z.string().regex(SESSION_ID).optional(),
  place: z.string().max(200).optional(),
  done: z.enum(['opened', 'reopened']).optional(),
});

export const OUTCOME_LABELS: Record<ReportOutcome, string> = {
  found: '照合済（棚にあり）',
  missing: '不足（データにあり・棚になし）',
  unexpected: 'データにない（棚にあり）',
  wrong_venue: '他会場のカード（移送）',
};
const OUTCOME_ORDER: ReportOutcome[] = ['missing', 'wrong_venue', 'unexpected', 'found'];

const hhmm = (d: Date) => format(new TZDate(d.getTime(), 'Asia/Tokyo'), 'HH:mm');
const stamp = (d: Date | null) => (d ? format(new TZDate(d.getTime(), 'Asia/Tokyo'), 'yyyy/MM/dd HH:mm') : '');
const text = (v: unknown, max: number) => (typeof v === 'string' ? v.slice(0, max) : '');
const stateLabel = (s: string | null) => (s ? (STATE_LABELS[s as CardStateName] ?? s) : '');

interface ReportRow {
  outcome: ReportOutcome;
  outcomeLabel: string;
  cardId: string;
  scanned: string;
  bookingNumber: string;
  state: string;
  dataVenue: string;
  place: string;
  scannedBy: string;
  scannedAt: string;
  task: string;
}

@ApiExcludeController()
@Controller('venues/:venueId/reconciliation')
export class ReconciliationPagesController {
  constructor(
    private readonly repo: ReconciliationRepository,
    private readonly desk: VenueDeskRepository,
    private readonly storage: CardStorageRepository,
    private readonly tasks: TasksRepository,
    private readonly accessLog: AccessLogService,
    @Inject(WARD_CONFIG) private readonly ward: WardConfig,
    forms: FormErrorRenderers,
  ) {
    forms.register(/^\/venues\/([a-z0-9_-]{1,30})\/reconciliation\/([1-9][0-9]{0,18})\/(scans|close)$/, async ({ req, res, params: [venueId, sessionId, form], status, errors, input }) => {
      if (status === 403 || status === 404) return false;
      await this.renderSession(req as WebRequest, res, venueId, sessionId, status, { form, errors, input });
    });
  }

  private venue(id: string, req: WebRequest) {
    const venue = VENUE_ID.test(id) ? this.ward.venues.find((v) => v.id === id) : undefined;
    if (!venue) throw new CardsException(CardsErrorCode.CARD_NOT_FOUND, `no venue ${id.slice(0, 40)}`);
    this.desk.assertVenue(VenueScope.of(req.web.user), venue.id);
    return venue;
  }

  private venueName(id: string | null) {
    return id ? (this.ward.venues.find((v) => v.id === id)?.name ?? id) : '';
  }

  private async session(venueId: string, id: string): Promise<ReconciliationSession> {
    const s = SESSION_ID.test(id) ? await this.repo.get(venueId, id) : undefined;
    if (!s) throw new VenuesException(VenuesErrorCode.RECONCILIATION_NOT_FOUND, '照合が見つかりません。会場の「棚の照合」の一覧から開き直してください。', { session: id.slice(0, 20) });
    return s;
  }

  private log(req: WebRequest, kind: 'read' | 'change' | 'export', cardIds: string[], detail: string) {
    return this.accessLog.record({ user: req.web.user, kind, cardIds, detail, channel: 'web', ip: req.ip, requestId: String(req.id ?? '') });
  }

  /** The venue's sessions and the button that opens one (or goes to the open one). */
  @Get()
  @Allow(...READERS)
  async list(@Param('venueId') venueId: string, @Req() req: WebRequest, @Res() res: Response) {
    const venue = this.venue(venueId, req);
    const sessions = await this.repo.sessions(venue.id);
    res.render('reconciliation-sessions', {
      tab: 'reconciliation',
      title: `棚の照合 ${venue.name}`,
      nav: 'venues',
      web: req.web,
      venue,
      canWrite: (WRITERS as readonly string[]).includes(req.web.user.role),
      open: sessions.find((s) => !s.closedAt),
      sessions: sessions.map((s) => ({ ...s, opened: stamp(s.openedAt), closed: stamp(s.closedAt) })),
    });
  }

  @Post()
  @Allow(...WRITERS)
  async open(@Param('venueId') venueId: string, @Req() req: WebRequest, @Res() res: Response) {
    const venue = this.venue(venueId, req);
    const { session, created } = await this.repo.open(venue.id, req.web.user.username);
    if (created) await this.log(req, 'change', [], `reconciliation session ${session.id} opened at ${venue.id}`);
    res.redirect(303, `/venues/${venue.id}/reconciliation/${session.id}?done=${created ? 'opened' : 'reopened'}`);
  }

  @Get(':sessionId')
  @Allow(...READERS)
  async show(@Param('venueId') venueId: string, @Param('sessionId') sessionId: string, @Query() query: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const q = sessionQuery.safeParse(query);
    await this.renderSession(req, res, venueId, sessionId, 200, q.success ? q.data : {});
  }

  private async renderSession(
    req: WebRequest,
    res: Response,
    venueId: string,
    sessionId: string,
    status: number,
    opts: { scan?: string; dup?: string; place?: string; done?: string; form?: string; errors?: PageError[]; input?: Record<string, unknown> },
  ) {
    const venue = this.venue(venueId, req);
    const scope = VenueScope.of(req.web.user);
    const s = await this.session(venue.id, sessionId);
    const [counts, found, unexpected, wrongVenue, missing] = await Promise.all([
      this.repo.counts(s, scope),
      this.repo.scans(s.id, 'found', PAGE_LIST),
      this.repo.scans(s.id, 'unexpected', PAGE_LIST),
      this.repo.scans(s.id, 'wrong_venue', PAGE_LIST),
      this.repo.missing(s, scope, PAGE_LIST),
    ]);
    const lastId = opts.scan ?? opts.dup;
    const last = lastId ? await this.repo.scanById(s.id, lastId) : undefined;
    const latestPlace = found[0]?.place ?? unexpected[0]?.place ?? wrongVenue[0]?.place ?? '';
    const shown = [...found, ...unexpected, ...wrongVenue].flatMap((r) => (r.cardId ? [r.cardId] : [])).concat(missing.map((m) => m.cardId));
    await this.log(req, 'read', [...new Set(shown)], `reconciliation session ${s.id} ${venue.id}`);
    const split = opts.errors ? errorsByField(opts.errors, opts.form === 'close' ? ['previousVendorStaff', 'ourStaff'] : ['number', 'place']) : undefined;
    const writable = !s.closedAt && (WRITERS as readonly string[]).includes(req.web.user.role);
    const row = (r: ScanRecord) => ({ ...r, time: hhmm(r.scannedAt), stateLabel: stateLabel(r.cardState), venueName: this.venueName(r.cardVenueId) });
    res.status(status).render('reconciliation', {
      tab: 'reconciliation',
      title: `棚の照合 ${venue.name}`,
      nav: 'venues',
      web: req.web,
      venue,
      session: { ...s, opened: stamp(s.openedAt), closed: stamp(s.closedAt) },
      writable,
      counts,
      opened: opts.done === 'opened' ? '照合を始めました。棚のカードを順に読み取ってください。' : opts.done === 'reopened' ? 'この会場には終了していない照合があります。続きから読み取ってください。' : undefined,
      last: last ? this.outcomeMessage(last, Boolean(opts.dup)) : undefined,
      scanErrors: opts.form === 'scans' ? (split?.fields ?? {}) : {},
      closeErrors: opts.form === 'close' ? (split?.fields ?? {}) : {},
      errors: split?.general ?? [],
      numberValue: opts.form === 'scans' ? text(opts.input?.number, 40) : '',
      placeValue: opts.form === 'scans' ? text(opts.input?.place, 50) : opts.place !== undefined ? text(opts.place, 50) : latestPlace,
      closeValues: opts.form === 'close' ? { previousVendorStaff: text(opts.input?.previousVendorStaff, 100), ourStaff: text(opts.input?.ourStaff, 100) } : {},
      found: found.map(row),
      unexpected: unexpected.map(row),
      wrongVenue: wrongVenue.map(row),
      missing: missing.map((m) => ({ ...m, stateLabel: stateLabel(m.state) })),
      more: {
        found: counts.found > found.length,
        unexpected: counts.unexpected > unexpected.length,
        wrongVenue: counts.wrongVenue > wrongVenue.length,
        missing: counts.missing > missing.length,
      },
      listMax: PAGE_LIST,
    });
  }

  /** The message the scan page shows for the latest scan (or a re-scan that recorded nothing). */
  private outcomeMessage(r: ScanRecord, duplicate: boolean): { kind: 'ok' | 'warn'; text: string; cardId: string | null } {
    const who = r.cardId ? `カード ${r.cardId}${r.bookingNumber ? `（予約番号 ${r.bookingNumber}）` : ''}` : `番号 ${r.scanned}`;
    if (duplicate) return { kind: 'warn', cardId: r.cardId, text: `${who} は ${hhmm(r.scannedAt)} にすでに読み取り済みです（${OUTCOME_LABELS[r.outcome]}、保管場所「${r.place}」）。二重には記録しません。` };
    switch (r.outcome) {
      case 'found':
        return { kind: 'ok', cardId: r.cardId, text: `照合済: ${who}。保管場所「${r.place}」を記録しました。` };
      case 'wrong_venue':
        return { kind: 'warn', cardId: r.cardId, text: `他の会場のカードです: ${who} はデータ上「${this.venueName(r.cardVenueId)}」のカードです。事務センターに移送のタスクを登録しました。このカードは別にして保管してください。` };
      default:
        return {
          kind: 'warn',
          cardId: r.cardId,
          text: r.cardId
            ? `データにないカードです: ${who} はこの会場の保管データにありません（データ上の状態: ${stateLabel(r.cardState)}）。照合レポートに記録しました。カードは別にして事務センターに連絡してください。`
            : `データにない番号です: ${who}。照合レポートに記録しました。番号を確かめ、カードは別にして事務センターに連絡してください。`,
        };
    }
  }

  /** One card read from the shelf (scanner: number + Enter). Redirects back with the outcome; the storage place stays in the form. */
  @Post(':sessionId/scans')
  @Allow(...WRITERS)
  async scan(@Param('venueId') venueId: string, @Param('sessionId') sessionId: string, @Body() body: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const venue = this.venue(venueId, req);
    const s = await this.session(venue.id, sessionId);
    const input = parseOrThrow(scanSchema, body);
    const user = req.web.user.username;
    const result = await this.repo.scan(
      s,
      { scanned: input.number, place: input.place },
      user,
      shelfScanEffects({ tasks: this.tasks, storage: this.storage, venueName: (id) => this.venueName(id) }, { sessionId: s.id, venueId: venue.id, place: input.place, userName: user }),
    );
    const cardIds = result.scan.cardId ? [result.scan.cardId] : [];
    await this.log(req, result.duplicate ? 'read' : 'change', cardIds, `reconciliation scan ${s.id} ${venue.id}: ${result.duplicate ? 'repeat' : result.scan.outcome}`);
    const back = new URLSearchParams({ [result.duplicate ? 'dup' : 'scan']: result.scan.id, place: input.place });
    res.redirect(303, `/venues/${venue.id}/reconciliation/${s.id}?${back.toString()}`);
  }

  /** Closes the session with the names of both vendors' staff; the session is read-only afterwards. */
  @Post(':sessionId/close')
  @Allow(...WRITERS)
  async close(@Param('venueId') venueId: string, @Param('sessionId') sessionId: string, @Body() body: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const venue = this.venue(venueId, req);
    const s = await this.session(venue.id, sessionId);
    if (s.closedAt) throw closedError(s.id);
    const input = parseOrThrow(closeSchema, body);
    await this.repo.close(s, VenueScope.of(req.web.user), input, req.web.user.username);
    await this.log(req, 'change', [], `reconciliation session ${s.id} closed at ${venue.id}`);
    res.redirect(303, `/venues/${venue.id}/reconciliation/${s.id}/report`);
  }

  /** Every card of the session with its outcome: missing, other venue's, not in the data, found. */
  private async reportRows(s: ReconciliationSession, scope: VenueScope): Promise<ReportRow[]> {
    const [scans, missing] = await Promise.all([this.repo.scans(s.id), this.repo.missing(s, scope)]);
    const rows: ReportRow[] = [
      ...missing.map((m) => ({ outcome: 'missing' as const, cardId: m.cardId, scanned: '', bookingNumber: m.bookingNumber ?? '', state: stateLabel(m.state), dataVenue: this.venueName(s.venueId), place: m.place ?? '', scannedBy: '', scannedAt: '', task: '' })),
      ...scans.map((r) => ({
        outcome: r.outcome,
        cardId: r.cardId ?? '',
        scanned: r.scanned,
        bookingNumber: r.bookingNumber ?? '',
        state: stateLabel(r.cardState),
        dataVenue: this.venueName(r.cardVenueId),
        place: r.place,
        scannedBy: r.scannedBy,
        scannedAt: stamp(r.scannedAt),
        task: r.taskId ? `移送タスク ${r.taskId}` : '',
      })),
    ].map((r) => ({ ...r, outcomeLabel: OUTCOME_LABELS[r.outcome] }));
    return rows.sort((a, b) => OUTCOME_ORDER.indexOf(a.outcome) - OUTCOME_ORDER.indexOf(b.outcome) || (a.cardId || a.scanned).localeCompare(b.cardId || b.scanned));
  }

  private meta(venue: { name: string }, s: ReconciliationSession) {
    return [
      { label: '会場', value: venue.name },
      { label: '照合番号', value: s.id },
      { label: '開始', value: `${stamp(s.openedAt)}（${s.openedBy}）` },
      { label: '終了', value: s.closedAt ? `${stamp(s.closedAt)}（${s.closedBy}）` : '照合中（未終了）' },
      { label: '前の受託者の立会者', value: s.previousVendorStaff ?? '—' },
      { label: '当社の担当者', value: s.ourStaff ?? '—' },
    ];
  }

  @Get(':sessionId/report')
  @Allow(...READERS)
  async report(@Param('venueId') venueId: string, @Param('sessionId') sessionId: string, @Req() req: WebRequest, @Res() res: Response) {
    const venue = this.venue(venueId, req);
    const scope = VenueScope.of(req.web.user);
    const s = await this.session(venue.id, sessionId);
    const rows = await this.reportRows(s, scope);
    await this.log(req, 'read', rows.flatMap((r) => (r.cardId ? [r.cardId] : [])), `reconciliation report ${s.id} ${venue.id}`);
    res.render('reconciliation-report', {
      tab: 'reconciliation',
      title: `棚の照合レポート ${venue.name}`,
      nav: 'venues',
      web: req.web,
      venue,
      session: s,
      meta: this.meta(venue, s),
      totals: OUTCOME_ORDER.map((o) => ({ outcome: o, label: OUTCOME_LABELS[o], n: rows.filter((r) => r.outcome === o).length })),
      rows,
    });
  }

  @Get(':sessionId/report.csv')
  @Allow(...READERS)
  async reportCsv(@Param('venueId') venueId: string, @Param('sessionId') sessionId: string, @Req() req: WebRequest, @Res() res: Response) {
    const venue = this.venue(venueId, req);
    const s = await this.session(venue.id, sessionId);
    const rows = await this.reportRows(s, VenueScope.of(req.web.user));
    await this.log(req, 'export', rows.flatMap((r) => (r.cardId ? [r.cardId] : [])), `reconciliation report CSV ${s.id} ${venue.id}`);
    const csv = stringify(
      [
        ['結果', 'カード番号', '読み取った番号', '予約番号', 'データ上の状態', 'データ上の会場', '保管場所', '読み取った職員', '読み取り日時', 'タスク'],
        ...rows.map((r) => [r.outcomeLabel, r.cardId, r.scanned, r.bookingNumber, r.state, r.dataVenue, r.place, r.scannedBy, r.scannedAt, r.task]),
      ],
      csvOptions,
    );
    const name = `reconciliation-${venue.id}-${s.id}.csv`;
    res.setHeader('Content-Type', 'text/csv; charset=UTF-8');
    res.setHeader('Content-Disposition', `attachment; filename="${name}"; filename*=UTF-8''${encodeURIComponent(`棚の照合-${venue.name}-${s.id}.csv`)}`);
    res.send(`\uFEFF${csv}`);
  }

  @Get(':sessionId/report.pdf')
  @Allow(...READERS)
  async reportPdf(@Param('venueId') venueId: string, @Param('sessionId') sessionId: string, @Req() req: WebRequest, @Res() res: Response) {
    const venue = this.venue(venueId, req);
    const s = await this.session(venue.id, sessionId);
    const rows = await this.reportRows(s, VenueScope.of(req.web.user));
    await this.log(req, 'export', rows.flatMap((r) => (r.cardId ? [r.cardId] : [])), `reconciliation report PDF ${s.id} ${venue.id}`);
    const doc = reportDocument({
      title: '棚の照合報告書',
      subtitle: `${venue.name}（照合 ${s.id}）`,
      meta: this.meta(venue, s),
      sections: [
        { heading: '結果別の枚数', columns: ['結果', { label: '枚数', right: true }], rows: OUTCOME_ORDER.map((o) => [OUTCOME_LABELS[o], rows.filter((r) => r.outcome === o).length]) },
        { heading: 'カードごとの結果', columns: ['結果', 'カード番号', '予約番号', 'データ上の状態', 'データ上の会場', '保管場所', 'タスク'], rows: rows.map((r) => [r.outcomeLabel, r.cardId || `（読み取り: ${r.scanned}）`, r.bookingNumber, r.state, r.dataVenue, r.place, r.task]) },
      ],
      signatures: ['前の受託者 立会者', '当社 担当者', '区 確認者'],
      footnote: '不足: データ上この会場で保管しているが棚で見つからなかったカード。データにない: 棚にあったがデータにないカード（番号不明、または交付済など保管中でないカード）。他会場のカード: データ上ほかの会場で保管しているカード（事務センターに移送タスクを登録済み）。',
    });
    const dir = mkdtempSync(join(tmpdir(), 'koto-reconciliation-'));
    try {
      const out = await renderReportPdf('report', doc, join(dir, 'report.pdf'));
      res.setHeader('Content-Type', 'application/pdf');
      res.setHeader('Content-Disposition', `attachment; filename="reconciliation-${venue.id}-${s.id}.pdf"; filename*=UTF-8''${encodeURIComponent(`棚の照合-${venue.name}-${s.id}.pdf`)}`);
      res.send(readFileSync(out.file));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
