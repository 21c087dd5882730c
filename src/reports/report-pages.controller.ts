/**
 * `/reports`: the ward's reports as staff pages, CSV and PDF (ward, office, auditors, administrators):
 * the monthly work plan, the monthly results, the staffing forecast (`?month=YYYY-MM`, bounded by
 * zod: a bad month is answered 400 with the message in Japanese), and the hand-over list of
 * unfinished work (`/reports/handover`). `format=csv` or `format=pdf` downloads the same report.
 * The hand-over list names cards (no resident data): its page is an access-log `read`, its CSV and PDF
 * an `export`, with every card id. The monthly reports are aggregates and are not logged.
 */
import { rmSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller, Get, Inject, Param, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { stringify } from 'csv-stringify/sync';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { AccessLogService } from '../audit/access-log.service.js';
import { Allow } from '../auth/auth.types.js';
import type { WebSessionContext } from '../auth/web-auth.service.js';
import { VenueScope } from '../cards/venue-scope.js';
import { contentDisposition } from '../cards/card-export.service.js';
import { csvOptions } from '../common/csv-cell.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG, WARD_CONFIG, type WardConfig } from '../config/config.module.js';
import { renderReportPdf } from '../printing/report-pdf.js';
import { HANDOVER_PAGE_ROWS, MonthlyReportsService, REPORT_KINDS, REPORT_TITLES, monthSchema, type BuiltReport, type ReportKind } from './monthly-reports.service.js';

type WebRequest = Request & { web: WebSessionContext };
const ROLES = ['ward', 'office', 'auditor', 'admin'] as const;
const MONTHLY: readonly ReportKind[] = ['plan', 'results', 'staffing'];

@ApiExcludeController()
@Controller('reports')
export class ReportPagesController {
  constructor(
    private readonly reports: MonthlyReportsService,
    private readonly accessLog: AccessLogService,
    @Inject(WARD_CONFIG) private readonly ward: WardConfig,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private readonly querySchema = () =>
    z.object({
      month: monthSchema.optional(),
      format: z.enum(['html', 'csv', 'pdf'], { error: '出力形式は画面・CSV・PDFのいずれかを選んでください。' }).optional(),
      /** The hand-over list of one venue (empty: every venue). */
      venue: z.union([z.literal(''), z.enum(this.ward.venues.map((v) => v.id) as [string, ...string[]])], { error: '会場を一覧から選んでください。' }).optional(),
      /** One part of the hand-over list's PDF (HANDOVER_PDF_PART_ROWS cards each). */
      part: z.coerce.number({ error: '分冊の番号は1以上の整数で指定してください。' }).int({ error: '分冊の番号は1以上の整数で指定してください。' }).min(1, { error: '分冊の番号は1以上の整数で指定してください。' }).max(10_000, { error: '分冊の番号が大きすぎます。' }).optional(),
    });

  @Get()
  @Allow(...ROLES)
  index(@Req() req: WebRequest, @Res() res: Response) {
    res.render('reports', {
      title: '報告書',
      nav: 'reports',
      web: req.web,
      index: true,
      monthly: MONTHLY.map((k) => ({ kind: k, title: REPORT_TITLES[k], month: this.reports.defaultMonth(k) })),
    });
  }

  @Get(':kind')
  @Allow(...ROLES)
  async report(@Param('kind') kind: string, @Query() query: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    if (!(REPORT_KINDS as readonly string[]).includes(kind)) {
      res.status(404).render('error', { title: 'ページが見つかりません', web: req.web, status: 404, code: 'NOT_FOUND', messages: ['その報告書はありません。'], back: '/reports' });
      return;
    }
    const k = kind as ReportKind;
    const parsed = this.querySchema().safeParse(query);
    const monthInput = typeof query.month === 'string' ? query.month.slice(0, 20) : '';
    if (!parsed.success) {
      const errors = parsed.error.issues
        .map((i) => ({ field: String(i.path[0] ?? 'month'), message: i.message }))
        .filter((e, i, all) => all.findIndex((o) => o.message === e.message) === i);
      res.status(400).render('reports', {
        title: REPORT_TITLES[k],
        nav: 'reports',
        web: req.web,
        kind: k,
        monthly: MONTHLY.includes(k),
        month: monthInput,
        errors,
        monthError: errors.find((e) => e.field === 'month')?.message,
        venuePicker: k === 'handover' ? this.ward.venues.map((v) => ({ id: v.id, name: v.name, selected: false })) : undefined,
        venueError: errors.find((e) => e.field === 'venue')?.message,
      });
      return;
    }
    const month = parsed.data.month ?? this.reports.defaultMonth(k);
    const format = parsed.data.format ?? 'html';
    const scope = VenueScope.of(req.web.user);
    const built: BuiltReport & { total?: number } =
      k === 'plan'
        ? await this.reports.plan(month, scope)
        : k === 'results'
          ? await this.reports.results(month)
          : k === 'staffing'
            ? await this.reports.staffing(month)
            : await this.reports.handover(scope, {
                limit: format === 'html' ? HANDOVER_PAGE_ROWS : undefined,
                venueId: parsed.data.venue || undefined,
                part: format === 'pdf' && parsed.data.part ? { n: parsed.data.part, rows: this.config.HANDOVER_PDF_PART_ROWS } : undefined,
              });
    if (k === 'handover' && parsed.data.part && format === 'pdf' && built.cardIds.length === 0) {
      res.status(404).render('error', { title: 'ページが見つかりません', web: req.web, status: 404, code: 'NOT_FOUND', messages: ['その分冊はありません。一覧のページから分冊を選んでください。'], back: '/reports/handover' });
      return;
    }
    if (built.cardIds.length > 0) {
      await this.accessLog.record({
        user: req.web.user,
        kind: format === 'html' ? 'read' : 'export',
        cardIds: built.cardIds,
        detail: `report ${k}${format === 'html' ? '' : ` ${format}`} (${built.cardIds.length} cards)`,
        channel: 'web',
        ip: req.ip,
        requestId: String(req.id ?? ''),
      });
    }
    if (format === 'csv') {
      res.setHeader('Content-Type', 'text/csv; charset=utf-8');
      res.setHeader('Content-Disposition', contentDisposition({ ascii: `${built.fileName.ascii}.csv`, utf8: `${built.fileName.utf8}.csv` }));
      res.send(`\uFEFF${stringify([built.csv.header, ...built.csv.rows.map((r) => r.map(String))], csvOptions)}`);
      return;
    }
    if (format === 'pdf') {
      const dir = await mkdtemp(join(tmpdir(), 'koto-report-out-'));
      try {
        const { file } = await renderReportPdf('report', built.doc, join(dir, 'report.pdf'));
        res.setHeader('Content-Type', 'application/pdf');
        res.setHeader('Content-Disposition', contentDisposition({ ascii: `${built.fileName.ascii}.pdf`, utf8: `${built.fileName.utf8}.pdf` }));
        res.send(await readFile(file));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      return;
    }
    const venue = parsed.data.venue || '';
    const q = MONTHLY.includes(k) ? `?month=${month}&` : venue ? `?venue=${encodeURIComponent(venue)}&` : '?';
    res.render('reports', {
      title: REPORT_TITLES[k],
      nav: 'reports',
      web: req.web,
      kind: k,
      monthly: MONTHLY.includes(k),
      month,
      venuePicker: k === 'handover' ? this.ward.venues.map((v) => ({ id: v.id, name: v.name, selected: v.id === venue })) : undefined,
      doc: built.doc,
      csvUrl: `/reports/${k}${q}format=csv`,
      pdfUrl: `/reports/${k}${q}format=pdf`,
      handover: k === 'handover' ? this.handoverView(built.cardIds.length, built.total ?? 0, q) : undefined,
    });
  }

  /** What the hand-over page says of its cards, and the PDF's parts when there is more than one. */
  private handoverView(shown: number, total: number, q: string) {
    const rows = this.config.HANDOVER_PDF_PART_ROWS;
    const count = Math.ceil(total / rows);
    const parts =
      count > 1
        ? Array.from({ length: count }, (_, i) => ({ n: i + 1, from: i * rows + 1, to: Math.min(total, (i + 1) * rows), url: `/reports/handover${q}format=pdf&part=${i + 1}` }))
        : undefined;
    return { shown, total, more: total > shown, parts };
  }
}
