/**
 * The card worker's deadlock timeout, moved from every call into the workflow context to each
 * activation (src/worker/activation-deadline.ts): a workflow that never yields fails its task within
 * the deadline and the same worker goes on serving other workflows. Fails if an SDK upgrade changes
 * the internals the move reaches into (the worker would throw at creation), or if the deadline is
 * lost (the spinning workflow would hold the worker's thread, and this test, for ever).
 */
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { safeRandomUUID } from '../src/common/my-number.js';
import { activationDeadlineOf, oneDeadlinePerActivation } from '../src/worker/activation-deadline.js';
import { quietRuntime } from './support/test-system.js';
import { quickWorkflow, spinSignal, spinWorkflow } from './support/spin.workflow.js';

const DEADLINE_MS = 400;

describe('the deadlock timeout, once per activation', () => {
  let workerConnection: NativeConnection;
  let clientConnection: Connection;
  let client: Client;
  let worker: Worker;
  let running: Promise<void>;
  const taskQueue = `deadline-${safeRandomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    quietRuntime();
    workerConnection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS! });
    clientConnection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
    client = new Client({ connection: clientConnection });
    worker = await Worker.create({
      connection: workerConnection,
      taskQueue,
      workflowsPath: fileURLToPath(new URL('./support/spin.workflow.ts', import.meta.url)),
      // As the card worker runs: workflows on the main thread, the timeout given explicitly.
      debugMode: true,
      ...({ isolateExecutionTimeout: `${DEADLINE_MS}ms` } as object),
    });
    oneDeadlinePerActivation(worker, DEADLINE_MS);
    running = worker.run();
  }, 60_000);

  afterAll(async () => {
    worker?.shutdown();
    await running;
    await workerConnection?.close();
    await clientConnection?.close();
  });

  it('fails the task of a workflow that never yields, and the worker serves the next workflow', async () => {
    expect(activationDeadlineOf(worker)).toBe(DEADLINE_MS);
    // The SDK's own per-call timeout is off (its watchdog thread per call was the cost).
    expect((worker as unknown as { workflowCreator: { isolateExecutionTimeoutMs?: number } }).workflowCreator.isolateExecutionTimeoutMs).toBeUndefined();

    const spin = await client.workflow.start(spinWorkflow, { taskQueue, workflowId: `spin-${safeRandomUUID()}` });
    // Not yet spinning: its first activation completes within the deadline.
    expect(await client.workflow.execute(quickWorkflow, { taskQueue, workflowId: `quick-${safeRandomUUID()}`, args: [1] })).toBe(2);
    await spin.signal(spinSignal);

    // The activation that spins fails its workflow task with the timeout.
    let failure: string | undefined;
    for (const until = Date.now() + 20_000; !failure && Date.now() < until; ) {
      const history = await spin.fetchHistory();
      failure = history.events?.find((e) => e.workflowTaskFailedEventAttributes)?.workflowTaskFailedEventAttributes?.failure?.message ?? undefined;
      if (!failure) await new Promise((r) => setTimeout(r, 200));
    }
    expect(failure).toMatch(new RegExp(`timed out after ${DEADLINE_MS}ms`));

    // The same worker goes on: another workflow runs to its end meanwhile.
    const t = Date.now();
    expect(await client.workflow.execute(quickWorkflow, { taskQueue, workflowId: `quick-${safeRandomUUID()}`, args: [41] })).toBe(42);
    expect(Date.now() - t).toBeLessThan(15_000);
    await spin.terminate('test over');
  }, 60_000);
});
