/**
 * The card worker runs workflows without the SDK's per-promise stack-trace capture (a V8 promise hook
 * that the SDK 1.24 installs unconditionally; about a quarter of the worker's CPU per registered
 * card): on its main thread, with the deadlock timeout kept at the SDK's default (once per activation). Fails if an SDK
 * upgrade changes the internals `withoutWorkflowStackTraces` reaches into, or if the worker goes
 * back to capturing them.
 */
import { globalHandlers } from '@temporalio/worker/lib/workflow/vm-shared.js';
import { safeRandomUUID } from '../src/common/my-number.js';
import { activationDeadlineOf } from '../src/worker/activation-deadline.js';
import { cardWorkflowId } from '../workflows/card-messages.js';
import { TestSystem, aCard } from './support/test-system.js';

describe('workflow stack traces on the card worker', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await TestSystem.start();
  });
  afterAll(async () => {
    await sys.stop();
  });

  it('runs card workflows on the main thread without a promise hook, and the card still works', async () => {
    const office = await sys.token('office');
    const cardId = `ST${safeRandomUUID().replace(/-/g, '').slice(0, 10).toUpperCase()}`;
    const res = await sys.http('POST', '/api/cards', { token: office, body: { cards: [aCard({ cardId })] } });
    expect(res.status).toBe(200);
    expect(res.json.results[0].status).toBe('created');

    // The SDK's stack-trace query is answered from the workflow: it says they are off.
    const handle = sys.client.workflow.getHandle(cardWorkflowId(cardId));
    await expect(handle.query('__stack_trace')).rejects.toThrow(/stack traces are not enabled/);
    // No promise hook in this process, and the worker's options as chosen.
    expect(globalHandlers.promiseHookInstalled).toBe(false);
    const options = sys.cardWorker!.worker.options as unknown as { debugMode: boolean; isolateExecutionTimeoutMs: number };
    expect([options.debugMode, options.isolateExecutionTimeoutMs, activationDeadlineOf(sys.cardWorker!.worker)]).toEqual([true, 5000, 5000]);

    // The card's own query and an action answer as before.
    expect((await handle.query<{ state: string }>('card')).state).toBe('received');
    const act = await sys.http('POST', `/api/cards/${cardId}/actions/pull_out`, { token: office, body: { reason: 'test' }, headers: { 'Idempotency-Key': safeRandomUUID() } });
    expect([act.status, act.json.card?.state]).toEqual([200, 'on_hold']);
  });
});
