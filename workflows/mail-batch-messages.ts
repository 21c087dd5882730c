/** The mail batch workflow's messages, defined once for the workflow and its clients. */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

export const PRINT_TASK_QUEUE = 'print';
export const mailBatchWorkflowId = (batchId: string) => `mail-batch-${batchId}`;

export type BatchStep = 'rendering' | 'printed' | 'failed' | 'checked' | 'handing_over' | 'handed_over' | 'cancelled';

export const batchCheckedUpdate = defineUpdate<BatchStep, [{ by: string }]>('batchChecked');
export const batchHandOverUpdate = defineUpdate<BatchStep, [{ by: string }]>('batchHandOver');
export const batchReprintUpdate = defineUpdate<BatchStep, [{ by: string }]>('batchReprint');
export const batchCancelSignal = defineSignal<[{ by: string }]>('batchCancel');
export const batchStepQuery = defineQuery<BatchStep>('batchStep');
