/**
 * Saved card histories (test/histories/) replay against the current workflow code: a change that
 * would break running cards fails here. Record new ones with
 * `RECORD_HISTORIES=1 npm test -- test/card-workflow.test.ts` when the workflow gains a new path
 * (it overwrites the plain files: keep the older ones, which running cards still hold, under their names).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { quietRuntime } from './support/test-system.js';

const dir = fileURLToPath(new URL('./histories/', import.meta.url));
const histories = () =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => ({ workflowId: f.replace(/\.json$/, ''), history: historyFromJSON(JSON.parse(readFileSync(dir + f, 'utf8'))) }));

async function replayAll(workflowBundle: { codePath: string } | { code: string }) {
  const results: { workflowId: string; error?: unknown }[] = [];
  for await (const r of Worker.runReplayHistories({ workflowBundle }, histories())) results.push(r);
  return results;
}

describe('replay of saved card histories', () => {
  beforeAll(() => quietRuntime());

  it('has histories covering the main paths', () => {
    // The plain ones were recorded before the 'bounded-projection' patch, the others after it.
    const paths = ['expiry', 'no-show', 'timer-chain-discard', 'worker-restart'];
    expect(histories().map((h) => h.workflowId).sort()).toEqual(expect.arrayContaining([...paths, ...paths.map((p) => `${p}-bounded-projection`)]));
  });

  it('replays every saved history against the current workflow code', async () => {
    const results = await replayAll({ codePath: process.env.TEST_WORKFLOW_BUNDLE! });
    expect(results.length).toBeGreaterThanOrEqual(8);
    for (const r of results) expect({ id: r.workflowId, error: r.error }).toEqual({ id: r.workflowId, error: undefined });
  });

  it('catches a change that would break running cards', async () => {
    const changed = await bundleWorkflowCode({
      workflowsPath: fileURLToPath(new URL('./fixtures/changed-card.workflow.ts', import.meta.url)),
      logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
    });
    const results = await replayAll({ code: changed.code });
    expect(results.length).toBeGreaterThanOrEqual(8);
    // A non-determinism error specifically: any other failure (a bundle that does not load, an SDK
    // error) would not show that the saved histories guard running cards.
    for (const r of results) {
      expect(r.error).toBeInstanceOf(DeterminismViolationError);
      expect((r.error as Error).message).toMatch(/nondeterminism/);
    }
  });
});
