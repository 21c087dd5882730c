/**
 * A registration's round trips to PostgreSQL: the residents of a batch are written by one statement,
 * and each card's first projection (its row and its `registered` event) by one statement, so a batch
 * of n cards costs 1 + n writes; and what they write is still right. Statement-level triggers (with
 * transition tables) installed for the test record which statement wrote which rows.
 */
import { safeRandomUUID } from '../src/common/my-number.js';
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

  it('a batch of 50: one statement writes the residents, one statement per card its row and its first event', async () => {
    const cards = Array.from({ length: 50 }, (_, i) => aCard({ cardId: `${prefix}${String(i).padStart(4, 'X')}` }));
    const res = await sys.http('POST', '/api/cards', { token: office, body: { cards } });
    expect(res.status).toBe(200);
    expect(res.json.results.map((r: { status: string }) => r.status)).toEqual(cards.map(() => 'created'));

    const writes = await eventually(async () => {
      const rows = await sys.ownerSql<{ tbl: string; rows: number; xid: string; at: string }>(`select tbl, rows, xid::text as xid, at::text as at from ${tag} order by at`);
      return rows.filter((r) => r.tbl === 'card_event').length >= 50 ? rows : undefined;
    });
    const of = (tbl: string) => writes.filter((w) => w.tbl === tbl);
    // The residents: a single statement for the whole batch.
    expect(of('card_resident').map((w) => w.rows)).toEqual([50]);
    // Each card's row and its event: 50 statements each, one row apiece...
    expect([of('card').length, of('card').every((w) => w.rows === 1)]).toEqual([50, true]);
    expect([of('card_event').length, of('card_event').every((w) => w.rows === 1)]).toEqual([50, true]);
    // ...and the row and the event of a card come from the same statement (same transaction, same
    // statement start), not from statements one after the other in a transaction.
    const key = (w: { xid: string; at: string }) => `${w.xid}@${w.at}`;
    const rowStatements = new Set(of('card').map(key));
    expect(of('card_event').filter((w) => !rowStatements.has(key(w)))).toEqual([]);

    // What they wrote is right: every card received, seq 1, its resident, its one registered event.
    const state = await sys.sql<{ card_id: string; state: string; seq: number; events: string; residents: number }>(
      `select c.card_id, c.state, c.seq, (select string_agg(e.type, ',') from card_event e where e.card_id = c.card_id) events,
              (select count(*)::int from card_resident r where r.card_id = c.card_id) residents
         from card c where c.card_id like ? order by c.card_id`,
      [`${prefix}%`],
    );
    expect(state.map((r) => [r.card_id, r.state, r.seq, r.events, r.residents])).toEqual(
      cards.map((c) => c.cardId).sort().map((id) => [id, 'received', 1, 'registered', 1]),
    );
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
