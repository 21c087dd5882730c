/**
 * A registration's round trips to PostgreSQL: one statement writes a batch's residents and each
 * card's first projection (its row and its `registered` event), and the workflows' first tasks write
 * nothing more (they start from the same state); and what they write is still right. Statement-level triggers (with
 * transition tables) installed for the test record which statement wrote which rows.
 */
import { safeRandomUUID } from '../src/common/my-number.js';
import { WorkflowNotFoundError } from '@temporalio/client';
import { cardInputSchema } from '../src/cards/card.dto.js';
import { CardsRepository } from '../src/cards/cards.repository.js';
import { CardsService } from '../src/cards/cards.service.js';
import { cardStarterOf } from '../src/worker/card-worker.js';
import { cardQuery, cardWorkflowId } from '../workflows/card-messages.js';
import { TestSystem, aCard, eventually } from './support/test-system.js';

describe('registration writes with few statements', () => {
  let sys: TestSystem;
  let office: string;
  const tag = `test_stmt_${safeRandomUUID().slice(0, 8)}`;
  // Card ids of this file only: other files share the database (and fire the triggers too).
  const prefix = `S${safeRandomUUID().replace(/-/g, '').slice(0, 4).toUpperCase()}`;

  beforeAll(async () => {
    sys = await TestSystem.start();
    office = await sys.token('office');
    await sys.ownerSql(`create table ${tag} (tbl text not null, rows int not null, card text not null, xid bigint not null, at timestamptz not null)`);
    await sys.ownerSql(
      `create function ${tag}_fn() returns trigger language plpgsql as $$
       begin
         insert into ${tag} (tbl, rows, card, xid, at)
           select TG_TABLE_NAME || case when TG_OP = 'UPDATE' then ':update' else '' end, count(*), min(card_id), txid_current(), statement_timestamp()
             from added where card_id like '${prefix}%' having count(*) > 0;
         return null;
       end $$`,
    );
    for (const table of ['card_resident', 'card', 'card_event']) {
      await sys.ownerSql(`create trigger ${tag}_${table} after insert on ${table} referencing new table as added for each statement execute function ${tag}_fn()`);
    }
    // The card row of a later projection is an update (insert … on conflict do update).
    await sys.ownerSql(`create trigger ${tag}_card_update after update on card referencing new table as added for each statement execute function ${tag}_fn()`);
  });
  afterAll(async () => {
    for (const table of ['card_resident', 'card', 'card_event']) await sys.ownerSql(`drop trigger if exists ${tag}_${table} on ${table}`);
    await sys.ownerSql(`drop trigger if exists ${tag}_card_update on card`);
    await sys.ownerSql(`drop function if exists ${tag}_fn()`);
    await sys.ownerSql(`drop table if exists ${tag}`);
    await sys.stop();
  });

  it('a batch of 50: one statement writes the residents, the card rows and their first events; the workflows write nothing more', async () => {
    const cards = Array.from({ length: 50 }, (_, i) => aCard({ cardId: `${prefix}${String(i).padStart(4, 'X')}` }));
    const starter = cardStarterOf(sys.cardWorker!.worker)!;
    const before = { ...starter.counts };
    const res = await sys.http('POST', '/api/cards', { token: office, body: { cards } });
    expect(res.status).toBe(200);
    expect(res.json.results.map((r: { status: string }) => r.status)).toEqual(cards.map(() => 'created'));
    // The worker started them (the outbox), and with free slots it took each first task from its start.
    expect(starter.counts.started - before.started).toBe(50);
    expect(starter.counts.eagerly - before.eagerly).toBeGreaterThanOrEqual(45);

    // Every workflow has taken its first task: its timer is in its history.
    const histories = await eventually(async () => {
      const all = await Promise.all(cards.map((c) => sys.client.workflow.getHandle(cardWorkflowId(c.cardId)).fetchHistory()));
      return all.every((h) => h.events?.some((e) => e.timerStartedEventAttributes)) ? all : undefined;
    });
    // The first task recorded only the timer: no local activity (no projection) and no patch.
    for (const h of histories) {
      expect((h.events ?? []).filter((e) => e.markerRecordedEventAttributes)).toEqual([]);
      expect(h.events?.find((e) => e.workflowExecutionStartedEventAttributes)?.workflowExecutionStartedEventAttributes?.input?.payloads).toHaveLength(1);
    }
    const writes = await sys.ownerSql<{ tbl: string; rows: number; xid: string; at: string }>(`select tbl, rows, xid::text as xid, at::text as at from ${tag} where card like ? order by at`, [
      `${prefix}X%`,
    ]);
    const key = (w: { xid: string; at: string }) => `${w.xid}@${w.at}`;
    // One statement for the batch: 50 residents, 50 rows, 50 events, and nothing written after it.
    expect(writes.map((w) => [w.tbl, w.rows]).sort()).toEqual([
      ['card', 50],
      ['card_event', 50],
      ['card_resident', 50],
    ]);
    expect(new Set(writes.map(key)).size).toBe(1);
    // The started workflow holds the state the statement wrote, to the millisecond.
    const stored = await sys.sql<{ card_id: string; snapshot: unknown }>(`select card_id, snapshot from card where card_id like ? order by card_id`, [`${prefix}X%`]);
    const held = await Promise.all(stored.map((r) => sys.client.workflow.getHandle(cardWorkflowId(r.card_id)).query(cardQuery)));
    expect(held).toEqual(stored.map((r) => r.snapshot));
    // No start is left owed.
    expect(await sys.sql(`select card_id from card_start_pending where card_id like ?`, [`${prefix}%`])).toEqual([]);

    // What they wrote is right: every card received, seq 1, its resident, its one registered event.
    const state = await sys.sql<{ card_id: string; state: string; seq: number; events: string; residents: number }>(
      `select c.card_id, c.state, c.seq, (select string_agg(e.type, ',') from card_event e where e.card_id = c.card_id) events,
              (select count(*)::int from card_resident r where r.card_id = c.card_id) residents
         from card c where c.card_id like ? order by c.card_id`,
      [`${prefix}X%`],
    );
    expect(state.map((r) => [r.card_id, r.state, r.seq, r.events, r.residents])).toEqual(
      cards.map((c) => c.cardId).sort().map((id) => [id, 'received', 1, 'registered', 1]),
    );
  });

  it('a timer already due at registration (a residence period ended) is in the registration\'s statement too, not in the first task', async () => {
    const cardId = `${prefix}ZE01`;
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const res = await sys.http('POST', '/api/cards', { token: office, body: aCard({ cardId }, { residencePeriodEnd: yesterday, nationality: 'ベトナム', alphabetName: 'NGUYEN VAN AN' }) });
    expect([res.status, res.json]).toEqual([200, { cardId, status: 'created' }]);
    // Readable with its proposal at the answer, both from the statement (same transaction).
    const events = await sys.sql<{ seq: number; type: string; xmin: string }>(`select seq, type, xmin::text from card_event where card_id = ? order by seq`, [cardId]);
    expect(events.map((e) => [e.seq, e.type])).toEqual([
      [1, 'registered'],
      [2, 'proposal_opened'],
    ]);
    expect(events[0].xmin).toBe(events[1].xmin);
    const history = await eventually(async () => {
      const h = (await sys.client.workflow.getHandle(cardWorkflowId(cardId)).fetchHistory()).events ?? [];
      return h.some((e) => e.timerStartedEventAttributes) ? h : undefined;
    });
    expect(history.filter((e) => e.markerRecordedEventAttributes)).toEqual([]);
    expect(await sys.client.workflow.getHandle(cardWorkflowId(cardId)).query(cardQuery)).toEqual(
      (await sys.sql<{ snapshot: unknown }>(`select snapshot from card where card_id = ?`, [cardId]))[0].snapshot,
    );
  });

  it('the outbox: a registration written while no worker runs is readable, then started by the next worker; a claim of a worker gone is taken over after its lease', async () => {
    const service = sys.app.get(CardsService);
    const repo = sys.app.get(CardsRepository);
    const [waiting, leased] = ['ZW', 'ZL'].map((z) => cardInputSchema.parse(aCard({ cardId: `${prefix}${z}01` })));
    const snapshot = async (cardId: string) => (await sys.sql<{ snapshot: { receivedAt: number } }>(`select snapshot from card where card_id = ?`, [cardId]))[0].snapshot;
    const pending = async () => (await sys.sql<{ card_id: string }>(`select card_id from card_start_pending where card_id like ? order by card_id`, [`${prefix}Z%`])).map((r) => r.card_id);
    await sys.cardWorker!.stop();
    let restarted = false;
    try {
      // Over HTTP, with no worker: the card is readable at once, but not yet registered (202, pending).
      const res = await sys.http('POST', '/api/cards?wait=1', { token: office, body: aCard({ cardId: waiting.cardId }) });
      expect([res.status, res.json]).toEqual([202, { cardId: waiting.cardId, status: 'pending' }]);
      const read = await sys.http('GET', `/api/cards/${waiting.cardId}`, { token: office });
      expect([read.status, read.json.card?.state]).toEqual([200, 'received']);
      await expect(sys.client.workflow.getHandle(cardWorkflowId(waiting.cardId)).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
      // As the statement alone writes it (an API stopped right after), claimed by a worker that then died.
      const at = Date.now() - 600_000;
      await repo.insertRegistrations(sys.taskQueue, service.registrationBatch([leased], { userId: 'test-office', role: 'office', channel: 'api' }, at));
      await sys.sql(`update card_start_pending set claimed_until = now() + interval '15 seconds' where card_id = ?`, [leased.cardId]);
      expect(await pending()).toEqual([leased.cardId, waiting.cardId].sort());

      await sys.startWorker();
      restarted = true;
      // The next worker starts the waiting card, with the instant it was registered at.
      const held = await eventually(() => sys.client.workflow.getHandle(cardWorkflowId(waiting.cardId)).query(cardQuery).catch(() => undefined));
      expect(held).toEqual(await snapshot(waiting.cardId));
      expect(await pending()).toEqual([leased.cardId]);
      // The claimed one once its lease is over, with its own stored input.
      const leasedHeld = await eventually(() => sys.client.workflow.getHandle(cardWorkflowId(leased.cardId)).query(cardQuery).catch(() => undefined), 30_000);
      const stored = await snapshot(leased.cardId);
      expect([leasedHeld, stored.receivedAt]).toEqual([stored, at]);
      await eventually(async () => ((await pending()).length === 0 ? true : undefined));
    } finally {
      if (!restarted) await sys.startWorker();
    }
    // Registered now: the same request answers `exists`, and the card acts like any card.
    const again = await sys.http('POST', '/api/cards', { token: office, body: aCard({ cardId: leased.cardId }) });
    expect([again.status, again.json]).toEqual([200, { cardId: leased.cardId, status: 'exists' }]);
    const inspected = await sys.http('POST', `/api/cards/${leased.cardId}/actions/inspect`, { token: office, body: {}, headers: { 'idempotency-key': safeRandomUUID() } });
    expect([inspected.status, inspected.json.card?.state]).toEqual([200, 'inspected']);
  });

  it("an action's projection that draws no number and releases no booking is one statement: the card row and its event", async () => {
    const cards = Array.from({ length: 5 }, (_, i) => aCard({ cardId: `${prefix}${String(i).padStart(4, 'Y')}` }));
    const res = await sys.http('POST', '/api/cards', { token: office, body: { cards } });
    expect(res.status).toBe(200);
    const [{ since }] = await sys.ownerSql<{ since: string }>(`select clock_timestamp()::text as since`);
    for (const c of cards) {
      const held = await sys.http('POST', `/api/cards/${c.cardId}/actions/pull_out`, { token: office, body: { reason: '区の指示' }, headers: { 'idempotency-key': safeRandomUUID() } });
      expect([held.status, held.json.card?.state]).toEqual([200, 'on_hold']);
    }
    const writes = await sys.ownerSql<{ tbl: string; card: string; xid: string; at: string }>(
      `select tbl, card, xid::text as xid, at::text as at from ${tag} where at > ?::timestamptz and card like ? order by at`,
      [since, `${prefix}YYY%`],
    );
    for (const c of cards) {
      const mine = writes.filter((w) => w.card === c.cardId);
      const row = mine.filter((w) => w.tbl === 'card:update');
      const event = mine.filter((w) => w.tbl === 'card_event');
      // One update of the row and one insert of the pull_out event, by the same statement.
      expect([row.length, event.length]).toEqual([1, 1]);
      expect(`${event[0].xid}@${event[0].at}`).toBe(`${row[0].xid}@${row[0].at}`);
    }
    const events = await sys.sql<{ card_id: string; types: string }>(
      `select card_id, string_agg(type, ',' order by seq) as types from card_event where card_id like ? group by card_id order by card_id`,
      [`${prefix}YYY%`],
    );
    expect(events.map((e) => e.types)).toEqual(cards.map(() => 'registered,pull_out'));
  });
});
