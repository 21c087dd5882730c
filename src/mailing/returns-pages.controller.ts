/** The office's page for returned notices: type or scan numbers, one by one or as a list. */
import { Body, Controller, Get, Post, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { AccessLogService } from '../audit/access-log.service.js';
import { Allow } from '../auth/auth.types.js';
import type { WebSessionContext } from '../auth/web-auth.service.js';
import { parseOrThrow } from '../common/zod-validation.js';
import { RETURN_REASONS, type ReturnOutcome, ReturnsService } from './returns.service.js';

type WebRequest = Request & { web: WebSessionContext };

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

@ApiExcludeController()
@Controller('returns')
export class ReturnsPagesController {
  constructor(
    private readonly returns: ReturnsService,
    private readonly accessLog: AccessLogService,
  ) {}

  @Get()
  @Allow('office')
  form(@Req() req: WebRequest, @Res() res: Response) {
    res.render('returns', { title: '返戻の記録', nav: 'returns', web: req.web, reasons: RETURN_REASONS.map((r, i) => ({ value: r, selected: i === 0 })) });
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
      reasons: RETURN_REASONS.map((r) => ({ value: r, selected: r === f.reason })),
      results: results.map((r) => ({ ...r, label: OUTCOME_LABELS[r.outcome], ok: r.outcome === 'recorded' || r.outcome === 'already' })),
      counts: { recorded: results.filter((r) => r.outcome === 'recorded').length, failed: results.filter((r) => r.outcome === 'not_found' || r.outcome === 'refused').length },
    });
  }
}
