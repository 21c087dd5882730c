/**
 * `node dist/bench/replay-cpu.js` (after `npm run build`; about a minute, no stack): the CPU of
 * replaying every saved card history (`test/histories/`, M times each, M=10 by default) with the
 * SDK's per-promise stack-trace capture as the SDK installs it, then without it
 * (`withoutWorkflowStackTraces`, as the card worker and the replay run), side by side in one run.
 * Replays run on this thread (the SDK's replay worker), as the card worker runs its workflows.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import { globalHandlers } from '@temporalio/worker/lib/workflow/vm-shared.js';
import { preloadedWorkflowModules, withoutWorkflowStackTraces, workflowsPath } from '../src/worker/card-worker.js';

const M = Math.max(1, Number(process.env.M ?? 10));
const dir = 'test/histories';
const histories = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({ id: f, history: historyFromJSON(JSON.parse(readFileSync(`${dir}/${f}`, 'utf8'))) }));
const silent = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
const workflowBundle = await bundleWorkflowCode({ workflowsPath: workflowsPath(), preloadModules: preloadedWorkflowModules(), logger: silent });

async function* all(tag: string) {
  for (let m = 0; m < M; m++) for (const { id, history } of histories) yield { workflowId: `${tag}-${id}-${m}`, history };
}
async function replayAll(tag: string): Promise<void> {
  const c0 = process.cpuUsage();
  let n = 0;
  for await (const r of Worker.runReplayHistories({ workflowBundle, replayName: tag }, all(tag))) {
    n++;
    if (r.error) throw r.error;
  }
  const c = process.cpuUsage(c0);
  console.log(`${tag.padEnd(34)} ${((c.user + c.system) / 1000 / n).toFixed(2)} ms CPU per replay (${n}; promise hook ${globalHandlers.promiseHookInstalled ? 'on' : 'off'})`);
}

await replayAll('warm-up');
await replayAll('with stack traces (SDK default)');
withoutWorkflowStackTraces();
await replayAll('without stack traces (card worker)');
