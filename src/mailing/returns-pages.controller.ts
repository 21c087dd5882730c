/** The office's page for returned notices: type or scan numbers, one by one or as a list. */
import { Body, Controller, Get, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { AccessLogService } from '../audit/access-log.service.js';
import { Allow } from '../auth/auth.types.js';
import type { WebSessionContext } from '../auth/web-auth.service.js';
import { parseOrThrow } from '../common/zod-validation.js';
import { FormErrorRenderers, errorsByField } from '../web/form-errors.js';
import { personText } from '../../workflows/text-rules.js';
import { RETURN_REASONS, type ReturnOutcome, ReturnsService } from './returns.service.js';

type WebRequest = Request & { web: WebSessionContext };

/** A posted value kept for the form, bounded. */
const text = (v: unknown, max = 40) => (typeof v === 'string' ? v.slice(0, max) : '');

const OUTCOME_LABELS: Record<ReturnOutcome, string> = {
  recorded: '返戻を記録しました',
  already: '記録済み（二度目の読み取り）',
  not_found: '該当するカードがありません',
  refused: '記録できません',
};

/** Up to 500 numbers a submission (a day's returns), each at most 40 characters of letters, digits, spaces and hyphens. */
const formSchema = z.object({
  numbers: z
    .string({ error: '番号を入力してください' })
    .max(25_000, '一度に送れるのは500件までです')
    .transform((v) => v.split(/\r\n|\r|\n|,/).map((l) => l.trim()).filter(Boolean))
    .pipe(
      z
        .array(z.string().max(40, '番号が長すぎます').regex(/^[\p{L}\p{N}\s\-ー－]+$/u, '番号には英数字とハイフンだけを入力してください'))
        .min(1, '番号を入力してください')
        .max(500, '一度に送れるのは500件までです'),
    ),
  reason: z.enum(RETURN_REASONS, { error: '返戻の理由を選んでください' }),
});

/** A better address for a returned notice: the booking or card number, the new postal code and address (bounded like registration). */
const correctionSchema = z.object({
  number: z.string({ error: '番号を入力してください' }).trim().min(1, '番号を入力してください').max(40, '番号が長すぎます').regex(/^[\p{L}\p{N}\s\-ー－]+$/u, '番号には英数字とハイフンだけを入力してください'),
  postalCode: z.string({ error: '郵便番号を入力してください' }).trim().regex(/^[0-9]{3}-?[0-9]{4}$/, '郵便番号は 135-0016 の形で入力してください'),
  address: z
    .string({ error: '住所を入力してください' })
    .trim()
    .min(1, '住所を入力してください')
    .max(400, '住所は400文字までです')
    .refine((s) => personText(400).safeParse(s).success, '住所に使えない文字（制御文字など）が含まれています'),
});
const CORRECTION_FIELDS = ['number', 'postalCode', 'address'] as const;

@ApiExcludeController()
@Controller('returns')
export class ReturnsPagesController {
  constructor(
    private readonly returns: ReturnsService,
    private readonly accessLog: AccessLogService,
    forms: FormErrorRenderers,
  ) {
    // A refused correction draws the page again with the message beside the field and the input kept.
    forms.register(/^\/returns\/address$/, async ({ req, res, status, errors, input }) => {
      if (status === 404 || status === 403) return false;
      const split = errorsByField(errors, CORRECTION_FIELDS);
      res.status(status);
      this.page(req as WebRequest, res, { correction: { errors: split.fields, general: split.general, number: text(input.number), postalCode: text(input.postalCode), address: text(input.address, 400) } });
    });
  }

  private page(req: WebRequest, res: Response, extra: Record<string, unknown> = {}) {
    res.render('returns', { title: '返戻の記録', nav: 'returns', web: req.web, reasons: RETURN_REASONS.map((r, i) => ({ value: r, selected: i === 0 })), correction: { errors: {} }, ...extra });
  }

  @Get()
  @Allow('office')
  form(@Query('done') done: unknown, @Req() req: WebRequest, @Res() res: Response) {
    const corrected = typeof done === 'string' && /^[A-Za-z0-9][A-Za-z0-9-]{0,31}$/.test(done) ? done : undefined;
    this.page(req, res, { corrected });
  }

  /** The office corrects a returned notice's address; the notice goes into the next notice batch. */
  @Post('address')
  @Allow('office')
  async correct(@Body() body: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const f = parseOrThrow(correctionSchema, body);
    const result = await this.returns.correctAddress(f.number, f.postalCode, f.address, req.web.user);
    await this.accessLog.record({ user: req.web.user, kind: 'change', cardIds: [result.cardId], detail: 'address corrected for a returned notice; reissue queued for the next notice batch', channel: 'web', ip: req.ip, requestId: String(req.id ?? '') });
    res.redirect(303, `/returns?done=${encodeURIComponent(result.cardId)}`);
  }

  @Post()
  @Allow('office')
  async record(@Body() body: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const f = parseOrThrow(formSchema, body);
    const results = await this.returns.record(f.numbers, f.reason, req.web.user);
    const cardIds = results.flatMap((r) => (r.cardId ? [r.cardId] : []));
    if (cardIds.length > 0) await this.accessLog.record({ user: req.web.user, kind: 'change', cardIds, detail: `returns recorded: ${f.reason}`, channel: 'web', ip: req.ip, requestId: String(req.id ?? '') });
    res.render('returns', {
      title: '返戻の記録',
      nav: 'returns',
      web: req.web,
      correction: { errors: {} },
      reasons: RETURN_REASONS.map((r) => ({ value: r, selected: r === f.reason })),
      results: results.map((r) => ({ ...r, label: OUTCOME_LABELS[r.outcome], ok: r.outcome === 'recorded' || r.outcome === 'already' })),
      counts: { recorded: results.filter((r) => r.outcome === 'recorded').length, failed: results.filter((r) => r.outcome === 'not_found' || r.outcome === 'refused').length },
    });
  }
}
