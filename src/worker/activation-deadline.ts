/**
 * The workflow deadlock timeout, kept, at one watchdog per workflow activation instead of one per
 * call into the workflow context.
 *
 * The SDK gives every call from the worker into the workflow's V8 context (`vm` `runInContext`) the
 * deadlock timeout as its own `timeout` option, and Node.js starts and joins a watchdog thread (with
 * its own event loop) for each such call: about 140 µs of CPU each on this machine against 2 µs
 * without a timeout. An activation makes four to six such calls, so a booking (three activations)
 * spent about 2 ms of worker CPU on watchdog threads alone (README, Benchmark).
 *
 * Here the calls go without a timeout, and each activation as a whole runs inside one call with
 * the timeout: Node.js supports nested timeouts (a termination by the outer watchdog passes through
 * the inner calls), and everything the SDK does into the context during an activation happens
 * before its first `await`. A workflow that runs longer than the deadline without yielding fails its
 * task, as with the SDK's own timeout (Temporal retries the task; the rest of the worker goes on).
 * Reaches into the SDK's internals (no option exists): `test/activation-deadline.test.ts` fails if
 * an upgrade changes them.
 */
import vm from 'node:vm';
import type { Worker } from '@temporalio/worker';

interface VmWorkflow {
  activate(activation: unknown): Promise<unknown>;
  activator: { info: { runId: string }; errorToFailure(e: unknown): unknown };
}
interface WorkflowCreator {
  isolateExecutionTimeoutMs?: number;
  createWorkflow(options: unknown): Promise<VmWorkflow>;
}

const guard = vm.createContext({ run: undefined as (() => unknown) | undefined });
const callRun = new vm.Script('run()', { filename: 'activation-deadline.vm' });

/** Runs fn (synchronously) under a timeout of its own; throws ERR_SCRIPT_EXECUTION_TIMEOUT past it. */
function withinDeadline<T>(fn: () => T, timeoutMs: number): T {
  guard.run = fn;
  try {
    return callRun.runInContext(guard, { timeout: timeoutMs }) as T;
  } finally {
    guard.run = undefined;
  }
}

const deadlines = new WeakMap<Worker, number>();
/** The activation deadline a worker was given here (tests). */
export const activationDeadlineOf = (worker: Worker): number | undefined => deadlines.get(worker);

/**
 * Moves the worker's deadlock timeout from every call into the workflow context to each activation.
 * Call right after `Worker.create` (a worker running workflows on its main thread, `debugMode`),
 * before it runs: workflows created before keep the SDK's timeouts.
 */
export function oneDeadlinePerActivation(worker: Worker, timeoutMs: number): void {
  const creator = (worker as unknown as { workflowCreator?: WorkflowCreator }).workflowCreator;
  if (!creator || typeof creator.createWorkflow !== 'function' || typeof creator.isolateExecutionTimeoutMs !== 'number') {
    throw new Error('the Temporal SDK has changed its workflow creator: the activation deadline cannot be moved (see src/worker/activation-deadline.ts)');
  }
  creator.isolateExecutionTimeoutMs = undefined;
  const create = creator.createWorkflow.bind(creator);
  creator.createWorkflow = async (options: unknown) => {
    const workflow = await create(options);
    if (typeof workflow.activate !== 'function' || typeof workflow.activator?.errorToFailure !== 'function') {
      throw new Error('the Temporal SDK has changed its workflow object: the activation deadline cannot be applied');
    }
    const activate = workflow.activate.bind(workflow);
    workflow.activate = (activation: unknown) => {
      try {
        return withinDeadline(() => activate(activation), timeoutMs);
      } catch (e) {
        if ((e as { code?: unknown }).code !== 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw e;
        // As the SDK answers an activation its own timeout ended: the task fails with the error.
        return Promise.resolve({ runId: workflow.activator.info.runId, failed: { failure: workflow.activator.errorToFailure(e) } });
      }
    };
    return workflow;
  };
  deadlines.set(worker, timeoutMs);
}
