/**
 * The card workflow on the real Temporal dev server and PostgreSQL, with a policy of seconds:
 * timer chains, proposals and approvals, idempotency, policy changes and a worker restart.
 * RECORD_HISTORIES=1 saves the histories of these cards to test/histories/ for the replay test, but
 * never over a saved one (the plain names hold histories from before 'bounded-projection', which
 * running cards still have); the realistic set is `npm run record:histories`.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { cardQuery, cardWorkflowId, policyChangedSignal } from '../workflows/card-messages.js';
import type { CardPolicy } from '../workflows/card-timers.js';
import { patchStatus, patchesIn } from '../src/worker/patches.js';
import { replayHistory } from '../src/worker/replay.js';
import { TestSystem, aCard, eventually } from './support/test-system.js';

const POLICY: CardPolicy = {
  noticeSlaMs: 60_000,
  renoticeAfterMs: 1_500,
  discardAfterRenoticeMs: 1_500,
  noShowGraceMs: 500,
  closeAfterMs: 1_000,
};

describe('card workflow with short timers', () => {
  let sys: TestSystem;
  let ward: string, office: string, venue: string, callcenter: string;
  const recorded: Record<string, string> = {};

  beforeAll(async () => {
    sys = await TestSystem.start({ policy: POLICY });
    [ward, office, venue, callcenter] = await Promise.all([sys.token('ward'), sys.token('office'), sys.token('venue'), sys.token('callcenter')]);
  });
  afterAll(async () => {
    if (process.env.RECORD_HISTORIES === '1') {
      for (const [name, cardId] of Object.entries(recorded)) {
        const history = await sys.client.workflow.getHandle(cardWorkflowId(cardId)).fetchHistory();
        const file = new URL(`./histories/${name}.json`, import.meta.url);
        if (!existsSync(file)) writeFileSync(file, historyToJSON(history));
      }
    }
    await sys.stop();
  });

  const register = async (card = aCard()) => {
    const res = await sys.http('POST', '/api/cards', { token: office, body: card });
    expect(res.status).toBe(200);
    return card.cardId;
  };
  let keys = 0;
  const act = async (cardId: string, token: string, action: string, body: Record<string, unknown> = {}, key = `k${++keys}`) =>
    sys.http('POST', `/api/cards/${cardId}/actions/${action}`, { token, body, headers: { 'idempotency-key': key } });
  const ok = async (cardId: string, token: string, action: string, body: Record<string, unknown> = {}) => {
    const res = await act(cardId, token, action, body);
    if (res.status !== 200) throw new Error(`${action}: ${res.status} ${res.text}`);
    return res.json;
  };
  const toNoticeMailed = async (cardId: string) => {
    await ok(cardId, office, 'inspect');
    await ok(cardId, office, 'ship_to_venue');
    await ok(cardId, venue, 'receive_at_venue');
    await ok(cardId, office, 'mail_notice');
  };
  const row = async (cardId: string) => (await sys.sql(`select state, proposal_kinds, seq from card where card_id = ?`, [cardId]))[0];
  const events = async (cardId: string) => sys.sql<{ seq: number; type: string; actor_role: string }>(`select seq, type, actor_role from card_event where card_id = ? order by seq`, [cardId]);
  const waitForProposal = (cardId: string, kind: string) =>
    eventually(async () => ((await row(cardId))?.proposal_kinds.includes(kind) ? true : undefined), 20_000, `${kind} proposal on ${cardId}`);

  it('runs the whole chain: notice → re-notice proposal → approval → discard proposal → approval', async () => {
    const cardId = await register();
    recorded['timer-chain-discard'] = cardId;
    await toNoticeMailed(cardId);
    await waitForProposal(cardId, 'renotice');
    await ok(cardId, ward, 'approve_renotice');
    await ok(cardId, office, 'mail_renotice');
    await waitForProposal(cardId, 'discard');
    const done = await ok(cardId, ward, 'approve_discard', { reason: '再通知後も受取なし' });
    expect(done.card.state).toBe('discarded');

    const log = await events(cardId);
    expect(log.map((e) => e.type)).toEqual([
      'registered', 'inspect', 'ship_to_venue', 'receive_at_venue', 'mail_notice',
      'proposal_opened', 'approve_renotice', 'mail_renotice', 'proposal_opened', 'approve_discard',
    ]);
    expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i + 1));
    expect(log.filter((e) => e.type === 'proposal_opened').every((e) => e.actor_role === 'system')).toBe(true);
    // The workflow completes a moment after the card's story is over.
    const handle = sys.client.workflow.getHandle(cardWorkflowId(cardId));
    expect((await handle.result()).state).toBe('discarded');
  });

  it('never applies a retried request twice (same Idempotency-Key)', async () => {
    const cardId = await register();
    const first = await act(cardId, office, 'inspect', {}, 'same-key');
    const again = await act(cardId, office, 'inspect', {}, 'same-key');
    expect(first.status).toBe(200);
    expect(again.status).toBe(200);
    expect(again.json).toEqual(first.json);
    expect((await events(cardId)).map((e) => e.type)).toEqual(['registered', 'inspect']);
    // A new key for the same action is a new request, and the card has moved on.
    const other = await act(cardId, office, 'inspect', {}, 'other-key');
    expect(other.status).toBe(409);
    expect(other.json.error).toMatchObject({ code: 'ILLEGAL_TRANSITION', details: { state: 'inspected' } });
  });

  it('answers a retry that spans a continue-as-new with its first answer, applying it once', async () => {
    const cardId = await register();
    await toNoticeMailed(cardId);
    const handle = sys.client.workflow.getHandle(cardWorkflowId(cardId));
    const runOf = async () => (await handle.describe()).runId;
    const nextRun = async (after: string) => eventually(async () => ((await runOf()) !== after ? runOf() : undefined), 20_000, `a new run of ${cardId}`);
    const count = async (type: string) => (await events(cardId)).filter((e) => e.type === type).length;

    // A request that would apply again (the state does not change), then a continue-as-new
    // forced by the test-only threshold, then its retry.
    const firstRun = await runOf();
    const first = await act(cardId, callcenter, 'record_reissue_request', { reason: '通知書を紛失' }, 'reissue-key');
    expect(first.status).toBe(200);
    await handle.signal(policyChangedSignal, { ...POLICY, continueAsNewAfterEvents: 5 });
    await nextRun(firstRun);
    const again = await act(cardId, callcenter, 'record_reissue_request', { reason: '通知書を紛失' }, 'reissue-key');
    expect(again.status).toBe(200);
    expect(again.json).toEqual(first.json);
    expect(await count('record_reissue_request')).toBe(1);

    // A request that moves the card: its retry in the next run is not refused as illegal in the
    // new state, it gets the first answer. The action itself takes the run past the threshold.
    const heldIn = await runOf();
    const held = await act(cardId, office, 'pull_out', { reason: '区の指示' }, 'hold-key');
    expect(held.status).toBe(200);
    expect(heldIn).not.toBe(firstRun);
    await nextRun(heldIn);
    const heldAgain = await act(cardId, office, 'pull_out', { reason: '区の指示' }, 'hold-key');
    expect(heldAgain.status).toBe(200);
    expect(heldAgain.json).toEqual(held.json);
    expect(await count('pull_out')).toBe(1);
    expect((await row(cardId)).state).toBe('on_hold');
    // A new request is still checked against the card as it is.
    const fresh = await act(cardId, office, 'pull_out', { reason: '区の指示' }, 'hold-key-2');
    expect(fresh.status).toBe(409);
    const log = await events(cardId);
    expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i + 1));
  });

  it('tells when a patch may be deprecated: while a running card predates it, it may not', async () => {
    const cardId = await register();
    await eventually(() => row(cardId));
    const opts = { taskQueue: sys.taskQueue };
    // Every card of this file started with the current code, which checks 'bounded-projection' first.
    const current = await eventually(async () => {
      const s = await patchStatus(sys.client, 'bounded-projection', opts);
      return s.running > 0 ? s : undefined;
    });
    expect(current.predating).toEqual([]);
    expect(current.marked).toBe(current.running);
    // A patch none of them holds, deployed now: every running card predates it.
    const fresh = await patchStatus(sys.client, 'renotice-later', { ...opts, since: new Date() });
    expect(fresh.marked).toBe(0);
    expect(fresh.predating.map((p) => p.workflowId)).toContain(cardWorkflowId(cardId));
    // Deployed before any of them started: they will record it when they reach it.
    expect((await patchStatus(sys.client, 'renotice-later', { ...opts, since: new Date(0) })).predating).toEqual([]);
  });

  it('starts a new card with the start-of-run patch in its input: no marker, no search-attribute upsert, and its history replays', async () => {
    const cardId = await register();
    // Registered through the API: its first projection in the registration's statement (`projectedAt`).
    recorded['registered-projected-at-start'] = cardId;
    await eventually(() => row(cardId));
    await ok(cardId, office, 'inspect');
    const history = await sys.client.workflow.getHandle(cardWorkflowId(cardId)).fetchHistory();
    const events = history.events ?? [];
    // The input declares the patch, so the run takes its branch without recording anything for it.
    expect(events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch')).toEqual([]);
    expect(events.filter((e) => e.upsertWorkflowSearchAttributesEventAttributes)).toEqual([]);
    expect([...patchesIn(history)]).toEqual(['bounded-projection', 'reserve-one-transaction']);
    // The bounded projection is the branch taken: local activities, each of them with a marker.
    expect(events.some((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity')).toBe(true);
    expect(await replayHistory(cardWorkflowId(cardId), history)).toEqual({ replayed: true });
  });

  it('applies two actions that reach the card in one workflow task one after the other', async () => {
    const cardId = await register();
    await eventually(() => row(cardId));
    // With the worker stopped both requests wait for the card, and arrive in its next task together.
    await sys.cardWorker!.stop();
    const hold = act(cardId, office, 'pull_out', { reason: '区の指示' });
    const propose = act(cardId, ward, 'propose_discard', { reason: '長期未受取' });
    await new Promise((r) => setTimeout(r, 1_000));
    await sys.startWorker();
    expect([(await hold).status, (await propose).status]).toEqual([200, 200]);
    const log = await events(cardId);
    expect(log.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(log.map((e) => e.type).sort()).toEqual(['propose_discard', 'pull_out', 'registered']);
    const card = await sys.client.workflow.getHandle(cardWorkflowId(cardId)).query(cardQuery);
    expect({ state: card.state, seq: card.seq, proposals: card.proposals.map((p) => p.kind) }).toEqual({ state: 'on_hold', seq: 3, proposals: ['discard'] });
  });

  it('registers a card id once: the second registration reports the existing card', async () => {
    const card = aCard();
    await register(card);
    const again = await sys.http('POST', '/api/cards', { token: office, body: { ...card, route: 'express' } });
    expect(again.json).toEqual({ cardId: card.cardId, status: 'exists' });
    const projected = await eventually(() => row(card.cardId));
    expect(projected.state).toBe('received');
    expect((await sys.sql(`select route from card where card_id = ?`, [card.cardId]))[0].route).toBe('pickup');
  });

  it('rejects an illegal action in the validator, before it touches the history', async () => {
    const cardId = await register();
    const handle = sys.client.workflow.getHandle(cardWorkflowId(cardId));
    await eventually(async () => (await row(cardId)) !== undefined);
    // The projection commits inside the first workflow task, before the task's completion reaches
    // the history: wait until the task completed and no other task is pending, so the count is final.
    const before = await eventually(async () => {
      const events = (await handle.fetchHistory()).events!;
      const completed = events.findLastIndex((e) => e.workflowTaskCompletedEventAttributes);
      return completed >= 0 && !events.slice(completed + 1).some((e) => e.workflowTaskScheduledEventAttributes) ? events.length : undefined;
    });
    const res = await act(cardId, venue, 'issue');
    expect(res.status).toBe(409);
    expect(res.json.error.message).toMatch(/not allowed in state received/);
    const after = await handle.fetchHistory();
    expect(after.events!.length).toBe(before);
  });

  it('proposes a no-show after the slot, and confirming it releases the booking', async () => {
    const cardId = await register();
    recorded['no-show'] = cardId;
    await toNoticeMailed(cardId);
    // The ward books from today (a slot starting in 300 ms, 700 ms long).
    const slot = await sys.slot('kuyakusho', new Date(Date.now() + 300), 700);
    const reserved = await ok(cardId, ward, 'reserve', { data: slot });
    const bookingNumber = reserved.card.booking.bookingNumber;
    await waitForProposal(cardId, 'no_show');
    const confirmed = await ok(cardId, venue, 'confirm_no_show');
    expect(confirmed.card.state).toBe('no_show');
    expect(confirmed.card.booking).toBeUndefined();
    expect((await sys.sql(`select status from booking where booking_number = ?`, [bookingNumber]))[0].status).toBe('no_show');
    // Still uncollected: the re-notice is proposed next.
    await waitForProposal(cardId, 'renotice');
  });

  it('hands an expired card back and proposes its discard at once (R-3.7, R-6.2)', async () => {
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const cardId = await register(aCard({}, { residencePeriodEnd: yesterday, nationality: 'ベトナム', alphabetName: 'NGUYEN VAN AN' }));
    recorded['expiry'] = cardId;
    await waitForProposal(cardId, 'expiry');
    await ok(cardId, ward, 'approve_expiry');
    await waitForProposal(cardId, 'discard');
    expect((await row(cardId)).state).toBe('expired');
  });

  it('applies a changed policy to a running card', async () => {
    const slow = await sys.client.workflow.getHandle(cardWorkflowId(await register())).query(cardQuery);
    const cardId = slow.cardId;
    await toNoticeMailed(cardId);
    const handle = sys.client.workflow.getHandle(cardWorkflowId(cardId));
    // Lengthen the re-notice period first, so the default one cannot fire, then shorten it again.
    await handle.signal(policyChangedSignal, { ...POLICY, renoticeAfterMs: 3_600_000 });
    await new Promise((r) => setTimeout(r, 2_000));
    expect((await handle.query(cardQuery)).proposals).toEqual([]);
    await handle.signal(policyChangedSignal, { ...POLICY, renoticeAfterMs: 100 });
    await waitForProposal(cardId, 'renotice');
  });

  it('outlives a worker restart: the chain finishes with no event doubled', async () => {
    const cardId = await register();
    recorded['worker-restart'] = cardId;
    await toNoticeMailed(cardId);
    await sys.cardWorker!.stop();
    // The re-notice timer fires while no worker runs.
    await new Promise((r) => setTimeout(r, POLICY.renoticeAfterMs + 500));
    expect((await row(cardId)).proposal_kinds).toEqual([]);
    await sys.startWorker();
    await waitForProposal(cardId, 'renotice');
    await ok(cardId, ward, 'approve_renotice');
    const log = await events(cardId);
    expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i + 1));
    expect(log.filter((e) => e.type === 'proposal_opened')).toHaveLength(1);
  });
});
