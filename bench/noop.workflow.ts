/**
 * The floor for the benchmark: a workflow that accepts Updates and does nothing with them, so that an
 * Update's round trip through Temporal can be measured without the card logic or the database.
 * Bundled on its own by a second worker in the benchmark (never part of workflows/index.ts).
 */
import { condition, defineUpdate, setHandler } from '@temporalio/workflow';

export const noopUpdate = defineUpdate<void>('noop');

/** Temporal accepts at most 2,000 distinct Updates per run: the benchmark sends 1,050 to one. */
export async function noopWorkflow(): Promise<void> {
  setHandler(noopUpdate, () => undefined);
  // Open forever: the benchmark's server is thrown away with its workflows.
  await condition(() => false);
}
