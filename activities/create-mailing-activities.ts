/**
 * The mail batch's activities (`workflows/mail-batch.workflow.ts`): rendering and checking on the
 * print worker, the batch's steps and the hand-over (one idempotent Update per card) on the card
 * worker.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { MikroORM } from '@mikro-orm/postgresql';
import { Context } from '@temporalio/activity';
import { type Client, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { addDays, tokyoDate } from '../src/calendar/business-days.js';
import type { WardConfig } from '../src/config/ward-config.js';
import { MAIL_ACTION, MailingRepository } from '../src/mailing/mailing.repository.js';
import { type PrintCard, envelopeClassFor, envelopePages, ledgerPages, personItems, printedName, qrSvg, summaryPage, summaryTexts } from '../src/printing/documents.js';
import type { FontCoverage } from '../src/printing/glyph-coverage.js';
import type { EraTable } from '../src/printing/japanese-era.js';
import { matchPages, pageTexts, pdfFonts } from '../src/printing/pdf-check.js';
import type { HandwritingEntry } from '../src/printing/print-fields.js';
import type { PdfRenderer } from '../src/printing/pdf-renderer.js';
import { cardActionUpdate, cardWorkflowId } from '../workflows/card-messages.js';
import type { MailingActivities, PrintActivities, RenderBatchResult } from './mailing.activities.js';

/** What every printed notice says besides the card's own data (configuration, R-2.7). */
export interface PrintShared {
  wardName: string;
  bookingUrl: string;
  callCenter: string;
  bring: string[];
}

/** A pickup deadline is printed when the card or residence period ends within this many days. */
const DEADLINE_WITHIN_DAYS = 180;

export function createPrintActivities(deps: { orm: MikroORM; renderer: PdfRenderer; font: FontCoverage; eras: EraTable; ward: WardConfig; printDir: string; shared: PrintShared; chunkItems?: number }): PrintActivities {
  const venues = new Map(deps.ward.venues.map((v) => [v.id, v]));
  const offices = new Map(deps.ward.postOffices.map((p) => [p.id, p.name]));
  return {
    async renderBatch({ batchId }): Promise<RenderBatchResult> {
      const repo = new MailingRepository(deps.orm.em);
      const batch = await repo.batch(batchId);
      if (!batch) throw ApplicationFailure.create({ type: 'BATCH_NOT_FOUND', message: `no batch ${batchId}`, nonRetryable: true });
      // Nothing is printed for a card that moved since the draft (a resident removed, a card held or booked).
      await repo.pullOutMoved(batchId);
      const rows = await repo.printRows(batchId);
      const today = tokyoDate();
      const issuedOn = deps.eras.format(today);
      const cards: PrintCard[] = rows.map((r) => ({
        cardId: r.cardId,
        bookingNumber: r.bookingNumber ?? '',
        name: printedName(r),
        postalCode: r.postalCode,
        address: r.address,
        venueId: r.venueId,
        postOfficeId: r.postOfficeId,
        pickupDeadline: r.expiresOn && r.expiresOn <= addDays(today, DEADLINE_WITHIN_DAYS) ? deps.eras.format(r.expiresOn) : undefined,
        reissue: r.reissueTaskId !== null,
      }));
      const main = batch.kind === 'notice' ? { template: 'notice-letter', kind: 'notices', chunk: 250 } : { template: 'renotice-postcard', kind: 'renotices', chunk: 500 };
      const boxes = (deps.renderer.manifest(main.template) as { fields?: Record<string, { maxWidth: number }> }).fields ?? {};
      const person = personItems(cards, boxes, deps.font, (c) => ({ issuedOn, venueName: venues.get(c.venueId)?.name ?? c.venueId, venueAddress: venues.get(c.venueId)?.address ?? '' }));
      const shared = { ...deps.shared, bookingQr: await qrSvg(deps.shared.bookingUrl) };
      // The batch summary is the batch's first sheet, checked like every page.
      const summary = summaryPage({
        batchId,
        kindLabel: batch.kind === 'notice' ? '交付通知書' : '再通知はがき',
        issuedOn,
        cards,
        postOffices: deps.ward.postOffices,
        venues: deps.ward.venues,
        handwritingCount: person.handwriting.length,
      });
      const documents: { kind: string; template: string; items: { id: string }[]; shared?: Record<string, unknown>; chunkSize: number }[] = [
        { kind: 'summary', template: 'batch-summary', items: [summary], chunkSize: 1 },
        { kind: main.kind, template: main.template, items: person.items, shared, chunkSize: deps.chunkItems ?? main.chunk },
      ];
      if (batch.kind === 'notice') {
        const ledgers = [...venues.keys()].flatMap((v) => ledgerPages(venues.get(v)!.name, batchId, issuedOn, cards.filter((c) => c.venueId === v), 20, deps.font));
        documents.push({ kind: 'ledgers', template: 'transfer-ledger', items: ledgers, chunkSize: deps.chunkItems ?? 100 });
      }
      const envelopes = [...offices.keys()].flatMap((o) => {
        const mine = cards.filter((c) => c.postOfficeId === o);
        return mine.length === 0 ? [] : envelopePages(offices.get(o)!, envelopeClassFor(mine.length), batchId, mine, 25, deps.font, batch.kind);
      });
      documents.push({ kind: 'envelopes', template: 'envelope-sheet', items: envelopes, chunkSize: deps.chunkItems ?? 100 });
      const total = documents.reduce((s, d) => s + d.items.length, 0);
      // Chunks already rendered for the same items are kept across attempts (a killed print worker);
      // a changed item list (a card pulled out meanwhile) renders afresh.
      const listKey = createHash('sha256').update(cards.map((c) => c.cardId).join(',')).digest('hex').slice(0, 16);
      let before = 0;
      let mismatches = 0;
      let type3Fonts = 0;
      for (const d of documents) {
        const file = join(deps.printDir, 'batches', batchId, `${d.kind}.pdf`);
        const result = await deps.renderer.render({
          template: d.template,
          items: d.items,
          chunkSize: d.chunkSize,
          outFile: file,
          workDir: join(deps.printDir, 'work', batchId, `${d.kind}-${listKey}`),
          shared: d.shared,
          onProgress: async (done) => {
            Context.current().heartbeat({ kind: d.kind, done });
            // A worker shutting down cancels the attempt; the next one resumes from the chunks written.
            if (Context.current().cancellationSignal.aborted) throw new CancelledFailure('print worker stopping');
            await repo.setProgress(batchId, before + done, total);
          },
        });
        before += d.items.length;
        if (result.resumedChunks > 0) Context.current().log.info('render resumed from finished chunks', { batchId, document: d.kind, resumedChunks: result.resumedChunks, chunks: result.chunks });
        type3Fonts += (await pdfFonts(file)).filter((f) => f.type.includes('Type 3')).length;
        const pages = await pageTexts(file);
        if (d.kind === main.kind) {
          const match = matchPages(
            pages,
            person.items.map((c) => ({ id: c.id, pages: 1, texts: [c.name, c.address, String(c.bookingNumber ?? '')] })),
          );
          mismatches += match.mismatches.length + Math.abs(match.pageCount.actual - match.pageCount.expected);
        }
        if (d.kind === 'summary') {
          const match = matchPages(pages, [{ id: summary.id, pages: 1, texts: summaryTexts(summary) }]);
          mismatches += match.mismatches.length + Math.abs(match.pageCount.actual - match.pageCount.expected);
        }
        await repo.saveDocument({ batchId, kind: d.kind, file, sha256: result.sha256, bytes: result.bytes, pages: pages.length });
      }
      const byCard = new Map<string, HandwritingEntry[]>();
      for (const h of person.handwriting) byCard.set(h.itemId, [...(byCard.get(h.itemId) ?? []), h]);
      await repo.setHandwriting(batchId, byCard);
      // The workflow records the step (printed or failed) once it has taken it.
      return { ok: mismatches === 0 && type3Fonts === 0, mismatches, type3Fonts, handwriting: person.handwriting.length };
    },
  };
}

export function createMailingActivities(deps: { orm: MikroORM; client?: Client }): MailingActivities {
  return {
    async setBatchStep({ batchId, step, by, error }) {
      await new MailingRepository(deps.orm.em).setStep(batchId, step, by, error);
    },

    async handOverBatch({ batchId, by }) {
      if (!deps.client) throw ApplicationFailure.create({ type: 'NO_CLIENT', message: 'this worker has no Temporal client for the hand-over', nonRetryable: true });
      const client = deps.client;
      const repo = new MailingRepository(deps.orm.em);
      const batch = await repo.batch(batchId);
      if (!batch) throw ApplicationFailure.create({ type: 'BATCH_NOT_FOUND', message: `no batch ${batchId}`, nonRetryable: true });
      const todo = (await repo.items(batchId)).filter((i) => !i.pulledOutAt && !i.mailedAt);
      let mailed = 0;
      let skipped = 0;
      let next = 0;
      const one = async () => {
        for (let i = next++; i < todo.length; i = next++) {
          const item = todo[i];
          try {
            // The same id on every attempt: Temporal answers a repeated Update with its first result.
            // Bounded: a card whose worker is down fails this attempt, and the activity is retried later.
            await client.withDeadline(Date.now() + 30_000, () =>
              client.workflow.getHandle(cardWorkflowId(item.cardId)).executeUpdate(cardActionUpdate, {
                // A reissued notice says so on the card's timeline.
                args: [{ action: MAIL_ACTION[batch.kind], actor: { userId: by, role: 'office', channel: 'web' }, reason: item.reissueTaskId ? `再発行：${item.reissueNote ?? ''}`.slice(0, 500) : undefined }],
                updateId: `mail-${batchId}-${item.cardId}`,
              }),
            );
            await repo.markMailed(batchId, item.cardId, by);
            mailed++;
          } catch (e) {
            // The card moved meanwhile (held, removed, already mailed by hand): it is not mailed with this batch.
            if (e instanceof WorkflowUpdateFailedError && e.cause instanceof ApplicationFailure && e.cause.type === 'ILLEGAL_TRANSITION') {
              await repo.pullOut(batchId, item.cardId, 'system');
              skipped++;
            } else throw e;
          }
          Context.current().heartbeat({ done: mailed + skipped });
          await repo.setProgress(batchId, mailed + skipped, todo.length);
        }
      };
      await Promise.all(Array.from({ length: Math.min(8, todo.length) }, one));
      return { mailed, skipped };
    },
  };
}
