/**
 * Whether a workflow patch may be deprecated (`deprecatePatch`): no running card may still take the
 * code path from before it. A running run "predates" a patch when its history holds no marker for
 * it, its input does not declare it (`patchesAtStart`), and it started before the patch was deployed (`since`); without `since`, every run without the
 * marker counts (right for patches checked at the start of a run, such as `bounded-projection`).
 * Reads every running card's history: an operator's command, run before a release, not a hot path.
 */
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';

export interface PatchStatus {
  patchId: string;
  /** Running card workflows looked at. */
  running: number;
  /** Of these, runs whose history holds the patch's marker. */
  marked: number;
  /** Runs that predate the patch: while there is one, the patch must stay. */
  predating: { workflowId: string; runId: string; startedAt: string }[];
}

/**
 * The patch ids a history's run takes: those whose markers it holds, and those its input declares
 * (`patchesAtStart`: a new card takes a patch checked at the start of a run without a marker).
 */
export function patchesIn(history: temporal.api.history.v1.IHistory): Set<string> {
  const ids = new Set<string>();
  const input = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  const declared = input ? defaultPayloadConverter.fromPayload<{ patchesAtStart?: unknown }>(input)?.patchesAtStart : undefined;
  if (Array.isArray(declared)) for (const id of declared) if (typeof id === 'string') ids.add(id);
  for (const e of history.events ?? []) {
    const m = e.markerRecordedEventAttributes;
    if (m?.markerName !== 'core_patch') continue;
    const payload = m.details?.['patch-data']?.payloads?.[0];
    const data = payload ? defaultPayloadConverter.fromPayload<{ id?: string }>(payload) : undefined;
    if (data?.id) ids.add(data.id);
  }
  return ids;
}

export async function patchStatus(client: Client, patchId: string, opts: { since?: Date; taskQueue?: string } = {}): Promise<PatchStatus> {
  const query = `WorkflowType = 'cardWorkflow' AND ExecutionStatus = 'Running'${opts.taskQueue ? ` AND TaskQueue = '${opts.taskQueue.replace(/'/g, '')}'` : ''}`;
  const status: PatchStatus = { patchId, running: 0, marked: 0, predating: [] };
  for await (const run of client.workflow.list({ query })) {
    status.running++;
    const history = await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
    if (patchesIn(history).has(patchId)) status.marked++;
    else if (!opts.since || run.startTime < opts.since) status.predating.push({ workflowId: run.workflowId, runId: run.runId, startedAt: run.startTime.toISOString() });
  }
  return status;
}
