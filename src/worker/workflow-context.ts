/**
 * Card workflows created one after another in the SDK's reusable V8 context (1.24), as the worker
 * creates them, without a server: what `test/workflow-bundle.test.ts` checks (modules evaluated per
 * workflow) and `bench/new-workflow-cpu.ts` measures (CPU per new workflow). Reads the SDK's own
 * creator of workflow contexts, as the worker does.
 */
import { ReusableVMWorkflowCreator } from '@temporalio/worker/lib/workflow/reusable-vm.js';
import { parseWorkflowCode } from '@temporalio/worker/lib/worker.js';

export interface ReusableContext {
  /** Creates the workflow `workflowId` of `workflowType` (not yet activated); dispose it when done. */
  create(workflowType: string, workflowId: string): ReturnType<ReusableVMWorkflowCreator['createWorkflow']>;
  destroy(): Promise<void>;
}

export async function openReusableContext(code: string, filename?: string): Promise<ReusableContext> {
  const creator = await ReusableVMWorkflowCreator.create(parseWorkflowCode(code, filename), 10_000, new Set(['projectCard']));
  return {
    create(workflowType, workflowId) {
      const runId = `run-${workflowId}`;
      const info = {
        workflowType,
        workflowId,
        runId,
        firstExecutionRunId: runId,
        namespace: 'default',
        taskQueue: 'reusable-context',
        attempt: 1,
        historyLength: 1,
        historySize: 0,
        continueAsNewSuggested: false,
        startTime: new Date(),
        runStartTime: new Date(),
        searchAttributes: {},
        typedSearchAttributes: [],
        memo: {},
        unsafe: { isReplaying: false, now: () => Date.now() },
        priority: {},
      };
      return creator.createWorkflow({ info: info as never, randomnessSeed: [1, 2], now: Date.now(), showStackTraceSources: false });
    },
    destroy: () => creator.destroy(),
  };
}
