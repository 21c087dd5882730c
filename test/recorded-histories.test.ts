/**
 * Cards lived through with the production policy's proportions, to record the replay histories
 * `test/histories/prod-*.json`: `npm run record:histories` (RECORD_HISTORIES=1) writes them, plain
 * runs only check that each story still goes through.
 *
 * Time: Temporal's time-skipping test server (`TestWorkflowEnvironment.createTimeSkipping()`) is a
 * binary downloaded on first use, which this machine cannot reach, and the dev server has no clock to
 * move. So the production policy (config/koto/ward.json: notice 14 days, re-notice 90 days, discard
 * 90 days after it, no-show grace 2 hours, close after a day) runs scaled, one day to 20 ms: the
 * histories hold the same commands in the same order as months would, with shorter timers (the
 * replay checks commands, not timer lengths).
 *
 * Together the stories cover every action kind, a reservation (and its cancellation), a policy
 * change signal, every timer (SLA, expiry, no-show, re-notice, discard) with its approval and its
 * rejection, a hold and its release, and a continue-as-new with a retry across it; and one card on
 * the production policy unscaled, recorded mid-run with its months-long timers pending.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { fileURLToPath } from 'node:url';
import { captureCardHistory } from '../src/worker/capture-history.js';
import { loadWardConfig, scaledPolicy } from '../src/config/ward-config.js';
import { ACTIONS } from '../workflows/card-state-machine.js';
import { cardWorkflowId, policyChangedSignal } from '../workflows/card-messages.js';
import type { CardPolicy } from '../workflows/card-timers.js';
import { TestSystem, aCard, eventually } from './support/test-system.js';

/** One day of the production policy, in this test's milliseconds. */
const DAY = 20;
const production = loadWardConfig(undefined, '').policy;
const POLICY: CardPolicy = scaledPolicy(production, DAY);

describe('card stories on the production policy (scaled), recorded for replay', () => {
  let sys: TestSystem;
  let ward: string, office: string, venue: string, callcenter: string;
  const recorded: Record<string, string> = {};
  const actionsSeen = new Set<string>();

  beforeAll(async () => {
    sys = await TestSystem.start({ policy: POLICY });
    [ward, office, venue, callcenter] = await Promise.all([sys.token('ward'), sys.token('office'), sys.token('venue'), sys.token('callcenter')]);
  });
  afterAll(async () => {
    if (process.env.RECORD_HISTORIES === '1') {
      const dir = fileURLToPath(new URL('./histories/', import.meta.url));
      for (const [name, cardId] of Object.entries(recorded)) {
        for (const f of await captureCardHistory(sys.client, cardId, name, dir)) {
          process.stdout.write(`recorded ${join('test/histories', f.file.slice(dir.length))}: ${f.events} events, ${f.bytes} bytes\n`);
        }
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
  const act = async (cardId: string, token: string, action: string, body: Record<string, unknown> = {}, key = `r${++keys}`) => {
    const res = await sys.http('POST', `/api/cards/${cardId}/actions/${action}`, { token, body, headers: { 'idempotency-key': key } });
    if (res.status !== 200) throw new Error(`${action}: ${res.status} ${res.text}`);
    actionsSeen.add(action);
    return res.json;
  };
  type Row = { state: string; proposal_kinds: string[]; late: boolean };
  const row = async (cardId: string) => (await sys.sql<Row>(`select state, proposal_kinds, late from card where card_id = ?`, [cardId]))[0];
  const types = async (cardId: string) => (await sys.sql<{ type: string }>(`select type from card_event where card_id = ? order by seq`, [cardId])).map((e) => e.type);
  const waitFor = (cardId: string, what: string, test: (r: Row) => boolean) =>
    eventually(async () => {
      const r = await row(cardId);
      return r && test(r) ? r : undefined;
    }, 30_000, `${what} on ${cardId}`);
  const proposal = (cardId: string, kind: string) => waitFor(cardId, `${kind} proposal`, (r) => r.proposal_kinds.includes(kind));
  const finished = (cardId: string) => sys.client.workflow.getHandle(cardWorkflowId(cardId)).result();
  const slot = async () => {
    // Ends soon (the no-show timer), with room for a slow request to arrive before the slot ends. The
    // card is at its venue, so the call center may book at such short notice.
    return { data: await sys.slot('kuyakusho', new Date(Date.now() + 200), 1000) };
  };
  const yesterday = () => new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
  const foreigner = { residencePeriodEnd: undefined as string | undefined, nationality: 'ベトナム', alphabetName: 'NGUYEN VAN AN' };

  it('pickup, the long way: late notice, hold, return, booking and its cancellation, no-show, re-notice, discard', async () => {
    const cardId = await register();
    recorded['prod-pickup-discard'] = cardId;
    await act(cardId, office, 'inspect');
    await act(cardId, office, 'pull_out', { reason: '区からの引き抜き指示' });
    await act(cardId, office, 'release_hold');
    await waitFor(cardId, 'the notice SLA', (r) => r.late);
    await act(cardId, office, 'ship_to_venue');
    await act(cardId, venue, 'receive_at_venue');
    await act(cardId, office, 'mail_notice');
    // The ward changes its policy while the card waits: the re-notice comes after 120 days instead.
    await sys.client.workflow.getHandle(cardWorkflowId(cardId)).signal(policyChangedSignal, { ...POLICY, renoticeAfterMs: 120 * DAY });
    await act(cardId, office, 'record_return', { reason: '宛所不明' });
    await act(cardId, callcenter, 'record_reissue_request', { reason: '転居先に届いていない' });
    await act(cardId, callcenter, 'reserve', await slot());
    await act(cardId, callcenter, 'cancel_reservation');
    await act(cardId, callcenter, 'reserve', await slot());
    await proposal(cardId, 'no_show');
    await act(cardId, venue, 'confirm_no_show');
    await proposal(cardId, 'renotice');
    await act(cardId, ward, 'approve_renotice');
    await act(cardId, office, 'mail_renotice');
    await proposal(cardId, 'discard');
    await act(cardId, ward, 'approve_discard');
    expect((await finished(cardId)).state).toBe('discarded');
    expect(await types(cardId)).toEqual(expect.arrayContaining(['sla_late', 'proposal_opened', 'confirm_no_show', 'approve_discard']));
  });

  it('pickup, every proposal rejected, a continue-as-new with a retry across it, then issued', async () => {
    const cardId = await register(aCard({}, { ...foreigner, residencePeriodEnd: yesterday() }));
    recorded['prod-pickup-rejections'] = cardId;
    const handle = sys.client.workflow.getHandle(cardWorkflowId(cardId));
    await proposal(cardId, 'expiry');
    await act(cardId, ward, 'reject_proposal', { reason: '在留期間更新済', data: { kind: 'expiry' } });
    await act(cardId, office, 'inspect');
    await act(cardId, office, 'ship_to_venue');
    await act(cardId, venue, 'receive_at_venue');
    await act(cardId, office, 'mail_notice');
    await proposal(cardId, 'renotice');
    await act(cardId, ward, 'reject_proposal', { reason: '本人から連絡あり', data: { kind: 'renotice' } });
    await act(cardId, callcenter, 'reserve', await slot());
    await proposal(cardId, 'no_show');
    await act(cardId, ward, 'reject_proposal', { reason: '来場を確認', data: { kind: 'no_show' } });
    await act(cardId, venue, 'mark_documents_missing', { reason: '本人確認書類なし' });
    await act(cardId, ward, 'propose_discard', { reason: '長期未受取' });
    const body = { reason: '受取の意思あり', data: { kind: 'discard' } };
    const rejected = await act(cardId, ward, 'reject_proposal', body, 'reject-discard');
    // Continue as new (the test-only threshold), then the same request again: its first answer.
    const firstRun = (await handle.describe()).runId;
    await handle.signal(policyChangedSignal, { ...POLICY, continueAsNewAfterEvents: 5 });
    await eventually(async () => (await handle.describe()).runId !== firstRun, 20_000, 'a continue-as-new');
    expect(await act(cardId, ward, 'reject_proposal', body, 'reject-discard')).toEqual(rejected);
    await act(cardId, venue, 'issue');
    expect((await finished(cardId)).state).toBe('issued');
    expect((await types(cardId)).filter((t) => t === 'reject_proposal')).toHaveLength(4);
  });

  it('an expired residence: handed back to the ward, then discarded', async () => {
    const cardId = await register(aCard({}, { ...foreigner, residencePeriodEnd: yesterday() }));
    recorded['prod-expiry-discard'] = cardId;
    await proposal(cardId, 'expiry');
    await act(cardId, ward, 'approve_expiry');
    await proposal(cardId, 'discard');
    await act(cardId, ward, 'approve_discard');
    expect((await finished(cardId)).state).toBe('discarded');
  });

  it('a resident who moved out: removed, discarded', async () => {
    const cardId = await register();
    recorded['prod-removed'] = cardId;
    await act(cardId, ward, 'mark_removed', { reason: '転出' });
    await proposal(cardId, 'discard');
    await act(cardId, ward, 'approve_discard');
    expect((await finished(cardId)).state).toBe('discarded');
  });

  it('the ward mails the card (counter route), and J-LIS mails it (express)', async () => {
    const counter = await register(aCard({ route: 'counter' }));
    recorded['prod-counter'] = counter;
    await act(counter, office, 'inspect');
    await act(counter, office, 'hand_to_ward');
    await act(counter, ward, 'record_ward_mailing');
    await act(counter, ward, 'record_delivery');
    const express = await register(aCard({ route: 'express' }));
    recorded['prod-express'] = express;
    await act(express, office, 'record_jlis_mailing');
    await act(express, office, 'record_delivery');
    expect((await finished(counter)).state).toBe('delivered');
    expect((await finished(express)).state).toBe('delivered');
  });

  it('pickup on the production policy unscaled: months-long timers pending, recorded mid-run', async () => {
    // Registered on the scaled policy, then given the real one (14, 90, 90 days…) by the same signal
    // `npm run cli -- policy apply` sends: the timers it starts are months long, as in production.
    const cardId = await register();
    recorded['prod-pickup-months-pending'] = cardId;
    const handle = sys.client.workflow.getHandle(cardWorkflowId(cardId));
    await handle.signal(policyChangedSignal, production);
    await act(cardId, office, 'inspect');
    await act(cardId, office, 'ship_to_venue');
    await act(cardId, venue, 'receive_at_venue');
    await act(cardId, office, 'mail_notice');
    const tomorrow = Date.now() + 86_400_000;
    await act(cardId, callcenter, 'reserve', { data: await sys.slot('kuyakusho', new Date(tomorrow), 1_800_000) });
    await act(cardId, callcenter, 'cancel_reservation');
    // Nothing is due for months: no proposal, and the card stays open (the history ends mid-run).
    await new Promise((r) => setTimeout(r, 300));
    expect((await row(cardId)).proposal_kinds).toEqual([]);
    expect((await handle.describe()).status.name).toBe('RUNNING');
  });

  it('two actions that reach the card in one workflow task (worker down), applied one after the other', async () => {
    const cardId = await register();
    recorded['prod-two-actions-one-task'] = cardId;
    await waitFor(cardId, 'the card', () => true);
    await sys.cardWorker!.stop();
    const hold = act(cardId, office, 'pull_out', { reason: '区の指示' });
    const propose = act(cardId, ward, 'propose_discard', { reason: '長期未受取' });
    await new Promise((r) => setTimeout(r, 1_000));
    await sys.startWorker();
    await Promise.all([hold, propose]);
    await act(cardId, ward, 'reject_proposal', { reason: '受取の意思あり', data: { kind: 'discard' } });
    await act(cardId, office, 'release_hold');
    // (the notice SLA may fire after, for this pickup card: 14 days scaled)
    expect((await types(cardId)).slice(0, 5)).toEqual(['registered', expect.any(String), expect.any(String), 'reject_proposal', 'release_hold']);
  });

  it('captures every run of a card that continued as new (what `cli card capture` writes)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'koto-histories-'));
    const files = await captureCardHistory(sys.client, recorded['prod-pickup-rejections'], 'captured', dir);
    expect(files.map((f) => basename(f.file))).toEqual(['captured-run1.json', 'captured-run2.json']);
    const [run1, run2] = files.map((f) => historyFromJSON(JSON.parse(readFileSync(f.file, 'utf8'))));
    expect(run1.events!.at(-1)!.workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();
    expect(run2.events!.at(-1)!.workflowExecutionCompletedEventAttributes).toBeTruthy();
    await expect(captureCardHistory(sys.client, recorded['prod-counter'], '../escape', dir)).rejects.toThrow();
  });

  it('took every action kind', () => {
    expect([...actionsSeen].sort()).toEqual([...ACTIONS].sort());
  });
});
