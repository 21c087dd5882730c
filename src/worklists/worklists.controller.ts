import { safeRandomUUID } from '../common/my-number.js';
import { Body, Controller, Get, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { AccessLogService } from '../audit/access-log.service.js';
import { Allow } from '../auth/auth.types.js';
import type { WebSessionContext } from '../auth/web-auth.service.js';
import { CardsService } from '../cards/cards.service.js';
import { CardsErrorCode, CardsException } from '../cards/cards.exception.js';
import { CommonException, type FieldError } from '../common/errors.js';
import { parseOrThrow } from '../common/zod-validation.js';
import { WARD_CONFIG } from '../config/config.module.js';
import type { WardConfig } from '../config/ward-config.js';
import { FormErrorRenderers, errorsByField } from '../web/form-errors.js';
import { actionButtonLabel, failureMessage, type PageError } from '../web/messages.js';
import { ACTION_DEFINITIONS, PROPOSAL_LABELS, type CardAction, type ProposalKind } from '../../workflows/card-state-machine.js';
import type { SearchQuery } from '../cards/card.dto.js';
import { APPROVAL, type WorklistCounts, WorklistsService } from './worklists.service.js';

type WebRequest = Request & { web: WebSessionContext };
type ListKind = keyof WorklistCounts;

const LISTS: Record<ListKind, { title: string; query: Partial<SearchQuery>; proposal?: ProposalKind }> = {
  renotice: { title: PROPOSAL_LABELS.renotice, query: { proposal: 'renotice' }, proposal: 'renotice' },
  discard: { title: PROPOSAL_LABELS.discard, query: { proposal: 'discard' }, proposal: 'discard' },
  expiry: { title: PROPOSAL_LABELS.expiry, query: { proposal: 'expiry' }, proposal: 'expiry' },
  no_show: { title: PROPOSAL_LABELS.no_show, query: { proposal: 'no_show' }, proposal: 'no_show' },
  late: { title: '通知書発送の期限超過', query: { late: true } },
  on_hold: { title: '保留（引き抜き）中', query: { state: ['on_hold'] } },
};

const isList = (kind: string): kind is ListKind => Object.hasOwn(LISTS, kind);

const CARD_ID = /^[A-Za-z0-9][A-Za-z0-9-]{0,31}$/;
const bulkSchema = z.object({
  jobKey: z.string().uuid(),
  decision: z.enum(['approve', 'reject'], { error: '承認するか却下するかを選んでください。' }),
  reason: z.string().trim().max(2000, '理由は2000文字以内にしてください。').optional(),
  confirm: z.literal('yes').optional(),
  cardIds: z
    .union([z.string(), z.array(z.string())], { error: '対象のカードを1枚以上選んでください。' })
    .transform((v) => (Array.isArray(v) ? v : [v]))
    .pipe(z.array(z.string().regex(CARD_ID)).min(1, '対象のカードを1枚以上選んでください。').max(1000, '一度に処理できるのは1000枚までです。')),
  _csrf: z.string(),
});

const DAY = 86_400_000;
const BULK_FIELDS = ['cardIds', 'decision', 'reason', 'confirm'];
const text = (v: unknown, max = 2000) => (typeof v === 'string' ? v.slice(0, max) : '');

/** The list a bulk job came from: its approval's proposal kind, or the kind it rejected. */
function listOfJob(action: CardAction, data: Record<string, unknown> | null): ListKind | undefined {
  const approved = (Object.entries(APPROVAL) as [ProposalKind, CardAction][]).find(([, a]) => a === action)?.[0];
  const kind = approved ?? (typeof data?.kind === 'string' ? data.kind : undefined);
  return kind && isList(kind) ? kind : undefined;
}

@ApiExcludeController()
@Controller()
export class WorklistsController {
  constructor(
    private readonly cards: CardsService,
    private readonly worklists: WorklistsService,
    private readonly accessLog: AccessLogService,
    @Inject(WARD_CONFIG) private readonly ward: WardConfig,
    forms: FormErrorRenderers,
  ) {
    // A refused bulk decision draws the worklist again with the message beside the field and the selection kept.
    forms.register(/^\/worklists\/([a-z_]{1,20})\/bulk$/, async ({ req, res, params: [kind], status, errors, input }) => {
      if (!isList(kind) || status === 403 || status === 404) return false;
      await this.renderList(req as WebRequest, res, kind, { status, errors, input });
    });
  }

  @Get('worklists/:kind')
  @Allow('ward', 'office', 'callcenter', 'venue', 'auditor')
  async list(@Param('kind') kind: string, @Query('cursor') cursor: string | undefined, @Query('select') select: string | undefined, @Req() req: WebRequest, @Res() res: Response) {
    if (!isList(kind)) throw new CardsException(CardsErrorCode.UNKNOWN_ACTION, `no worklist ${kind}`);
    await this.renderList(req, res, kind, { cursor, selectAll: select === 'all' });
  }

  private async renderList(req: WebRequest, res: Response, kind: ListKind, opts: { cursor?: string; selectAll?: boolean; status?: number; errors?: PageError[]; input?: Record<string, unknown> }) {
    const list = LISTS[kind];
    const cursor = typeof opts.cursor === 'string' ? opts.cursor.slice(0, 500) : undefined;
    const page = await this.cards.search({ sort: 'receivedAt', limit: 200, ...list.query, cursor } as SearchQuery, req.web.user);
    await this.accessLog.record({ user: req.web.user, kind: 'search', cardIds: page.items.map((c) => c.cardId), detail: `worklist ${kind}`, channel: 'web', ip: req.ip, requestId: String(req.id ?? '') });
    const [details, counts] = await Promise.all([this.worklists.details(page.items.map((c) => c.cardId)), this.worklists.counts(req.web.user)]);
    const input = opts.input ?? {};
    const kept = new Set(([] as unknown[]).concat(input.cardIds ?? []).filter((v): v is string => typeof v === 'string'));
    const now = Date.now();
    const slaDays = Math.round(this.ward.policy.noticeSlaMs / DAY);
    const items = page.items.map((c) => {
      const d = details.get(c.cardId);
      const proposal = list.proposal ? d?.proposals.find((p) => p.kind === list.proposal) : undefined;
      const why =
        kind === 'late'
          ? `受領から${slaDays}日を過ぎても交付通知書が未発送`
          : kind === 'on_hold'
            ? (d?.hold?.reason ?? '（理由の記録なし）')
            : (proposal?.reason ?? '');
      const since = kind === 'late' ? Date.parse(c.receivedAt) : kind === 'on_hold' ? (d?.hold ? new Date(d.hold.at).getTime() : undefined) : proposal?.openedAt;
      return {
        ...c,
        venueName: this.ward.venues.find((v) => v.id === c.venueId)?.name,
        bookingVenueName: this.ward.venues.find((v) => v.id === c.booking?.venueId)?.name,
        why,
        since: since === undefined ? undefined : new Date(since).toISOString(),
        days: since === undefined ? undefined : Math.max(0, Math.floor((now - since) / DAY)),
        checked: opts.selectAll || kept.has(c.cardId),
      };
    });
    const approval = list.proposal ? APPROVAL[list.proposal] : undefined;
    const split = errorsByField(opts.errors ?? [], BULK_FIELDS);
    const decision = text(input.decision, 20);
    res.status(opts.status ?? 200).render('worklist', {
      title: list.title,
      nav: 'worklists',
      web: req.web,
      kind,
      lists: (Object.keys(LISTS) as ListKind[]).map((k) => ({ kind: k, title: LISTS[k].title, count: counts[k], current: k === kind })),
      items,
      whyLabel: kind === 'late' ? '理由' : kind === 'on_hold' ? '保留の理由' : '提案の理由',
      sinceLabel: kind === 'late' ? '受領日' : kind === 'on_hold' ? '保留した日' : '提案日',
      daysLabel: kind === 'late' ? '受領からの日数' : kind === 'on_hold' ? '保留からの日数' : '提案からの日数',
      nextLink: page.nextCursor ? `/worklists/${kind}?cursor=${encodeURIComponent(page.nextCursor)}` : undefined,
      canDecide: Boolean(list.proposal) && req.web.user.role === 'ward' && page.items.length > 0,
      approveLabel: approval ? actionButtonLabel(approval) : undefined,
      approveIrreversible: approval ? ACTION_DEFINITIONS[approval].irreversible : false,
      selectAllLink: `/worklists/${kind}?select=all${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      selectNoneLink: `/worklists/${kind}${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ''}`,
      errors: split.fields,
      generalErrors: split.general,
      hasErrors: (opts.errors ?? []).length > 0,
      values: { approve: decision === 'approve', reject: decision === 'reject', reason: text(input.reason) },
      // A new key after an error: the refused post started no job.
      jobKey: safeRandomUUID(),
    });
  }

  @Post('worklists/:kind/bulk')
  @Allow('ward')
  async bulk(@Param('kind') kind: string, @Body() body: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const proposal = isList(kind) ? LISTS[kind].proposal : undefined;
    if (!proposal) throw new CardsException(CardsErrorCode.UNKNOWN_ACTION, `no decisions on worklist ${kind}`);
    const parsed = bulkSchema.safeParse(body);
    const problems: FieldError[] = parsed.success ? [] : parsed.error.issues.map((i) => ({ field: String(i.path[0] ?? ''), message: i.message }));
    const decision = parsed.success ? parsed.data.decision : body.decision;
    const reason = typeof body.reason === 'string' ? body.reason.trim() : '';
    const action = decision === 'approve' ? APPROVAL[proposal] : 'reject_proposal';
    if (decision === 'reject' && !reason) problems.push({ field: 'reason', message: '却下には理由が必要です。理由を入力してください。' });
    // The same safeguard as the card page: an irreversible decision needs the box ticked, for every card.
    if (decision === 'approve' && ACTION_DEFINITIONS[action].irreversible && body.confirm !== 'yes') {
      problems.push({ field: 'confirm', message: '承認すると取り消せません。選んだカードを確かめて、確認のチェックを入れてください。' });
    }
    if (problems.length || !parsed.success) throw CommonException.validation(problems);
    const input = parsed.data;
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
    const from = listOfJob(job.action, job.data);
    res.render('bulk-job', {
      title: '一括処理の進捗',
      nav: 'worklists',
      web: req.web,
      job,
      jobActionLabel: ACTION_DEFINITIONS[job.action]?.label ?? '一括処理',
      kindLabel: typeof job.data?.kind === 'string' && Object.hasOwn(PROPOSAL_LABELS, job.data.kind) ? PROPOSAL_LABELS[job.data.kind as ProposalKind] : undefined,
      total: job.card_ids.length,
      running: job.status === 'running',
      refresh: job.status === 'running' ? 2 : undefined,
      failures: Object.entries(job.failures ?? {}).map(([cardId, message]) => ({ cardId, message: failureMessage(message) })),
      backLink: `/worklists/${from ?? 'renotice'}`,
      backTitle: from ? LISTS[from].title : 'ワークリスト',
    });
  }
}
