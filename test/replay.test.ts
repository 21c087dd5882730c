/**
 * Saved card histories (test/histories/) replay against the current workflow code: a change that
 * would break running cards fails here. Every `.json` file in the folder is replayed. Record the
 * realistic set again with `npm run record:histories` (test/recorded-histories.test.ts, the
 * `prod-*` files) when the workflow gains a new path, and keep the older files, which running cards
 * still hold, under new names; `npm run cli -- card capture CARD_ID --name NAME` saves a live card's.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { patchesIn } from '../src/worker/patches.js';
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
    // The plain ones were recorded before the 'bounded-projection' patch, the others after it; the
    // prod-* ones on the production policy (scaled), after 'carry-applied-requests'.
    const paths = ['expiry', 'no-show', 'timer-chain-discard', 'worker-restart'];
    const prod = ['prod-pickup-discard', 'prod-pickup-rejections-run1', 'prod-pickup-rejections-run2', 'prod-expiry-discard', 'prod-removed', 'prod-counter', 'prod-express', 'prod-pickup-months-pending', 'prod-two-actions-one-task'];
    // Mail batches (recorded by test/mailing.test.ts): printed, checked, handed over; and a render resumed after a stopped print worker.
    prod.push('mail-batch-notice', 'mail-batch-resumed');
    expect(histories().map((h) => h.workflowId).sort()).toEqual(expect.arrayContaining([...paths, ...paths.map((p) => `${p}-bounded-projection`), ...prod]));
  });

  it('reads which patches a history holds (what `npm run cli -- patch status` counts)', () => {
    const byName = new Map(histories().map((h) => [h.workflowId, h.history]));
    expect([...patchesIn(byName.get('expiry')!)]).toEqual([]);
    expect([...patchesIn(byName.get('expiry-bounded-projection')!)]).toEqual(['bounded-projection']);
    expect([...patchesIn(byName.get('prod-pickup-rejections-run1')!)].sort()).toEqual(['bounded-projection', 'carry-applied-requests']);
    expect([...patchesIn(byName.get('prod-two-actions-one-task')!)].sort()).toEqual(['bounded-projection', 'serial-changes']);
  });

  it('replays every saved history against the current workflow code', async () => {
    const results = await replayAll({ codePath: process.env.TEST_WORKFLOW_BUNDLE! });
    expect(results.length).toBeGreaterThanOrEqual(17);
    for (const r of results) expect({ id: r.workflowId, error: r.error }).toEqual({ id: r.workflowId, error: undefined });
  });

  it('catches a change that would break running cards', async () => {
    const changed = await bundleWorkflowCode({
      workflowsPath: fileURLToPath(new URL('./fixtures/changed-card.workflow.ts', import.meta.url)),
      logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
    });
    // The fixture changes the card workflow only: its bundle holds no mail batch workflow.
    const results = (await replayAll({ code: changed.code })).filter((r) => !r.workflowId.startsWith('mail-batch'));
    expect(results.length).toBeGreaterThanOrEqual(17);
    // A non-determinism error specifically: any other failure (a bundle that does not load, an SDK
    // error) would not show that the saved histories guard running cards.
    for (const r of results) {
      expect(r.error).toBeInstanceOf(DeterminismViolationError);
      expect((r.error as Error).message).toMatch(/nondeterminism/);
    }
  });

  /** The card workflow bundled with `workflows/card-timers.ts` replaced by a fixture. */
  const withTimerRules = async (fixture: string) =>
    bundleWorkflowCode({
      workflowsPath: fileURLToPath(new URL('../workflows/index.ts', import.meta.url)),
      logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
      webpackConfigHook: (config) => ({
        ...config,
        plugins: [
          ...(config.plugins ?? []),
          {
            apply(compiler: { hooks: { normalModuleFactory: { tap(n: string, f: (nmf: any) => void): void } } }) {
              compiler.hooks.normalModuleFactory.tap('timer-rules-fixture', (nmf) =>
                nmf.hooks.beforeResolve.tap('timer-rules-fixture', (data: { request: string; context: string }) => {
                  if (data.request === './card-timers.js' && /[/\\]workflows$/.test(data.context)) {
                    data.request = fileURLToPath(new URL(`./fixtures/${fixture}`, import.meta.url));
                  }
                }),
              );
            },
          },
        ],
      }),
    });
  // Histories in which the re-notice proposal opened when its timer fired (in worker-restart the
  // worker came back after twice the period, so the changed rule is due then too).
  const renoticed = ['timer-chain-discard', 'timer-chain-discard-bounded-projection', 'no-show', 'no-show-bounded-projection', 'prod-pickup-discard', 'prod-pickup-rejections-run1'];

  it('fails replay for a change to the timer rules made without patched()', async () => {
    const results = await replayAll({ code: (await withTimerRules('changed-timer-rules.ts')).code });
    const failed = results.filter((r) => r.error);
    expect(failed.map((r) => r.workflowId)).toEqual(expect.arrayContaining(renoticed));
    for (const r of failed) expect({ id: r.workflowId, error: r.error }).toEqual({ id: r.workflowId, error: expect.any(DeterminismViolationError) });
  });

  it('replays every history when the same change to the timer rules is behind patched()', async () => {
    const results = await replayAll({ code: (await withTimerRules('patched-timer-rules.ts')).code });
    expect(results.length).toBeGreaterThanOrEqual(17);
    for (const r of results) expect({ id: r.workflowId, error: r.error }).toEqual({ id: r.workflowId, error: undefined });
  });
});
