import { safeRandomUUID } from '../common/my-number.js';
import { Body, Controller, Get, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { AccessLogService } from '../audit/access-log.service.js';
import { Allow } from '../auth/auth.types.js';
import type { WebSessionContext } from '../auth/web-auth.service.js';
import { CardsService } from '../cards/cards.service.js';
import { CardsErrorCode, CardsException } from '../cards/cards.exception.js';
import { parseOrThrow } from '../common/zod-validation.js';
import { PROPOSAL_LABELS, type ProposalKind } from '../../workflows/card-state-machine.js';
import type { SearchQuery } from '../cards/card.dto.js';
import { APPROVAL, WorklistsService } from './worklists.service.js';

type WebRequest = Request & { web: WebSessionContext };

const LISTS: Record<string, { title: string; query: Partial<SearchQuery>; proposal?: ProposalKind }> = {
  renotice: { title: PROPOSAL_LABELS.renotice, query: { proposal: 'renotice' }, proposal: 'renotice' },
  discard: { title: PROPOSAL_LABELS.discard, query: { proposal: 'discard' }, proposal: 'discard' },
  expiry: { title: PROPOSAL_LABELS.expiry, query: { proposal: 'expiry' }, proposal: 'expiry' },
  no_show: { title: PROPOSAL_LABELS.no_show, query: { proposal: 'no_show' }, proposal: 'no_show' },
  late: { title: '通知書発送の期限超過', query: { late: true } },
  on_hold: { title: '保留（引き抜き）中', query: { state: ['on_hold'] } },
};

const bulkSchema = z.object({
  jobKey: z.string().uuid(),
  decision: z.enum(['approve', 'reject']),
  reason: z.string().trim().max(2000).optional(),
  cardIds: z.union([z.string(), z.array(z.string())]).transform((v) => (Array.isArray(v) ? v : [v])).pipe(z.array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,31}$/)).min(1, '対象のカードを選んでください').max(1000)),
  _csrf: z.string(),
});

@ApiExcludeController()
@Controller()
export class WorklistsController {
  constructor(
    private readonly cards: CardsService,
    private readonly worklists: WorklistsService,
    private readonly accessLog: AccessLogService,
  ) {}

  @Get('worklists/:kind')
  @Allow('ward', 'office', 'callcenter', 'venue', 'auditor')
  async list(@Param('kind') kind: string, @Query('cursor') cursor: string | undefined, @Req() req: WebRequest, @Res() res: Response) {
    const list = LISTS[kind];
    if (!list) throw new CardsException(CardsErrorCode.UNKNOWN_ACTION, `no worklist ${kind}`);
    const page = await this.cards.search({ sort: 'receivedAt', limit: 200, ...list.query, cursor } as SearchQuery, req.web.user);
    await this.accessLog.record({ user: req.web.user, kind: 'search', cardIds: page.items.map((c) => c.cardId), detail: `worklist ${kind}`, channel: 'web', ip: req.ip, requestId: String(req.id ?? '') });
    res.render('worklist', {
      title: list.title,
      nav: 'worklists',
      web: req.web,
      kind,
      lists: Object.entries(LISTS).map(([k, v]) => ({ kind: k, title: v.title, current: k === kind })),
      items: page.items,
      nextLink: page.nextCursor ? `/worklists/${kind}?cursor=${page.nextCursor}` : undefined,
      canDecide: Boolean(list.proposal) && req.web.user.role === 'ward' && page.items.length > 0,
      jobKey: safeRandomUUID(),
    });
  }

  @Post('worklists/:kind/bulk')
  @Allow('ward')
  async bulk(@Param('kind') kind: string, @Body() body: unknown, @Req() req: WebRequest, @Res() res: Response) {
    const proposal = LISTS[kind]?.proposal;
    if (!proposal) throw new CardsException(CardsErrorCode.UNKNOWN_ACTION, `no decisions on worklist ${kind}`);
    const input = parseOrThrow(bulkSchema, body);
    if (input.decision === 'reject' && !input.reason) throw new CardsException(CardsErrorCode.REASON_REQUIRED, '却下には理由が必要です');
    const action = input.decision === 'approve' ? APPROVAL[proposal] : 'reject_proposal';
    const id = await this.worklists.start(req.web.user, {
      jobKey: input.jobKey,
      action,
      reason: input.reason || undefined,
      data: action === 'reject_proposal' ? { kind: proposal } : undefined,
      cardIds: input.cardIds,
    });
    await this.accessLog.record({ user: req.web.user, kind: 'change', cardIds: input.cardIds, detail: `bulk ${action} (job ${id})`, channel: 'web', ip: req.ip, requestId: String(req.id ?? '') });
    res.redirect(303, `/jobs/${id}`);
  }

  @Get('jobs/:id')
  @Allow('ward')
  async job(@Param('id') id: string, @Req() req: WebRequest, @Res() res: Response) {
    const job = await this.worklists.job(parseOrThrow(z.string().uuid(), id, 'id'), req.web.user.id);
    if (!job) throw new CardsException(CardsErrorCode.CARD_NOT_FOUND, `no job ${id}`);
    res.render('bulk-job', {
      title: '一括処理の進捗',
      nav: 'worklists',
      web: req.web,
      job,
      total: job.card_ids.length,
      running: job.status === 'running',
      refresh: job.status === 'running' ? 2 : undefined,
      failures: Object.entries(job.failures ?? {}).map(([cardId, message]) => ({ cardId, message })),
    });
  }
}
