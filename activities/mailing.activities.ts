/** The mail batch workflow's activities, as types the workflow imports (`import type`) and the workers implement. */
import type { BatchStep } from '../workflows/mail-batch-messages.js';

export interface RenderBatchResult {
  ok: boolean;
  /** Pages whose text did not match their card, and Type 3 fonts found: either stops the batch. */
  mismatches: number;
  type3Fonts: number;
  handwriting: number;
}

/** On the `print` task queue (the print worker, with Chromium). */
export interface PrintActivities {
  /** Renders every document of the batch, checks them, records them; resumes from finished chunks. */
  renderBatch(input: { batchId: string }): Promise<RenderBatchResult>;
}

/** On the cards task queue. */
export interface MailingActivities {
  /** Records the step the workflow has taken (the page reads it). */
  setBatchStep(input: { batchId: string; step: BatchStep; by?: string; error?: string }): Promise<void>;
  /** Sends every item still in the batch its card's mailing Update (idempotent per card); returns how many were mailed. */
  handOverBatch(input: { batchId: string; by: string }): Promise<{ mailed: number; skipped: number }>;
}
