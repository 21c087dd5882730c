/**
 * Until when a registration or an import is done: a card is readable as soon as the statement that
 * registers it is done, before its workflow has run, so the benchmarks time it until every card's
 * workflow has also completed its first task (its history holds the task's completion: 4 events or
 * more).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { cardWorkflowId } from '../workflows/card-messages.js';

/**
 * Waits until the workflow of every one of `cardIds` (in start order) has completed its first task;
 * returns the time the last of them was seen so. First tasks are taken roughly in start order, so
 * the last card is watched until it is live (that instant is the end), then every other card is
 * looked at once, untimed (16 at a time); one not yet live moves the end to when it is.
 */
export async function waitForFirstTasks(client: Client, cardIds: readonly string[], timeoutMs: number, say: (m: string) => void): Promise<number> {
  const until = Date.now() + timeoutMs;
  const live = async (cardId: string) => {
    try {
      return (await client.workflow.getHandle(cardWorkflowId(cardId)).describe()).historyLength >= 4;
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) return false;
      throw e;
    }
  };
  const watch = async (cardId: string) => {
    while (!(await live(cardId))) {
      if (Date.now() > until) throw new Error(`${cardId} had not taken its first task in ${timeoutMs} ms`);
      await sleep(20);
    }
    return performance.now();
  };
  let end = await watch(cardIds[cardIds.length - 1]);
  const late: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < cardIds.length - 1) {
        const id = cardIds[next++];
        if (!(await live(id))) late.push(id);
      }
    }),
  );
  for (const id of late) end = Math.max(end, await watch(id));
  if (late.length > 0) say(`  ${late.length} of ${cardIds.length} first tasks were still to run when the last card's had run`);
  return end;
}
