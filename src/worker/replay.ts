/** Replays saved card histories against the current workflow code: a change that would break running cards fails here. */
import type { temporal } from '@temporalio/proto';
import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { preloadedWorkflowModules, withoutWorkflowStackTraces, workflowsPath } from './card-worker.js';

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** The workflow code, bundled once per process. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  // Replays run on this thread (the SDK's replay worker), as the card worker runs workflows.
  withoutWorkflowStackTraces();
  bundle ??= bundleWorkflowCode({
    workflowsPath: workflowsPath(),
    preloadModules: preloadedWorkflowModules(),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
  });
  return bundle;
}

export async function replayHistory(workflowId: string, history: temporal.api.history.v1.IHistory): Promise<{ replayed: boolean; error?: string }> {
  try {
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle(), replayName: workflowId }, history, workflowId);
    return { replayed: true };
  } catch (e) {
    const kind = e instanceof DeterminismViolationError ? 'non-determinism' : 'failure';
    return { replayed: false, error: `${kind}: ${(e as Error).message}` };
  }
}
