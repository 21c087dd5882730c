/**
 * The card API over HTTP on real PostgreSQL and Temporal: registration, search, export, history and
 * replay, and every kind of bad input getting a clear answer that changes nothing.
 */
import iconv from 'iconv-lite';
import { ACTIONS } from '../workflows/card-state-machine.js';
import { TestSystem, aCard, eventually } from './support/test-system.js';

const MY_NUMBER = '123456789018'; // a valid check digit

describe('card API', () => {
  let sys: TestSystem;
  let ward: string, office: string, venue: string, auditor: string, callcenter: string, admin: string;

  beforeAll(async () => {
    sys = await TestSystem.start();
    [ward, office, venue, auditor, callcenter, admin] = await Promise.all(
      (['ward', 'office', 'venue', 'auditor', 'callcenter', 'admin'] as const).map((r) => sys.token(r)),
    );
  });
  afterAll(() => sys.stop());

  const projected = (cardId: string) => eventually(async () => (await sys.sql(`select state from card where card_id = ?`, [cardId]))[0], 10_000, cardId);
  // Other test files write the same database at the same time: count only these cards' rows.
  const stored = async (...cardIds: string[]) =>
    (await sys.sql<{ n: number }>(`select (select count(*) from card_resident where card_id = any(?::text[])) + (select count(*) from card_event where card_id = any(?::text[])) as n`, [`{${cardIds.join(',')}}`, `{${cardIds.join(',')}}`]))[0].n;

  describe('bad input gets a clear answer and changes nothing', () => {
    it('401 without a token or with a bad one', async () => {
      const none = await sys.http('GET', '/api/cards');
      expect(none.status).toBe(401);
      expect(none.json).toEqual({ error: { code: 'UNAUTHENTICATED', message: expect.any(String) }, requestId: expect.any(String) });
      expect((await sys.http('GET', '/api/cards', { token: 'kct_not-a-real-token' })).status).toBe(401);
      expect((await sys.http('GET', '/api/cards', { headers: { authorization: 'Basic abc' } })).status).toBe(401);
    });

    it('403 for a role not allowed, on routes and on card actions', async () => {
      const refused = aCard();
      expect((await sys.http('POST', '/api/cards', { token: venue, body: refused })).json.error.code).toBe('FORBIDDEN');
      expect(Number(await stored(refused.cardId))).toBe(0);
      expect((await sys.http('GET', '/api/cards', { token: admin })).status).toBe(403);
      const card = aCard();
      await sys.http('POST', '/api/cards', { token: office, body: card });
      // The auditor may read everything and change nothing, whatever the action.
      for (const action of ACTIONS) {
        const res = await sys.http('POST', `/api/cards/${card.cardId}/actions/${action}`, { token: auditor, body: { reason: 'x' } });
        expect([action, res.status]).toEqual([action, 403]);
      }
      // A venue may not inspect; the call center may not approve.
      for (const [token, action] of [[auditor, 'inspect'], [venue, 'inspect'], [callcenter, 'approve_discard']] as const) {
        const res = await sys.http('POST', `/api/cards/${card.cardId}/actions/${action}`, { token, body: {} });
        expect(res.status).toBe(403);
      }
      await projected(card.cardId);
      // The resident and the registration event only.
      expect(Number(await stored(card.cardId))).toBe(2);
    });

    it('404 for an unknown card or action', async () => {
      const get = await sys.http('GET', '/api/cards/NO-SUCH-CARD', { token: ward });
      expect(get.status).toBe(404);
      expect(get.json.error.code).toBe('CARD_NOT_FOUND');
      const act = await sys.http('POST', '/api/cards/NO-SUCH-CARD/actions/inspect', { token: office, body: {} });
      expect(act.status).toBe(404);
      expect(act.json.error.code).toBe('CARD_NOT_FOUND');
      const unknown = await sys.http('POST', '/api/cards/NO-SUCH-CARD/actions/teleport', { token: office, body: {} });
      expect(unknown.status).toBe(404);
      expect(unknown.json.error.code).toBe('UNKNOWN_ACTION');
    });

    it('400 naming every bad field, and nothing stored', async () => {
      const bad = aCard({ route: 'teleport' }, { birthDate: '1980-13-45', nameKana: 'こうとう', postalCode: '1350016x' });
      const res = await sys.http('POST', '/api/cards', { token: office, body: bad });
      expect(res.status).toBe(400);
      expect(res.json.error.code).toBe('VALIDATION_FAILED');
      expect(res.json.error.details.fields.map((f: { field: string }) => f.field).sort()).toEqual(
        ['resident.birthDate', 'resident.nameKana', 'resident.postalCode', 'route'].sort(),
      );
      // One bad card in a batch: the whole batch is refused, naming its index.
      const goodInBadBatch = aCard();
      const batch = await sys.http('POST', '/api/cards', { token: office, body: { cards: [goodInBadBatch, aCard({}, { name: '' })] } });
      expect(batch.status).toBe(400);
      expect(batch.json.error.details.fields).toEqual([{ field: 'cards[1].resident.name', message: expect.any(String) }]);
      expect((await sys.http('POST', '/api/cards', { token: office, body: '{"cardId":' })).json.error.code).toBe('BAD_REQUEST');
      expect(Number(await stored(bad.cardId, goodInBadBatch.cardId))).toBe(0);
    });

    it('400 for a bad search query and a forged cursor', async () => {
      const res = await sys.http('GET', '/api/cards?state=flying&sort=colour&limit=0', { token: ward });
      expect(res.status).toBe(400);
      expect(res.json.error.details.fields.map((f: { field: string }) => f.field).sort()).toEqual(['query.limit', 'query.sort', 'query.state[0]']);
      expect((await sys.http('GET', '/api/cards?cursor=bm90LWEtY3Vyc29y', { token: ward })).json.error.code).toBe('BAD_CURSOR');
    });

    it('422 for an individual number in any field; it is neither stored nor logged', async () => {
      const [a, b, c, d] = [aCard({}, { address: `江東区東陽4-11-28 ${MY_NUMBER}` }), aCard({}, { name: `１２３４ ５６７８ ９０１８` }), aCard(), aCard({}, { nationality: MY_NUMBER })];
      const places = [a, b, { cards: [c, d] }];
      for (const body of places) {
        const res = await sys.http('POST', '/api/cards', { token: office, body });
        expect(res.status).toBe(422);
        expect(res.json.error.code).toBe('MY_NUMBER_REFUSED');
        expect(res.text).not.toContain(MY_NUMBER);
      }
      const card = aCard();
      await sys.http('POST', '/api/cards', { token: office, body: card });
      await projected(card.cardId);
      const action = await sys.http('POST', `/api/cards/${card.cardId}/actions/pull_out`, { token: ward, body: { reason: `番号 ${MY_NUMBER} の件` } });
      expect(action.status).toBe(422);
      const search = await sys.http('GET', `/api/cards?nameKana=${MY_NUMBER}`, { token: ward });
      expect(search.status).toBe(422);
      expect(Number(await stored(a.cardId, b.cardId, c.cardId, d.cardId))).toBe(0);
      const leaked = await sys.sql(
        `select count(*)::int n from (select row_to_json(r)::text t from card_resident r union all select row_to_json(e)::text from card_event e
         union all select row_to_json(a)::text from access_log a) x where t like ?`,
        [`%${MY_NUMBER}%`],
      );
      expect(leaked[0].n).toBe(0);
    });

    it('409 for an illegal transition, with the current state', async () => {
      const card = aCard();
      await sys.http('POST', '/api/cards', { token: office, body: card });
      const res = await sys.http('POST', `/api/cards/${card.cardId}/actions/mail_notice`, { token: office, body: {} });
      expect(res.status).toBe(409);
      expect(res.json.error).toEqual({ code: 'ILLEGAL_TRANSITION', message: expect.stringContaining('received'), details: { state: 'received', cardId: card.cardId } });
      const noReason = await sys.http('POST', `/api/cards/${card.cardId}/actions/pull_out`, { token: ward, body: {} });
      expect(noReason.status).toBe(400);
      expect(noReason.json.error.code).toBe('REASON_REQUIRED');
    });
  });

  describe('registration, search and export', () => {
    const cards = [
      aCard({}, { nameKana: 'アオキ ハナコ', name: '青木 花子' }),
      aCard({}, { nameKana: 'アオヤマ イチロウ', name: '青山 一郎', postalCode: '135-0061' }),
      aCard({ route: 'express' }, { nameKana: 'イノウエ ケン', name: '井上 健' }),
      aCard({ route: 'counter' }, { nameKana: 'ｳｴﾀﾞ ﾕｲ', name: '上田 結衣', postalCode: '136-0072' }),
      aCard({}, { nameKana: 'エンドウ ショウ', name: '遠藤 翔' }),
    ];

    beforeAll(async () => {
      const res = await sys.http('POST', '/api/cards', { token: office, body: { cards } });
      expect(res.json.results.map((r: { status: string }) => r.status)).toEqual(cards.map(() => 'created'));
      await Promise.all(cards.map((c) => projected(c.cardId)));
      await sys.http('POST', `/api/cards/${cards[0].cardId}/actions/inspect`, { token: office, body: {} });
    });

    it('registers a batch idempotently: existing cards are reported, not duplicated', async () => {
      const res = await sys.http('POST', '/api/cards', { token: office, body: { cards: [cards[0], aCard()] } });
      expect(res.json.results.map((r: { status: string }) => r.status)).toEqual(['exists', 'created']);
    });

    it('filters, sorts and pages with a cursor', async () => {
      const inspected = await sys.http('GET', `/api/cards?state=inspected&limit=500`, { token: ward });
      expect(inspected.json.items.map((c: { cardId: string }) => c.cardId)).toContain(cards[0].cardId);
      const kana = await sys.http('GET', `/api/cards?nameKana=${encodeURIComponent('アオ')}&route=pickup&sort=nameKana`, { token: callcenter });
      expect(kana.json.items.map((c: { resident: { name: string } }) => c.resident.name)).toEqual(['青木 花子', '青山 一郎']);
      // Half-width kana are folded to full-width, in storage and in search.
      const folded = await sys.http('GET', `/api/cards?nameKana=${encodeURIComponent('ｳｴﾀﾞ')}`, { token: ward });
      expect(folded.json.items.map((c: { cardId: string }) => c.cardId)).toEqual([cards[3].cardId]);

      // Other test files register cards meanwhile; they are newer than the first page, so the pages
      // must hold exactly the cards received up to the first one seen, newest first, none twice.
      const seen: { cardId: string; receivedAt: string }[] = [];
      let cursor: string | null = null;
      do {
        const page: { status: number; json: { items: { cardId: string; receivedAt: string }[]; nextCursor: string | null } } = await sys.http(
          'GET',
          `/api/cards?sort=-receivedAt&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
          { token: ward },
        );
        expect(page.status).toBe(200);
        seen.push(...page.json.items.map((c) => ({ cardId: c.cardId, receivedAt: c.receivedAt })));
        cursor = page.json.nextCursor;
      } while (cursor);
      const ids = seen.map((c) => c.cardId);
      expect(new Set(ids).size).toBe(ids.length);
      for (const c of cards) expect(ids).toContain(c.cardId);
      const times = seen.map((c) => Date.parse(c.receivedAt));
      expect(times).toEqual([...times].sort((a, b) => b - a));
      const upToFirst = await sys.sql<{ n: string }>(`select count(*) n from card where received_at <= ?`, [seen[0].receivedAt]);
      expect(ids.length).toBe(Number(upToFirst[0].n));
    });

    it('exports the search as CSV: UTF-8 with BOM, or Shift_JIS', async () => {
      const utf8 = await fetch(`${sys.baseUrl}/api/cards.csv?nameKana=${encodeURIComponent('アオ')}&sort=nameKana`, { headers: { authorization: `Bearer ${ward}` } });
      expect(utf8.headers.get('content-type')).toMatch(/text\/csv; charset=UTF-8/i);
      const bytes = Buffer.from(await utf8.arrayBuffer());
      expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
      const lines = bytes.toString('utf8').slice(1).trim().split('\r\n');
      expect(lines[0]).toMatch(/^card_id,route,route_label,state/);
      expect(lines.slice(1).map((l) => l.split(',')[14])).toEqual(['青木 花子', '青山 一郎']);
      const sjis = await fetch(`${sys.baseUrl}/api/cards.csv?nameKana=${encodeURIComponent('アオキ')}&encoding=sjis`, { headers: { authorization: `Bearer ${ward}` } });
      const text = iconv.decode(Buffer.from(await sjis.arrayBuffer()), 'cp932');
      expect(text).toContain('青木 花子,アオキ ハナコ');
      expect(text).toContain('交付時来庁方式');
    });

    it('shows a card with its timeline and the actions this user may take; logs exactly one read', async () => {
      const id = cards[0].cardId;
      // Reads of the card detail only: other files' pages (the hand-over report) may list this card too.
      const before = await sys.sql<{ n: number }>(`select count(*)::int n from access_log where kind = 'read' and detail = 'card detail' and ? = any(card_ids)`, [id]);
      const res = await sys.http('GET', `/api/cards/${id}`, { token: office });
      expect(res.json.card).toMatchObject({ cardId: id, state: 'inspected', stateLabel: '検品・初期設定済', resident: { name: '青木 花子' } });
      expect(res.json.timeline.map((e: { type: string; actor: { role: string } }) => [e.type, e.actor.role])).toEqual([
        ['registered', 'office'],
        ['inspect', 'office'],
      ]);
      expect(res.json.allowedActions.map((a: { action: string }) => a.action)).toEqual(['ship_to_venue', 'pull_out']);
      const asAuditor = await sys.http('GET', `/api/cards/${id}`, { token: auditor });
      expect(asAuditor.json.allowedActions).toEqual([]);
      const after = await sys.sql<{ n: number; user_id: string }>(`select count(*)::int n from access_log where kind = 'read' and detail = 'card detail' and ? = any(card_ids)`, [id]);
      expect(after[0].n - before[0].n).toBe(2);
    });

    it('gives auditors the Temporal history and a replay check', async () => {
      const id = cards[0].cardId;
      const history = await sys.http('GET', `/api/cards/${id}/history`, { token: auditor });
      expect(history.status).toBe(200);
      expect(history.json.workflowId).toBe(`card-${id}`);
      expect(history.json.temporal.events[0].eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_STARTED');
      expect(history.json.events.map((e: { type: string }) => e.type)).toEqual(['registered', 'inspect']);
      const replay = await sys.http('POST', `/api/cards/${id}/replay`, { token: auditor });
      expect(replay.json).toMatchObject({ workflowId: `card-${id}`, replayed: true });
      expect((await sys.http('GET', `/api/cards/${id}/history`, { token: callcenter })).status).toBe(403);
    });
  });

  it('serves health, the OpenAPI document, and sends a visitor of the front page to sign in', async () => {
    const front = await fetch(`${sys.baseUrl}/`, { redirect: 'manual' });
    expect(front.status).toBe(303);
    expect(front.headers.get('location')).toBe('/login?next=%2F');
    const health = await sys.http('GET', '/api/health');
    expect(health.status).toBe(200);
    expect(health.json).toMatchObject({ status: 'up', postgres: { status: 'up' }, temporal: { status: 'up' }, worker: { status: 'up' } });
    const docs = await sys.http('GET', '/api/docs-json');
    expect(Object.keys(docs.json.paths)).toEqual(
      expect.arrayContaining(['/api/cards', '/api/cards/{cardId}', '/api/cards/{cardId}/actions/{action}', '/api/cards.csv', '/api/cards/{cardId}/history', '/api/cards/{cardId}/replay', '/api/health']),
    );
  });
});
