/**
 * A live card's Temporal history, every run of it (a card that continued as new has several), saved
 * as JSON for the replay test (`test/histories/`). Used by the CLI (`card capture`) and by the test
 * that records the realistic histories.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { temporal } from '@temporalio/proto';
import { z } from 'zod';
import { cardWorkflowId } from '../../workflows/card-messages.js';

/** A history's name: the file name in test/histories without `.json`. */
export const historyNameSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,79}$/, 'lower-case letters, digits and hyphens, at most 80');

/** Every run of the card's workflow, first to last. */
export async function cardRuns(client: Client, cardId: string): Promise<temporal.api.history.v1.IHistory[]> {
  const workflowId = cardWorkflowId(cardId);
  const latest = await client.workflow.getHandle(workflowId).describe();
  let runId: string | undefined = latest.raw.workflowExecutionInfo?.firstRunId || latest.runId;
  const runs: temporal.api.history.v1.IHistory[] = [];
  while (runId) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    runs.push(history);
    const last = history.events?.at(-1);
    runId = last?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
    if (runs.length > 1000) throw new Error(`card ${cardId}: more than 1,000 runs`);
  }
  return runs;
}

/**
 * Writes the card's runs to `dir`: `NAME.json` for a card with one run, else `NAME-run1.json`,
 * `NAME-run2.json`… Returns the files written with their sizes (bytes, events).
 */
export async function captureCardHistory(client: Client, cardId: string, name: string, dir: string): Promise<{ file: string; bytes: number; events: number }[]> {
  historyNameSchema.parse(name);
  const runs = await cardRuns(client, cardId);
  mkdirSync(dir, { recursive: true });
  return runs.map((history, i) => {
    const file = join(dir, runs.length === 1 ? `${name}.json` : `${name}-run${i + 1}.json`);
    const json = historyToJSON(history);
    writeFileSync(file, json);
    return { file, bytes: Buffer.byteLength(json), events: history.events?.length ?? 0 };
  });
}
