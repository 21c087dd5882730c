/**
 * Cards the ward mails itself (R-1.2 申請時来庁方式 / 出張申請方式, R-1.4 other intake kinds): they never
 * get a notice in a mail batch; their notices are pulled out and handed to the ward with the cards
 * (R-3.2). This page (and its CSV) lists the cards still to hand over, oldest receipt first; each is
 * recorded on its card page (区へ引渡し). Both are personal data reads, written to the access log.
 */
import { Controller, Get, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { TZDate } from '@date-fns/tz';
import { format } from 'date-fns';
import { stringify } from 'csv-stringify/sync';
import type { Request, Response } from 'express';
import { AccessLogService } from '../audit/access-log.service.js';
import { Allow } from '../auth/auth.types.js';
import type { WebSessionContext } from '../auth/web-auth.service.js';
import { csvOptions } from '../common/csv-cell.js';
import { ROUTE_LABELS, type Route, STATE_LABELS, type CardStateName, WARD_MAILED_ROUTES } from '../../workflows/card-state-machine.js';
import { MailingService } from './mailing.service.js';

type WebRequest = Request & { web: WebSessionContext };

/** The longest list shown or exported at once (the oldest first; the rest follow once these are handed over). */
const LIMIT = 2000;

@ApiExcludeController()
@Controller('ward-handover')
export class WardHandoverPagesController {
  constructor(
    private readonly service: MailingService,
    private readonly accessLog: AccessLogService,
  ) {}

  @Get()
  @Allow('office', 'ward', 'auditor')
  async list(@Req() req: WebRequest, @Res() res: Response) {
    const rows = await this.service.repo.wardHandover(WARD_MAILED_ROUTES, LIMIT);
    if (rows.length > 0) await this.accessLog.record({ user: req.web.user, kind: 'read', cardIds: rows.map((r) => r.cardId), detail: 'ward hand-over list', channel: 'web', ip: req.ip, requestId: String(req.id ?? '') });
    res.render('ward-handover', {
      title: '区へ引き渡すカード',
      nav: 'mail-batches',
      web: req.web,
      limit: LIMIT,
      full: rows.length >= LIMIT,
      rows: rows.map((r) => ({ ...r, ready: r.state === 'inspected' })),
    });
  }

  @Get('cards.csv')
  @Allow('office', 'ward', 'auditor')
  async csv(@Req() req: WebRequest, @Res() res: Response) {
    const rows = await this.service.repo.wardHandover(WARD_MAILED_ROUTES, LIMIT);
    await this.accessLog.record({ user: req.web.user, kind: 'export', cardIds: rows.map((r) => r.cardId), detail: `ward hand-over list csv of ${rows.length} cards`, channel: 'web', ip: req.ip, requestId: String(req.id ?? '') });
    const stamp = format(new TZDate(new Date(), 'Asia/Tokyo'), 'yyyyMMdd-HHmm');
    res.setHeader('Content-Type', 'text/csv; charset=UTF-8');
    res.setHeader('Content-Disposition', `attachment; filename="ward-handover-${stamp}.csv"; filename*=UTF-8''${encodeURIComponent(`区へ引渡し-${stamp}.csv`)}`);
    const header = ['カード番号', '方式', '状態', '受領日時', '氏名', 'フリガナ', '郵便番号', '住所'];
    const body = rows.map((r) => [
      r.cardId,
      ROUTE_LABELS[r.route as Route] ?? r.route,
      STATE_LABELS[r.state as CardStateName] ?? r.state,
      format(new TZDate(r.receivedAt, 'Asia/Tokyo'), 'yyyy/MM/dd HH:mm'),
      r.name,
      r.nameKana,
      r.postalCode,
      r.address,
    ]);
    res.send('\uFEFF' + stringify([header, ...body], csvOptions));
  }
}
