/**
 * Card registration pages: one card by form, or many from a CSV file with a dry run first.
 * Registration itself is CardsService.register, as for the API.
 */
import { Body, Controller, Get, Inject, Injectable, type NestMiddleware, Post, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import multer from 'multer';
import { AccessLogService } from '../audit/access-log.service.js';
import { Allow } from '../auth/auth.types.js';
import type { WebSessionContext } from '../auth/web-auth.service.js';
import { formUpload } from '../web/form-upload.js';
import { FormErrorRenderers } from '../web/form-errors.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import { ROUTES, ROUTE_LABELS } from '../../workflows/card-state-machine.js';
import { type CardInput, MAX_BATCH } from './card.dto.js';
import {
  CARD_COLUMNS,
  type CardRecord,
  type CsvReport,
  type FieldProblem,
  MAX_CSV_BYTES,
  MAX_CSV_ROWS,
  NAME_CATEGORY_LABELS,
  checkRecord,
  csvTemplate,
  isClean,
  markExisting,
  parseCardCsv,
  reportCardIds,
  toRecord,
} from './card-csv.js';
import { CardsRepository } from './cards.repository.js';
import { VenueScope } from './venue-scope.js';
import { CardsService, type RegisterResult } from './cards.service.js';

interface UploadedCsv {
  buffer: Buffer;
  size: number;
}
type UploadRequest = Request & { web: WebSessionContext; file?: UploadedCsv; uploadError?: 'too_large' | 'bad_form' };
type WebRequest = Request & { web: WebSessionContext };


export const UPLOAD_PATH = 'register/csv';

/** Reads the CSV upload before the guard (see formUpload); the file's cells are checked row by row by parseCardCsv. */
@Injectable()
export class CsvUploadMiddleware implements NestMiddleware {
  readonly use: NestMiddleware['use'];

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const upload = multer({
      storage: multer.memoryStorage(),
      limits: { fileSize: MAX_CSV_BYTES, files: 1, fields: 4, fieldSize: 256, parts: 5 },
    }).single('file');
    this.use = formUpload(config, upload);
  }
}

const GROUPS: { legend: string; keys: string[] }[] = [
  { legend: 'カード', keys: ['card_id', 'route', 'card_expires_on'] },
  { legend: '住民', keys: ['name', 'name_kana', 'birth_date', 'postal_code', 'address', 'phone'] },
  { legend: '外国籍の方（該当する場合）', keys: ['alphabet_name', 'common_name', 'name_category', 'nationality', 'residence_period_end'] },
];

const WIDE = new Set(['name', 'name_kana', 'address', 'alphabet_name', 'common_name']);

/** The form's fields in groups, with the values given and each field's problem beside it. */
function formGroups(record: CardRecord, problems: FieldProblem[]) {
  const errors = new Map(problems.map((p) => [p.column, p.message]));
  const field = (key: string) => {
    const c = CARD_COLUMNS.find((x) => x.key === key)!;
    const value = record[key] ?? '';
    const options =
      c.kind === 'route'
        ? ROUTES.map((r) => ({ value: r, label: ROUTE_LABELS[r], selected: (value || 'pickup') === r }))
        : c.kind === 'nameCategory'
          ? Object.entries(NAME_CATEGORY_LABELS).map(([k, label]) => ({ value: k, label, selected: (value || 'legal') === k }))
          : undefined;
    const error = errors.get(key);
    const describedBy = [c.hint ? `h-${key}` : '', error ? `e-${key}` : ''].filter(Boolean).join(' ');
    return {
      key,
      id: `f-${key}`,
      label: c.label,
      hint: c.hint,
      required: c.required,
      value,
      error,
      describedBy,
      options,
      type: c.kind === 'date' ? 'date' : 'text',
      size: WIDE.has(key) ? (key === 'address' ? 60 : 40) : undefined,
      inputmode: ['postal_code', 'phone'].includes(key) ? (key === 'phone' ? 'tel' : 'numeric') : undefined,
    };
  };
  return GROUPS.map((g) => ({ legend: g.legend, fields: g.keys.map(field) }));
}

const ENCODING_LABELS = { 'utf-8': 'UTF-8', cp932: 'Shift_JIS' } as const;

function reportView(report: CsvReport, mode: 'dry' | 'commit') {
  const bad = report.rows.filter((r) => r.problems.length > 0);
  return {
    mode,
    refused: mode === 'commit',
    encoding: ENCODING_LABELS[report.encoding],
    fileErrors: report.fileErrors,
    total: report.rows.length,
    good: report.rows.length - bad.length,
    bad: bad.length,
    badRows: bad.map((r) => ({ line: r.line, cardId: r.cardId, problems: r.problems })),
  };
}

/** Links listed on the result page; the rest are found by search. */
const LISTED = 500;

@ApiExcludeController()
@Controller('register')
export class RegistrationPagesController {
  constructor(
    private readonly service: CardsService,
    private readonly cards: CardsRepository,
    private readonly accessLog: AccessLogService,
    forms: FormErrorRenderers,
  ) {
    // The form drawn again after a refusal before the controller (a My Number in a field): the
    // other fields are kept, the refused one is empty, with the message beside it.
    forms.register(/^\/register$/, async ({ req, res, status, errors, input }) => {
      if (status === 403 || status === 404) return false;
      const record = toRecord(input);
      const problems: FieldProblem[] = errors.map((e) => {
        const column = CARD_COLUMNS.find((c) => c.key === e.field);
        return { column: column?.key ?? '', label: column?.label ?? '入力', message: e.message };
      });
      this.page(req as WebRequest, res, status, { record, problems });
    });
  }

  private page(req: WebRequest, res: Response, status: number, extra: Record<string, unknown> = {}) {
    const record = (extra.record as CardRecord | undefined) ?? toRecord({});
    const problems = (extra.problems as FieldProblem[] | undefined) ?? [];
    res.status(status).render('register', {
      title: 'カード登録',
      nav: 'register',
      web: req.web,
      groups: formGroups(record, problems),
      problems,
      columns: CARD_COLUMNS.map((c) => ({ key: c.key, label: c.label, required: c.required, hint: c.csvHint ?? c.hint, example: c.example })),
      maxMb: MAX_CSV_BYTES / 1024 / 1024,
      maxRows: MAX_CSV_ROWS.toLocaleString('ja-JP'),
      csvFirst: Boolean(extra.report || extra.uploadError),
      ...extra,
    });
  }

  private log(req: WebRequest, cardIds: string[], detail: string) {
    return this.accessLog.record({ user: req.web.user, kind: 'register', cardIds, detail, channel: 'web', ip: req.ip, requestId: String(req.id ?? '') });
  }

  @Get()
  @Allow('ward', 'office')
  form(@Req() req: WebRequest, @Res() res: Response) {
    this.page(req, res, 200);
  }

  @Get('template.csv')
  @Allow('ward', 'office')
  template(@Res() res: Response) {
    res.setHeader('Content-Type', 'text/csv; charset=utf-8');
    res.setHeader('Content-Disposition', 'attachment; filename="card-registration-template.csv"');
    res.send(csvTemplate());
  }

  @Post()
  @Allow('ward', 'office')
  async registerOne(@Body() body: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const record = toRecord(body);
    const checked = checkRecord(record, (p) => this.service.venueFor(p));
    if (!checked.input) return this.page(req, res, 400, { record, problems: checked.problems });
    // register() answers once the card can be opened (its page reads the read model), or says it cannot yet.
    const [result] = await this.service.register([checked.input], req.web.user, 'web');
    await this.log(req, [result.cardId], `registered ${result.status === 'created' ? 1 : 0} of 1 (form)${result.readable ? '' : ' (not yet readable)'}`);
    if (!result.readable) return this.page(req, res, 202, { pending: result.cardId });
    if (result.status === 'exists') return this.page(req, res, 409, { record, exists: result.cardId });
    res.redirect(303, `/cards/${encodeURIComponent(result.cardId)}`);
  }

  @Post('csv')
  @Allow('ward', 'office')
  async upload(@Req() req: UploadRequest, @Res() res: Response) {
    const mode = req.body?.mode === 'commit' ? 'commit' : 'dry';
    if (req.uploadError || !req.file || req.file.size === 0) {
      const uploadError =
        req.uploadError === 'too_large'
          ? `ファイルが大きすぎます（${MAX_CSV_BYTES / 1024 / 1024} MBまで）。ファイルを分けてください`
          : req.uploadError
            ? 'ファイルを受け取れませんでした。このページのフォームからCSVファイルを1つ選んで送ってください'
            : 'CSVファイルを選んでください';
      return this.page(req, res, req.uploadError === 'too_large' ? 413 : 400, { uploadError });
    }
    const report = parseCardCsv(req.file.buffer, undefined, (p) => this.service.venueFor(p));
    if (report.fileErrors.length === 0) markExisting(report, await this.cards.existing(VenueScope.of(req.web.user), reportCardIds(report)));
    // All or nothing: one bad row and the file is not registered.
    if (mode === 'dry' || !isClean(report)) return this.page(req, res, mode === 'dry' ? 200 : 400, { report: reportView(report, mode) });

    const inputs = report.rows.map((r) => r.input as CardInput);
    const results: RegisterResult[] = [];
    try {
      // Every batch started first, then one wait for the whole file (below).
      for (let i = 0; i < inputs.length; i += MAX_BATCH) results.push(...(await this.service.register(inputs.slice(i, i + MAX_BATCH), req.web.user, 'web', { waitMs: 0 })));
    } finally {
      // Logged even when a later batch fails, so that the access log names every card registered.
      if (results.length) {
        const created = results.filter((r) => r.status === 'created').length;
        await this.log(req, results.map((r) => r.cardId), `csv upload: registered ${created} of ${inputs.length}${results.length < inputs.length ? ' (interrupted)' : ''}`);
      }
    }
    // The result links to each card: it is shown once the cards can be opened, or says which cannot yet.
    const readable = await this.service.waitReadable(results.filter((r) => !r.readable).map((r) => r.cardId));
    for (const r of results) r.readable ||= readable.has(r.cardId);
    const created = results.filter((r) => r.readable && r.status === 'created').map((r) => r.cardId);
    const existed = results.filter((r) => r.readable && r.status === 'exists').map((r) => r.cardId);
    const pending = results.filter((r) => !r.readable).map((r) => r.cardId);
    res.status(pending.length ? 202 : 200).render('register-result', {
      title: 'カード登録の結果',
      nav: 'register',
      web: req.web,
      total: results.length,
      createdCount: created.length,
      existedCount: existed.length,
      created: created.slice(0, LISTED),
      moreCreated: Math.max(0, created.length - LISTED),
      existed,
      pendingCount: pending.length,
      pending: pending.slice(0, LISTED),
      morePending: Math.max(0, pending.length - LISTED),
    });
  }
}
