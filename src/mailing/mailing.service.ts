/**
 * Mail batches for the office: build today's batch from the cards whose notices are
 * due (set up at their venue, R-3.10) up to the daily quota, print it on the print worker,
 * check it, hand it to the ward (each card then records its mailing), pull a card out until it is
 * mailed. The steps run in the batch's workflow (`workflows/mail-batch.workflow.ts`).
 */
import { existsSync } from 'node:fs';
import { Inject, Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { Client, WorkflowUpdateFailedError, WorkflowUpdateStage } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { AuthUser } from '../auth/auth.types.js';
import { tokyoDate } from '../calendar/business-days.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG, WARD_CONFIG } from '../config/config.module.js';
import type { WardConfig } from '../config/ward-config.js';
import { loadPrintConfig } from '../printing/print-config.js';
import { cardActionUpdate, cardWorkflowId } from '../../workflows/card-messages.js';
import { batchCancelSignal, batchCheckedUpdate, batchHandOverUpdate, batchReprintUpdate, mailBatchWorkflowId } from '../../workflows/mail-batch-messages.js';
import { MailingErrorCode, MailingException } from './mailing.exception.js';
import { type BatchKind, type BatchView, MailingRepository } from './mailing.repository.js';

export type BatchDocumentKind = 'summary' | 'notices' | 'renotices' | 'ledgers' | 'envelopes';
/** A step refused because the card is already there (on hold; a discard proposal already open). */
function alreadyDone(e: unknown): void {
  if (e instanceof WorkflowUpdateFailedError && e.cause instanceof ApplicationFailure) {
    if (e.cause.type === 'ILLEGAL_TRANSITION' && /on_hold/.test(e.cause.message)) return;
    if (e.cause.type === 'INVALID_DATA' && /already open/.test(e.cause.message)) return;
  }
  throw e;
}


@Injectable()
export class MailingService {
  readonly repo: MailingRepository;
  readonly quota: { daily: number; max: number };

  constructor(
    em: EntityManager,
    private readonly client: Client,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(WARD_CONFIG) private readonly ward: WardConfig,
  ) {
    this.repo = new MailingRepository(em);
    const print = loadPrintConfig();
    this.quota = { daily: print.dailyQuota, max: print.maxQuota };
  }

  async batch(id: string): Promise<BatchView> {
    const b = await this.repo.batch(id);
    if (!b) throw new MailingException(MailingErrorCode.BATCH_NOT_FOUND, `no batch ${id}`);
    return b;
  }

  /** A draft of the cards due now, up to `quota` (the daily quota; two days' allowed). */
  async create(kind: BatchKind, quota: number, user: AuthUser, onlyCards?: string[]): Promise<BatchView> {
    const batch = await this.repo.createDraft({
      onlyCards,
      kind,
      quota,
      by: user.username,
      today: tokyoDate(),
      postOfficeOrder: this.ward.postOffices.map((p) => p.id),
      postOfficeFor: (pc) => this.ward.postOfficeForPostalCode(pc),
    });
    if (!batch) throw new MailingException(MailingErrorCode.NOTHING_DUE, kind === 'notice' ? 'no card is due for a notice (set up at its venue and not in a batch)' : 'no approved re-notice is waiting');
    await this.proposeDiscards(batch.id, user);
    return batch;
  }

  /**
   * The approved re-notices a batch left out go to discard proposals instead: an expired card
   * is pulled out (引き抜き, on hold) and proposed for discard, which the ward approves or rejects; a
   * removed resident's proposal is already open (its card's timer), or raised here. One idempotent
   * Update per step and card, so running this again (the page's retry) does nothing twice.
   */
  async proposeDiscards(batchId: string, user: AuthUser): Promise<void> {
    for (const x of await this.repo.exclusions(batchId)) {
      if (x.proposedAt) continue;
      const why = x.reason === 'expired' ? '有効期限切れ' : '住民登録消除';
      const send = (action: 'pull_out' | 'propose_discard', actor: { userId: string; role: 'office' | 'system' }) =>
        this.client.withDeadline(Date.now() + 30_000, () =>
          this.client.workflow.getHandle(cardWorkflowId(x.cardId)).executeUpdate(cardActionUpdate, {
            args: [{ action, actor: { ...actor, channel: 'web' }, reason: `再通知バッチ ${batchId} から除外（${why}）：廃棄を提案` }],
            updateId: `exclude-${batchId}-${x.cardId}-${action}`,
          }),
        );
      try {
        if (x.reason === 'expired') await send('pull_out', { userId: user.username, role: 'office' }).catch(alreadyDone);
        await send('propose_discard', { userId: 'system', role: 'system' }).catch(alreadyDone);
        await this.repo.setExclusionOutcome(batchId, x.cardId, null);
      } catch (e) {
        // Shown on the batch page beside its retry button: why, without the workflow's wording.
        const failure = e instanceof WorkflowUpdateFailedError && e.cause instanceof ApplicationFailure ? `カードが受け付けませんでした（${e.cause.type}）` : 'カードのワークフローが応答しませんでした';
        await this.repo.setExclusionOutcome(batchId, x.cardId, failure);
      }
    }
  }

  /** Starts printing a draft (or prints a printed or failed batch again). */
  async print(id: string, user: AuthUser): Promise<void> {
    const b = await this.batch(id);
    if (b.status === 'draft') {
      await this.repo.setStep(id, 'rendering');
      await this.client.workflow.start('mailBatchWorkflow', {
        workflowId: mailBatchWorkflowId(id),
        taskQueue: this.config.TEMPORAL_TASK_QUEUE,
        args: [{ batchId: id, printTaskQueue: this.config.PRINT_TASK_QUEUE }],
      });
      return;
    }
    if (b.status !== 'printed' && b.status !== 'failed') throw new MailingException(MailingErrorCode.STEP_REFUSED, `batch ${id} is ${b.status}: only a printed or failed batch can be printed again`);
    await this.step(id, () => this.client.workflow.getHandle(mailBatchWorkflowId(id)).startUpdate(batchReprintUpdate, { args: [{ by: user.username }], waitForStage: WorkflowUpdateStage.ACCEPTED }));
  }

  /** The office has checked the printed matter against the lists. */
  async check(id: string, user: AuthUser): Promise<void> {
    this.expect(await this.batch(id), 'printed', 'checked');
    await this.step(id, () => this.client.workflow.getHandle(mailBatchWorkflowId(id)).executeUpdate(batchCheckedUpdate, { args: [{ by: user.username }] }));
  }

  /** Hands the batch to the ward: every card still in it records its mailing (in the background). */
  async handOver(id: string, user: AuthUser): Promise<void> {
    this.expect(await this.batch(id), 'checked', 'handed over');
    await this.step(id, () => this.client.workflow.getHandle(mailBatchWorkflowId(id)).startUpdate(batchHandOverUpdate, { args: [{ by: user.username }], waitForStage: WorkflowUpdateStage.ACCEPTED }));
  }

  async cancel(id: string, user: AuthUser): Promise<void> {
    const b = await this.batch(id);
    if (b.status === 'draft') {
      await this.repo.setStep(id, 'cancelled', user.username);
      return;
    }
    if (!['rendering', 'printed', 'failed', 'checked'].includes(b.status)) throw new MailingException(MailingErrorCode.STEP_REFUSED, `a batch that is ${b.status} cannot be cancelled`);
    await this.client.workflow.getHandle(mailBatchWorkflowId(id)).signal(batchCancelSignal, { by: user.username });
  }

  async pullOut(id: string, cardId: string, user: AuthUser): Promise<void> {
    const b = await this.batch(id);
    if (['handed_over', 'cancelled'].includes(b.status) || !(await this.repo.pullOut(id, cardId, user.username))) {
      throw new MailingException(MailingErrorCode.NOT_IN_BATCH, `card ${cardId} is not waiting in batch ${id}`);
    }
  }

  /** A printed document's file, if it is still there. */
  async document(id: string, kind: BatchDocumentKind): Promise<{ file: string; sha256: string }> {
    const d = (await this.repo.documents(id)).find((x) => x.kind === kind);
    if (!d || !existsSync(d.file)) throw new MailingException(MailingErrorCode.DOCUMENT_NOT_FOUND, `batch ${id} has no ${kind} document`);
    return d;
  }

  /** A clear refusal before asking the workflow (which refuses a step out of turn too). */
  private expect(b: BatchView, status: BatchView['status'], what: string): void {
    if (b.status !== status) throw new MailingException(MailingErrorCode.STEP_REFUSED, `batch ${b.id} is ${b.status}: only a ${status} batch can be ${what}`);
  }

  private async step(id: string, fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
    } catch (e) {
      if (e instanceof WorkflowUpdateFailedError && e.cause instanceof ApplicationFailure && e.cause.type === 'BATCH_STEP_REFUSED') {
        throw new MailingException(MailingErrorCode.STEP_REFUSED, e.cause.message);
      }
      throw e;
    }
  }
}
