/**
 * The office's hand-over page (`/migration`, R-11.1): the export, its mapping and its 外字 table are
 * uploaded; the dry run lists every row (imported, or refused with the field and the reason); the
 * import runs in the background in this process and its page shows the progress (refreshed every
 * few seconds, without JavaScript). Uploading the same files again resumes an interrupted run, and
 * creates nothing for rows already imported.
 */
import { Controller, Get, Inject, Injectable, Logger, type NestMiddleware, NotFoundException, Param, Post, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EntityManager } from '@mikro-orm/postgresql';
import type { Request, Response } from 'express';
import multer from 'multer';
import { AccessLogService } from '../audit/access-log.service.js';
import { Allow } from '../auth/auth.types.js';
import type { WebSessionContext } from '../auth/web-auth.service.js';
import { formUpload } from '../web/form-upload.js';
import { APP_CONFIG, WARD_CONFIG } from '../config/config.module.js';
import type { WardConfig } from '../config/ward-config.js';
import type { AppConfig } from '../config/app-config.js';
import { GaijiTableError } from './gaiji.js';
import { MappingError } from './mapping.js';
import { type DryRun, MigrationService, type Prepared } from './migration.service.js';
import { checkIntegrity, integrityCsv, integrityPdf } from './integrity.js';
import { FIELD_LABELS, MAX_EXPORT_BYTES } from './parser.js';

type UploadedFiles = Partial<Record<'export' | 'mapping' | 'gaiji', { buffer: Buffer; size: number; originalname: string }[]>>;
type WebRequest = Request & { web: WebSessionContext };
type UploadRequest = WebRequest & { files?: UploadedFiles; uploadError?: 'too_large' | 'bad_form' };

export const UPLOAD_PATHS = ['migration'];

/** Reads the multipart upload before the guard, so that the guard finds the form's CSRF token. */
@Injectable()
export class MigrationUploadMiddleware implements NestMiddleware {
  readonly use: NestMiddleware['use'];

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const upload = multer({
      storage: multer.memoryStorage(),
      limits: { fileSize: MAX_EXPORT_BYTES, files: 3, fields: 4, fieldSize: 256, parts: 7 },
    }).fields([
      { name: 'export', maxCount: 1 },
      { name: 'mapping', maxCount: 1 },
      { name: 'gaiji', maxCount: 1 },
    ]);
    this.use = formUpload(config, upload);
  }
}

const STATUS_LABELS = { import: '取り込む', imported: '取り込み済み', refused: '取り込まない' } as const;
const RUN_LABELS = { running: '実行中', done: '完了', stopped: '中断', failed: '失敗' } as const;

function dryRunView(d: DryRun) {
  return {
    ...d,
    rows: d.rows.map((r) => ({
      ...r,
      statusLabel: STATUS_LABELS[r.status],
      refused: r.status === 'refused',
      fieldLabel: r.field ? (FIELD_LABELS[r.field as keyof typeof FIELD_LABELS] ?? r.field) : '',
    })),
  };
}

/** Who may import (the form, the runs' progress); the ward and the auditor read the runs and their checks. */
const IMPORTERS: readonly string[] = ['office', 'admin'];

@ApiExcludeController()
@Controller('migration')
export class MigrationPagesController {
  private readonly logger = new Logger('migration');

  constructor(
    private readonly service: MigrationService,
    private readonly accessLog: AccessLogService,
    private readonly em: EntityManager,
    @Inject(WARD_CONFIG) private readonly ward: WardConfig,
  ) {}

  /** The integrity check of a finished run; recorded in the access log with the cards it lists. */
  private async integrity(id: string, req: WebRequest, what: string) {
    const progress = /^[1-9][0-9]{0,17}$/.test(id) ? await this.service.progress(id).catch(() => undefined) : undefined;
    if (!progress) throw new NotFoundException('no such migration run');
    const report = await checkIntegrity(this.em, this.ward, id);
    const ids = report.rows.map((r) => r.cardId).filter((c): c is string => c !== null);
    await this.accessLog.record({ user: req.web.user, kind: 'export', cardIds: ids, detail: `migration integrity check ${what} of run ${id}`, channel: 'web', ip: req.ip, requestId: String(req.id ?? '') });
    return report;
  }

  @Get('runs/:id/check')
  @Allow('ward', 'office', 'admin', 'auditor')
  async check(@Param('id') id: string, @Req() req: WebRequest, @Res() res: Response) {
    const report = await this.integrity(id, req, 'page');
    res.render('migration-check', {
      title: '移行データの照合',
      nav: 'migration',
      web: req.web,
      report,
      dimensions: ['状態', '会場', '交付方式', '予約'].map((d) => ({ name: d, lines: report.totals.filter((t) => t.dimension === d).map((t) => ({ ...t, diff: t.now - t.old, differs: t.now !== t.old })) })),
    });
  }

  @Get('runs/:id/check.csv')
  @Allow('ward', 'office', 'admin', 'auditor')
  async checkCsv(@Param('id') id: string, @Req() req: WebRequest, @Res() res: Response) {
    const report = await this.integrity(id, req, 'csv');
    res.setHeader('Content-Type', 'text/csv; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="migration-check-${id}.csv"`);
    res.send(`\uFEFF${integrityCsv(report)}`);
  }

  @Get('runs/:id/check.pdf')
  @Allow('ward', 'office', 'admin', 'auditor')
  async checkPdf(@Param('id') id: string, @Req() req: WebRequest, @Res() res: Response) {
    const report = await this.integrity(id, req, 'pdf');
    const dir = mkdtempSync(join(tmpdir(), 'koto-migration-check-'));
    try {
      const pdf = await integrityPdf(report, join(dir, 'check.pdf'));
      res.setHeader('Content-Type', 'application/pdf');
      res.setHeader('Content-Disposition', `attachment; filename="migration-check-${id}.pdf"`);
      res.setHeader('X-Report-Sha256', pdf.sha256);
      res.send(readFileSync(pdf.file));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  private async page(req: WebRequest, res: Response, status: number, extra: Record<string, unknown> = {}) {
    res.status(status).render('migration', {
      title: '前事業者からの移行',
      nav: 'migration',
      web: req.web,
      // The office imports; the ward (who signs the integrity check) and the auditor read the runs.
      canImport: IMPORTERS.includes(req.web.user.role),
      runs: (await this.service.runs()).map((r) => ({ ...r, statusLabel: RUN_LABELS[r.status], checked: r.status === 'done' })),
      maxMb: MAX_EXPORT_BYTES / 1024 / 1024,
      ...extra,
    });
  }

  @Get()
  @Allow('office', 'admin', 'ward', 'auditor')
  async form(@Req() req: WebRequest, @Res() res: Response) {
    await this.page(req, res, 200);
  }

  @Post()
  @Allow('office', 'admin')
  async upload(@Req() req: UploadRequest, @Res() res: Response) {
    const mode = req.body?.mode === 'run' ? 'run' : 'dry';
    const file = (k: 'export' | 'mapping' | 'gaiji') => req.files?.[k]?.[0];
    if (req.uploadError || !file('export')?.size || !file('mapping')?.size) {
      const uploadError =
        req.uploadError === 'too_large'
          ? `ファイルが大きすぎます（${MAX_EXPORT_BYTES / 1024 / 1024} MBまで）`
          : req.uploadError
            ? 'ファイルを受け取れませんでした。このページのフォームから送ってください'
            : '移行データとマッピングファイルを選んでください';
      return this.page(req, res, req.uploadError === 'too_large' ? 413 : 400, { uploadError });
    }
    let prepared: Prepared;
    try {
      prepared = this.service.prepare({
        fileName: file('export')!.originalname,
        export: file('export')!.buffer,
        mapping: file('mapping')!.buffer,
        gaiji: file('gaiji')?.size ? file('gaiji')!.buffer : undefined,
      });
    } catch (e) {
      if (e instanceof MappingError) return this.page(req, res, 400, { uploadError: 'マッピングファイルが正しくありません', mappingProblems: e.problems });
      if (e instanceof GaijiTableError) return this.page(req, res, 400, { uploadError: e.message });
      throw e;
    }
    const dry = await this.service.dryRun(prepared);
    if (mode === 'dry' || dry.fileErrors.length) return this.page(req, res, dry.fileErrors.length ? 400 : 200, { dry: dryRunView(dry) });
    const runId = await this.service.openRun(prepared, req.web.user);
    const user = req.web.user;
    // In the background: the run's page shows its progress; the same files again resume it.
    void this.service
      .run(prepared, user, {}, runId)
      .then(async (p) => {
        const rows = await this.service.runRows(runId);
        const ids = rows.filter((r) => r.outcome === 'imported').map((r) => r.cardId!);
        await this.accessLog.record({ user, kind: 'register', cardIds: ids, detail: `legacy migration run ${runId}: imported ${p.imported} of ${p.total}`, channel: 'web', ip: req.ip });
      })
      .catch((e: Error) => this.logger.error(`migration run ${runId} failed: ${e.name}`));
    res.redirect(303, `/migration/runs/${runId}`);
  }

  @Get('runs/:id')
  @Allow('office', 'admin')
  async run(@Param('id') id: string, @Req() req: WebRequest, @Res() res: Response) {
    const progress = /^[1-9][0-9]{0,17}$/.test(id) ? await this.service.progress(id).catch(() => undefined) : undefined;
    if (!progress) throw new NotFoundException('no such migration run');
    const done = progress.imported + progress.existed + progress.refused;
    const refused = progress.status === 'running' ? [] : (await this.service.runRows(id)).filter((r) => r.outcome === 'refused');
    res.render('migration-run', {
      title: '移行の進み具合',
      nav: 'migration',
      web: req.web,
      refresh: progress.status === 'running' ? 3 : undefined,
      progress: { ...progress, statusLabel: RUN_LABELS[progress.status], done, percent: progress.total ? Math.floor((done / progress.total) * 100) : 100 },
      refused: refused.map((r) => ({ ...r, fieldLabel: r.field ? (FIELD_LABELS[r.field as keyof typeof FIELD_LABELS] ?? r.field) : '' })),
    });
  }
}
