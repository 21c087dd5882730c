/**
 * What a new card workflow costs the worker (issue 8, item 5): in the SDK's reusable V8 context every
 * workflow evaluates the bundle's modules again, except the preloaded ones. zod is preloaded,
 * evaluated once per worker: about 5 ms of CPU per new card workflow otherwise. The bundle is the one every test file's worker runs (test/global-setup.mjs).
 * Reads the SDK's own creator of workflow contexts (1.24), as the worker does.
 */
import { readFileSync } from 'node:fs';
import { ReusableVMWorkflowCreator } from '@temporalio/worker/lib/workflow/reusable-vm.js';
import { parseWorkflowCode } from '@temporalio/worker/lib/worker.js';

async function newWorkflows(count: number): Promise<string[][]> {
  const path = process.env.TEST_WORKFLOW_BUNDLE!;
  const creator = await ReusableVMWorkflowCreator.create(parseWorkflowCode(readFileSync(path, 'utf8'), path), 10_000, new Set(['projectCard']));
  try {
    const perWorkflow: string[][] = [];
    for (let i = 0; i < count; i++) {
      const info = {
        workflowType: 'cardWorkflow',
        workflowId: `card-bundle-${i}`,
        runId: `run-${i}`,
        firstExecutionRunId: `run-${i}`,
        namespace: 'default',
        taskQueue: 'bundle-test',
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
      const wf = await creator.createWorkflow({ info: info as never, randomnessSeed: [1, 2], now: Date.now(), showStackTraceSources: false });
      // The modules this workflow evaluated for itself (the shared, preloaded ones are not in it).
      perWorkflow.push([...(wf as unknown as { activator: { moduleCache: Map<string, unknown> } }).activator.moduleCache.keys()]);
      await wf.dispose();
    }
    return perWorkflow;
  } finally {
    await creator.destroy();
  }
}

describe('the card workflow bundle', () => {
  it('evaluates zod once per worker, not again for each new card workflow', async () => {
    const perWorkflow = await newWorkflows(3);
    for (const modules of perWorkflow) {
      // The workflow's own module is evaluated per workflow (module state is per workflow)...
      expect(modules.some((m) => /card\.workflow\.[jt]s$/.test(m))).toBe(true);
      // ...but not zod's, shared by every workflow of the worker.
      expect(modules.filter((m) => /node_modules\/zod\//.test(m))).toEqual([]);
    }
  });
});
