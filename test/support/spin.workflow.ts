/**
 * Workflows for test/activation-deadline.test.ts (bundled by that test's own worker, never part of
 * workflows/index.ts): one that never yields once told to, and one that answers at once.
 */
import { condition, defineSignal, setHandler } from '@temporalio/workflow';

export const spinSignal = defineSignal('spin');

/** Waits for the signal, then runs for ever without yielding: a deadlock. */
export async function spinWorkflow(): Promise<void> {
  let spin = false;
  setHandler(spinSignal, () => {
    spin = true;
  });
  await condition(() => spin);
  for (let i = 0; ; i = (i + 1) % 1_000_000) {
    if (i < 0) return;
  }
}

export async function quickWorkflow(x: number): Promise<number> {
  return x + 1;
}
