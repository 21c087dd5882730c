/**
 * An action on a card whose worker is down answers within a bounded time (503, the JSON error
 * shape) instead of holding the request for ever; the same request sent again once the worker is
 * back gets the card's answer and applies once.
 */
import { TestSystem, aCard, eventually } from './support/test-system.js';

describe('an action waits a bounded time for its card', () => {
  let sys: TestSystem;
  let office: string;

  beforeAll(async () => {
    process.env.ACTION_TIMEOUT_MS = '2000';
    sys = await TestSystem.start();
    office = await sys.token('office');
  });
  afterAll(async () => {
    delete process.env.ACTION_TIMEOUT_MS;
    await sys.stop();
  });

  it('answers 503 when the worker is down, and the retry with the same key applies once', async () => {
    const card = aCard();
    expect((await sys.http('POST', '/api/cards', { token: office, body: card })).status).toBe(200);
    await eventually(() => sys.sql(`select 1 from card where card_id = ?`, [card.cardId]).then((r) => r.length > 0), 20_000, 'the card row');

    await sys.cardWorker!.stop();
    const key = `deadline-${card.cardId}`;
    const started = Date.now();
    const stalled = await sys.http('POST', `/api/cards/${card.cardId}/actions/inspect`, { token: office, body: {}, headers: { 'idempotency-key': key } });
    const waited = Date.now() - started;
    expect([stalled.status, stalled.json.error.code]).toEqual([503, 'WORKFLOW_UNAVAILABLE']);
    expect(stalled.json.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(waited).toBeLessThan(15_000);

    await sys.startWorker();
    const retried = await eventually(async () => {
      const r = await sys.http('POST', `/api/cards/${card.cardId}/actions/inspect`, { token: office, body: {}, headers: { 'idempotency-key': key } });
      return r.status === 200 ? r : undefined;
    }, 30_000, 'the retried action');
    expect(retried.json.card.state).toBe('inspected');
    const events = await sys.sql<{ n: number }>(`select count(*)::int n from card_event where card_id = ? and type = 'inspect'`, [card.cardId]);
    expect(events[0].n).toBe(1);
  });
});
