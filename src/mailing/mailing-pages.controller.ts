/**
 * The office's mail batch pages (R-3.1–R-3.10): today's batch from the cards due, its items in post
 * order with envelope classes, printing with a progress bar, the hand-writing list, the printed
 * files, check, hand-over to the ward, pulling a card out. Every page that lists residents' names
 * (the hand-writing list) is written to the access log.
 */
import { Body, Controller, Get, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { AccessLogService } from '../audit/access-log.service.js';
import { Allow } from '../auth/auth.types.js';
import type { WebSessionContext } from '../auth/web-auth.service.js';
import { parseOrThrow } from '../common/zod-validation.js';
import { ENVELOPE_CLASS_LABELS } from '../printing/documents.js';
import type { HandwritingEntry } from '../printing/print-fields.js';
import { MailingErrorCode, MailingException } from './mailing.exception.js';
import type { BatchStatus } from './mailing.repository.js';
import { type BatchDocumentKind, MailingService } from './mailing.service.js';

type WebRequest = Request & { web: WebSessionContext };

export const STATUS_LABELS: Record<BatchStatus, string> = {
  draft: '作成済み（未印刷）',
  rendering: '印刷データ作成中',
  printed: '印刷済み（確認待ち）',
  failed: '印刷データに不一致（再印刷が必要）',
  checked: '確認済み（引き渡し待ち）',
  handing_over: '区へ引き渡し中',
  handed_over: '区へ引き渡し済み（発送済み）',
  cancelled: '取り消し',
};
const KIND_LABELS = { notice: '交付通知書', renotice: '再通知はがき' } as const;
const DOCUMENT_LABELS: Record<BatchDocumentKind, string> = { summary: '発送バッチ集計', notices: '交付通知書・交付説明文書', renotices: '再通知はがき', ledgers: '各会場送付台帳', envelopes: '封筒宛名シート' };
const EXCLUSION_LABELS = { expired: '有効期限切れ（カードまたは在留期間）', removed: '住民登録消除' } as const;
const REASON_LABELS = { missing_glyph: '印刷できない文字', overflow: '枠に収まらない' } as const;
const FIELD_LABELS: Record<string, string> = { name: '氏名', address: '住所' };
const DONE: Record<string, string> = {
  created: 'バッチを作成しました。内容を確かめてから印刷してください。',
  printing: '印刷データを作成しています。完了するとこのページに表示されます。',
  checked: '確認済みにしました。区へ引き渡してください。',
  handing: '区への引き渡しを始めました。各カードに発送が記録されます。',
  pulled: 'カードをバッチから抜き取りました。印刷済みの場合は、その通知書を取り除いてください。',
  cancelled: 'バッチを取り消しました。',
  proposed: '除外したカードの廃棄の提案をやり直しました。',
  excluded: '再通知するカードはありませんでした（承認されたカードはすべて除外）。除外したカードと廃棄の提案は下のとおりです。',
};

const batchId = z.string().regex(/^B\d{8}-\d{3}$/, 'バッチ番号が正しくありません');
const createSchema = z.object({ kind: z.enum(['notice', 'renotice']), quota: z.coerce.number().int().min(1) });
const pullSchema = z.object({ cardId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,31}$/, 'カード番号が正しくありません') });

@ApiExcludeController()
@Controller('mail-batches')
export class MailingPagesController {
  constructor(
    private readonly service: MailingService,
    private readonly accessLog: AccessLogService,
  ) {}

  @Get()
  @Allow('office', 'ward', 'auditor')
  async list(@Query('done') done: unknown, @Req() req: WebRequest, @Res() res: Response) {
    const batches = await this.service.repo.list();
    res.render('mail-batches', {
      title: '発送バッチ',
      nav: 'mail-batches',
      web: req.web,
      done: typeof done === 'string' ? DONE[done] : undefined,
      canCreate: req.web.user.role === 'office',
      quota: this.service.quota,
      batches: batches.map((b) => ({ ...b, statusLabel: STATUS_LABELS[b.status], kindLabel: KIND_LABELS[b.kind] })),
    });
  }

  @Post()
  @Allow('office')
  async create(@Body() body: Record<string, unknown>, @Res() res: Response, @Req() req: WebRequest) {
    const f = parseOrThrow(createSchema.extend({ quota: z.coerce.number().int().min(1).max(this.service.quota.max, `一度に作れるのは${this.service.quota.max}通までです`) }), body);
    const batch = await this.service.create(f.kind, f.quota, req.web.user);
    res.redirect(303, `/mail-batches/${batch.id}?done=${batch.items === 0 ? 'excluded' : 'created'}`);
  }

  @Get(':id')
  @Allow('office', 'ward', 'auditor')
  async show(@Param('id') id: string, @Query('done') done: unknown, @Req() req: WebRequest, @Res() res: Response) {
    const b = await this.service.batch(this.id(id));
    const [items, documents, exclusions] = await Promise.all([this.service.repo.items(b.id), this.service.repo.documents(b.id), this.service.repo.exclusions(b.id)]);
    const handwriting = items.flatMap((i) =>
      ((i.handwriting ?? []) as HandwritingEntry[]).map((h) => ({
        cardId: i.cardId,
        position: i.position,
        field: FIELD_LABELS[h.field] ?? h.field,
        reason: REASON_LABELS[h.reason],
        text: h.text,
        missing: (h.missing ?? []).map((m) => `${m.text}（${m.codePoints}）`).join('、'),
        width: h.width,
        maxWidth: h.maxWidth,
      })),
    );
    // The hand-writing list shows names and addresses.
    if (handwriting.length > 0) {
      await this.accessLog.record({ user: req.web.user, kind: 'read', cardIds: [...new Set(handwriting.map((h) => h.cardId))], detail: `mail batch ${b.id} hand-writing list`, channel: 'web', ip: req.ip, requestId: String(req.id ?? '') });
    }
    const offices = new Map<string, { postOfficeId: string; envelope: string; count: number }>();
    for (const i of items.filter((x) => !x.pulledOutAt)) {
      const o = offices.get(i.postOfficeId) ?? { postOfficeId: i.postOfficeId, envelope: ENVELOPE_CLASS_LABELS[i.envelopeClass], count: 0 };
      o.count++;
      offices.set(i.postOfficeId, o);
    }
    const busy = b.status === 'rendering' || b.status === 'handing_over';
    const office = req.web.user.role === 'office';
    res.render('mail-batch', {
      title: `発送バッチ ${b.id}`,
      nav: 'mail-batches',
      web: req.web,
      refresh: busy ? 3 : undefined,
      done: typeof done === 'string' ? DONE[done] : undefined,
      batch: { ...b, statusLabel: STATUS_LABELS[b.status], kindLabel: KIND_LABELS[b.kind] },
      progress: busy || b.progressDone > 0 ? { done: b.progressDone, total: b.progressTotal, percent: b.progressTotal ? Math.floor((b.progressDone / b.progressTotal) * 100) : 0 } : undefined,
      offices: [...offices.values()],
      items: items.map((i) => ({ ...i, envelope: ENVELOPE_CLASS_LABELS[i.envelopeClass], pullable: office && !i.pulledOutAt && !i.mailedAt && !['handing_over', 'handed_over', 'cancelled'].includes(b.status) })),
      handwriting,
      exclusions: exclusions.map((x) => ({ ...x, reasonLabel: EXCLUSION_LABELS[x.reason] })),
      canRetryExclusions: office && exclusions.some((x) => !x.proposedAt),
      documents: documents.map((d) => ({ ...d, label: DOCUMENT_LABELS[d.kind as BatchDocumentKind] ?? d.kind })),
      can: {
        print: office && ['draft', 'printed', 'failed'].includes(b.status),
        reprint: b.status !== 'draft',
        check: office && b.status === 'printed',
        handOver: office && b.status === 'checked',
        cancel: office && ['draft', 'rendering', 'printed', 'failed', 'checked'].includes(b.status),
      },
    });
  }

  /** Raises the discard proposals of the cards a re-notice batch left out, where that failed before. */
  @Post(':id/exclusions')
  @Allow('office')
  async exclusions(@Param('id') id: string, @Req() req: WebRequest, @Res() res: Response) {
    const b = await this.service.batch(this.id(id));
    await this.service.proposeDiscards(b.id, req.web.user);
    res.redirect(303, `/mail-batches/${b.id}?done=proposed`);
  }

  @Post(':id/print')
  @Allow('office')
  async print(@Param('id') id: string, @Req() req: WebRequest, @Res() res: Response) {
    await this.service.print(this.id(id), req.web.user);
    res.redirect(303, `/mail-batches/${id}?done=printing`);
  }

  @Post(':id/check')
  @Allow('office')
  async check(@Param('id') id: string, @Body() body: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    parseOrThrow(z.object({ confirm: z.literal('yes', { error: '印刷物を確認したら、確認のチェックを入れてください' }) }), body);
    await this.service.check(this.id(id), req.web.user);
    res.redirect(303, `/mail-batches/${id}?done=checked`);
  }

  @Post(':id/hand-over')
  @Allow('office')
  async handOver(@Param('id') id: string, @Req() req: WebRequest, @Res() res: Response) {
    await this.service.handOver(this.id(id), req.web.user);
    res.redirect(303, `/mail-batches/${id}?done=handing`);
  }

  @Post(':id/cancel')
  @Allow('office')
  async cancel(@Param('id') id: string, @Req() req: WebRequest, @Res() res: Response) {
    await this.service.cancel(this.id(id), req.web.user);
    res.redirect(303, `/mail-batches/${id}?done=cancelled`);
  }

  @Post(':id/pull-out')
  @Allow('office')
  async pullOut(@Param('id') id: string, @Body() body: Record<string, unknown>, @Req() req: WebRequest, @Res() res: Response) {
    const { cardId } = parseOrThrow(pullSchema, body);
    await this.service.pullOut(this.id(id), cardId, req.web.user);
    await this.accessLog.record({ user: req.web.user, kind: 'change', cardIds: [cardId], detail: `pulled out of mail batch ${id}`, channel: 'web', ip: req.ip, requestId: String(req.id ?? '') });
    res.redirect(303, `/mail-batches/${id}?done=pulled`);
  }

  @Get(':id/:kind.pdf')
  @Allow('office', 'ward', 'auditor')
  async pdf(@Param('id') id: string, @Param('kind') kind: string, @Req() req: WebRequest, @Res() res: Response) {
    const k = parseOrThrow(z.object({ kind: z.enum(['summary', 'notices', 'renotices', 'ledgers', 'envelopes']) }), { kind }).kind;
    const doc = await this.service.document(this.id(id), k);
    const items = await this.service.repo.items(id);
    await this.accessLog.record({ user: req.web.user, kind: 'export', cardIds: items.filter((i) => !i.pulledOutAt).map((i) => i.cardId), detail: `mail batch ${id} ${k}.pdf sha256 ${doc.sha256}`, channel: 'web', ip: req.ip, requestId: String(req.id ?? '') });
    res.setHeader('Content-Type', 'application/pdf');
    res.setHeader('Content-Disposition', `inline; filename="${id}-${k}.pdf"`);
    res.setHeader('X-Content-SHA256', doc.sha256);
    // The path is the print worker's, from the database (`npm start` keeps it under `.data/`): send
    // would refuse a path with a dot folder in it as a 404.
    res.sendFile(doc.file, { dotfiles: 'allow' });
  }

  private id(id: string): string {
    if (!batchId.safeParse(id).success) throw new MailingException(MailingErrorCode.BATCH_NOT_FOUND, `発送バッチ ${id.slice(0, 40)} は見つかりません`);
    return id;
  }
}
