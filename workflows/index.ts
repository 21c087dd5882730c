export { cardWorkflow } from './card.workflow.js';
export { mailBatchWorkflow } from './mail-batch.workflow.js';
