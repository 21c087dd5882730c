/**
 * A mail batch (issue 10): print, wait for the office to check the printed matter, then hand it to
 * the ward, which mails it: each card gets one `mail_notice` (or `mail_renotice`) Update with the
 * id `mail-<batch>-<card>`, so a hand-over interrupted at any point and run again never mails a card
 * twice. Printing runs on the `print` task queue (its own worker process, Chromium), everything
 * else on the cards queue. The batch's state lives in PostgreSQL (`mail_batch`); this workflow only
 * orders the steps and refuses a step out of turn.
 */
import { ApplicationFailure, condition, proxyActivities, setHandler } from '@temporalio/workflow';
import type { MailingActivities, PrintActivities } from '../activities/mailing.activities.js';

import {
  type BatchStep,
  PRINT_TASK_QUEUE,
  batchCancelSignal,
  batchCheckedUpdate,
  batchHandOverUpdate,
  batchReprintUpdate,
  batchStepQuery,
} from './mail-batch-messages.js';


const cards = proxyActivities<MailingActivities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '60 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

export async function mailBatchWorkflow(input: { batchId: string; printTaskQueue?: string }): Promise<BatchStep> {
  const print = proxyActivities<PrintActivities>({
    taskQueue: input.printTaskQueue ?? PRINT_TASK_QUEUE,
    // The render heartbeats after every chunk; a dead print worker is noticed within a minute and the
    // activity runs again elsewhere, resuming from the chunks already written.
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: '60 seconds',
    retry: { initialInterval: '2 seconds', maximumInterval: '1 minute', maximumAttempts: 20 },
  });
  let step: BatchStep = 'rendering';
  /** The step the database holds: an Update answers once its step is recorded, so the page shows it. */
  let recorded: BatchStep | undefined;
  const record = async (at: BatchStep, by?: string, error?: string) => {
    await cards.setBatchStep({ batchId: input.batchId, step: at, by, error });
    recorded = at;
  };
  let checkedBy: string | undefined;
  let handOverBy: string | undefined;
  let reprintBy: string | undefined;
  let cancelledBy: string | undefined;
  const refuse = (what: string, allowed: BatchStep[]) => {
    if (!allowed.includes(step)) throw ApplicationFailure.create({ type: 'BATCH_STEP_REFUSED', message: `cannot ${what} a batch that is ${step}`, nonRetryable: true });
  };

  setHandler(batchStepQuery, () => step);
  setHandler(
    batchCheckedUpdate,
    async ({ by }) => {
      checkedBy = by;
      await condition(() => recorded !== 'printed' && recorded === step);
      return step;
    },
    { validator: (_req: { by: string }) => refuse('check', ['printed']) },
  );
  setHandler(
    batchHandOverUpdate,
    async ({ by }) => {
      handOverBy = by;
      await condition(() => recorded === 'handed_over' || recorded === 'cancelled');
      return step;
    },
    { validator: (_req: { by: string }) => refuse('hand over', ['checked']) },
  );
  setHandler(
    batchReprintUpdate,
    async ({ by }) => {
      reprintBy = by;
      await condition(() => recorded === 'rendering');
      return step;
    },
    { validator: (_req: { by: string }) => refuse('print again', ['failed', 'printed']) },
  );
  setHandler(batchCancelSignal, ({ by }) => {
    if (['rendering', 'printed', 'failed', 'checked'].includes(step)) cancelledBy = by;
  });

  for (;;) {
    step = 'rendering';
    await record(step);
    const printed = await print.renderBatch({ batchId: input.batchId });
    step = printed.ok ? 'printed' : 'failed';
    reprintBy = undefined;
    await record(step, undefined, printed.ok ? undefined : `${printed.mismatches} pages do not match their cards, ${printed.type3Fonts} Type 3 fonts: print again`);
    await condition(() => cancelledBy !== undefined || reprintBy !== undefined || (step === 'printed' && checkedBy !== undefined));
    if (cancelledBy !== undefined) break;
    if (reprintBy !== undefined) continue;
    step = 'checked';
    await record(step, checkedBy);
    await condition(() => cancelledBy !== undefined || handOverBy !== undefined);
    if (cancelledBy !== undefined) break;
    step = 'handing_over';
    await record(step, handOverBy);
    await cards.handOverBatch({ batchId: input.batchId, by: handOverBy! });
    step = 'handed_over';
    await record(step, handOverBy);
    return step;
  }
  step = 'cancelled';
  await record(step, cancelledBy);
  return step;
}
