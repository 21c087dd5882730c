/**
 * `node dist/bench/new-workflow-cpu.js` (after `npm run build`): the worker's CPU per new card
 * workflow, measured where it is spent, in the SDK's reusable V8 context (the one a worker uses):
 * the card workflow bundle as the worker builds it (zod preloaded) and bundled without
 * `preloadModules`, side by side, against the benchmarks' no-op workflow. Each creates and disposes
 * N workflows (N=500 by default) after a warm-up and prints CPU ms per workflow. No stack needed.
 */
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';
import { preloadedWorkflowModules, workflowsPath } from '../src/worker/card-worker.js';
import { openReusableContext } from '../src/worker/workflow-context.js';

const N = Math.max(50, Number(process.env.N ?? 500));
const silent = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

async function cpuPerWorkflow(name: string, workflowType: string, bundle: { code: string }): Promise<void> {
  const context = await openReusableContext(bundle.code);
  const once = async (i: number) => (await context.create(workflowType, `w-${i}`)).dispose();
  for (let i = 0; i < 30; i++) await once(-1 - i);
  const c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) await once(i);
  const c = process.cpuUsage(c0);
  await context.destroy();
  console.log(`${name.padEnd(48)} ${((c.user + c.system) / 1000 / N).toFixed(2)} ms CPU per new workflow (${N})`);
}

const entry = workflowsPath();
const noop = fileURLToPath(new URL('./noop.workflow.js', import.meta.url));
const [preloaded, plain, noopBundle] = await Promise.all([
  bundleWorkflowCode({ workflowsPath: entry, preloadModules: preloadedWorkflowModules(), logger: silent }),
  bundleWorkflowCode({ workflowsPath: entry, logger: silent }),
  bundleWorkflowCode({ workflowsPath: noop, logger: silent }),
]);
await cpuPerWorkflow('card workflow, zod preloaded (as the worker runs)', 'cardWorkflow', preloaded);
await cpuPerWorkflow('card workflow, no preloadModules', 'cardWorkflow', plain);
await cpuPerWorkflow('no-op workflow (bench/noop.workflow.ts)', 'noopWorkflow', noopBundle);
