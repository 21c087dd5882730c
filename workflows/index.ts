export { cardWorkflow } from './card.workflow.js';
