/** `/stuck-cards`: the office's list of cards whose changes the database keeps refusing to record. */
import { Controller, Get, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { AccessLogService } from '../audit/access-log.service.js';
import { Allow } from '../auth/auth.types.js';
import type { WebSessionContext } from '../auth/web-auth.service.js';
import { STATE_LABELS, type CardStateName } from '../../workflows/card-state-machine.js';
import { CardsService } from './cards.service.js';

type WebRequest = Request & { web: WebSessionContext };

/** The stored cause in Japanese: refused data or no answer, with the SQL state for the administrator. */
function cause(error: string): string {
  const state = /SQLSTATE (\w{5})/.exec(error)?.[1];
  const what = /refused/.test(error) ? 'データベースが値を受け付けませんでした' : 'データベースに記録できませんでした';
  return state ? `${what}（SQLSTATE ${state}）` : what;
}

const tokyo = (iso: string) => new Date(iso).toLocaleString('ja-JP', { timeZone: 'Asia/Tokyo' });

@ApiExcludeController()
@Controller('stuck-cards')
export class StuckCardsPageController {
  constructor(
    private readonly service: CardsService,
    private readonly accessLog: AccessLogService,
  ) {}

  @Get()
  @Allow('ward', 'office')
  async list(@Req() req: WebRequest, @Res() res: Response) {
    const items = await this.service.stuckCards();
    await this.accessLog.record({ user: req.web.user, kind: 'search', cardIds: items.map((c) => c.cardId), detail: 'stuck cards page', channel: 'web', ip: req.ip, requestId: String(req.id ?? '') });
    res.render('stuck-cards', {
      title: '記録できないカード',
      nav: 'stuck-cards',
      web: req.web,
      items: items.map((c) => ({
        ...c,
        stateText: c.state ? (STATE_LABELS[c.state as CardStateName] ?? c.state) : '未登録（受領の記録ができていません）',
        cause: cause(c.error),
        since: tokyo(c.since),
        lastFailedAt: tokyo(c.lastFailedAt),
      })),
    });
  }
}
