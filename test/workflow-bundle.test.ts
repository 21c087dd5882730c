/**
 * What a new card workflow costs the worker (issue 8, item 5): in the SDK's reusable V8 context every
 * workflow evaluates the bundle's modules again, except the preloaded ones. zod is preloaded,
 * evaluated once per worker: about 5 ms of CPU per new card workflow otherwise. The bundle is the one every test file's worker runs (test/global-setup.mjs).
 */
import { readFileSync } from 'node:fs';
import { openReusableContext } from '../src/worker/workflow-context.js';

async function newWorkflows(count: number): Promise<string[][]> {
  const path = process.env.TEST_WORKFLOW_BUNDLE!;
  const context = await openReusableContext(readFileSync(path, 'utf8'), path);
  try {
    const perWorkflow: string[][] = [];
    for (let i = 0; i < count; i++) {
      const wf = await context.create('cardWorkflow', `card-bundle-${i}`);
      // The modules this workflow evaluated for itself (the shared, preloaded ones are not in it).
      perWorkflow.push([...(wf as unknown as { activator: { moduleCache: Map<string, unknown> } }).activator.moduleCache.keys()]);
      await wf.dispose();
    }
    return perWorkflow;
  } finally {
    await context.destroy();
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
