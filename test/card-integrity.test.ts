/**
 * Cards that never freeze and data that is never damaged on the way in: values PostgreSQL would
 * refuse are refused at the API with 400, a change the database refuses anyway is answered with an
 * error and leaves the card usable, a timer projection that keeps failing shows in the health
 * check and the office's stuck-cards list, and bad bytes, bad names, bad dates, addresses outside
 * the ward, duplicate ids and reused idempotency keys are refused.
 */
import { safeRandomUUID } from '../src/common/my-number.js';
import { accessibilityViolations, launchBrowser, signIn } from './support/browser.js';
import { TestSystem, aCard, eventually } from './support/test-system.js';

describe('card integrity', () => {
  let sys: TestSystem;
  let ward: string, office: string;
  // Test-only refusals: a trigger on card_event refuses the events this table names.
  const poison = `test_poison_${safeRandomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    // A short notice SLA, so that a timer fires (and its projection can be made to fail) in seconds.
    sys = await TestSystem.start({ policy: { noticeSlaMs: 4_000 } });
    [ward, office] = await Promise.all((['ward', 'office'] as const).map((r) => sys.token(r)));
    await sys.ownerSql(`create table ${poison} (card_id text not null, type text, reason text, errcode text not null)`);
    await sys.ownerSql(
      `create function ${poison}_fn() returns trigger language plpgsql as $$
       declare code text;
       begin
         select p.errcode into code from ${poison} p
          where p.card_id = new.card_id and (p.type is null or p.type = new.type) and (p.reason is null or p.reason = new.reason) limit 1;
         if code is not null then raise exception 'refused for a test' using errcode = code; end if;
         return new;
       end $$`,
    );
    await sys.ownerSql(`create trigger ${poison}_trg before insert on card_event for each row execute function ${poison}_fn()`);
  });
  afterAll(async () => {
    await sys.ownerSql(`drop trigger if exists ${poison}_trg on card_event`);
    await sys.ownerSql(`drop function if exists ${poison}_fn()`);
    await sys.ownerSql(`drop table if exists ${poison}`);
    await sys.stop();
  });

  const state = (cardId: string) => sys.sql<{ state: string }>(`select state from card where card_id = ?`, [cardId]).then((r) => r[0]);
  // The card's recorded actions (timer events such as sla_late aside: the short SLA adds them).
  const actions = (cardId: string) =>
    sys.sql<{ type: string }>(`select type from card_event where card_id = ? and type <> 'sla_late' order by seq`, [cardId]).then((r) => r.map((e) => e.type));
  const projected = (cardId: string) => eventually(() => state(cardId), 10_000, cardId);
  const registered = async (overrides: Record<string, unknown> = {}) => {
    const card = aCard(overrides);
    expect((await sys.http('POST', '/api/cards', { token: office, body: card })).json.status).toBe('created');
    await projected(card.cardId);
    return card.cardId;
  };
  const act = (cardId: string, action: string, body: unknown, token = office, headers: Record<string, string> = {}) =>
    sys.http('POST', `/api/cards/${cardId}/actions/${action}`, { token, body, headers });
  const fields = (res: { json: { error: { details?: { fields?: { field: string }[] } } } }) => res.json.error.details?.fields?.map((f) => f.field);

  describe('item 4: a value PostgreSQL refuses never freezes a card', () => {
    it('refuses each freezing input with 400, and the card takes the next action', async () => {
      const cardId = await registered();
      // A NUL in action data, and in a reason.
      const nulData = await act(cardId, 'inspect', { data: { note: 'a\u0000b' } });
      expect([nulData.status, nulData.json.error.code, fields(nulData)]).toEqual([400, 'VALIDATION_FAILED', ['data.note']]);
      const nulReason = await act(cardId, 'pull_out', { reason: 'a\u0000b' }, ward);
      expect([nulReason.status, fields(nulReason)]).toEqual([400, ['reason']]);
      // A 180-character Idempotency-Key (stored as <user>:<key> in 200 characters).
      const longKey = await act(cardId, 'inspect', {}, office, { 'idempotency-key': 'k'.repeat(180) });
      expect([longKey.status, fields(longKey)]).toEqual([400, ['Idempotency-Key']]);
      expect((await state(cardId)).state).toBe('received');
      expect((await act(cardId, 'inspect', {})).status).toBe(200);
      // A 40-character venue id, and one the ward has not configured.
      const longVenue = await act(cardId, 'ship_to_venue', { data: { venueId: 'v'.repeat(40) } });
      expect([longVenue.status, longVenue.json.error.code, fields(longVenue)]).toEqual([400, 'VALIDATION_FAILED', ['data.venueId']]);
      const unknownVenue = await act(cardId, 'ship_to_venue', { data: { venueId: 'nowhere' } });
      expect([unknownVenue.status, fields(unknownVenue)]).toEqual([400, ['data.venueId']]);
      expect(unknownVenue.json.error.details.fields[0].message).toMatch(/not a configured venue/);
      const shipped = await act(cardId, 'ship_to_venue', { data: { venueId: 'kuyakusho' } });
      expect([shipped.status, shipped.json.card.state]).toEqual([200, 'shipped_to_venue']);
      expect(await state(cardId)).toEqual({ state: 'shipped_to_venue' });
      expect(await actions(cardId)).toEqual(['registered', 'inspect', 'ship_to_venue']);
    });

    it('refuses a card expiry of 0000-01-01 instead of answering created and then 404 for ever', async () => {
      const card = aCard({ cardExpiresOn: '0000-01-01' });
      const res = await sys.http('POST', '/api/cards', { token: office, body: card });
      expect([res.status, fields(res)]).toEqual([400, ['cardExpiresOn']]);
      const far = await sys.http('POST', '/api/cards', { token: office, body: aCard({ cardExpiresOn: '2200-01-01' }, { residencePeriodEnd: '1999-12-31' }) });
      expect([far.status, fields(far)?.sort()]).toEqual([400, ['cardExpiresOn', 'resident.residencePeriodEnd']]);
      expect((await sys.http('GET', `/api/cards/${card.cardId}`, { token: ward })).status).toBe(404);
      // The same card with a sane expiry registers and is found.
      const fixed = await sys.http('POST', '/api/cards', { token: office, body: { ...card, cardExpiresOn: '2036-04-01' } });
      expect(fixed.json.status).toBe('created');
      expect(await projected(card.cardId)).toEqual({ state: 'received' });
    });

    it('refuses a booking slot outside 2000..2100', async () => {
      const cardId = await registered();
      const res = await act(cardId, 'reserve', { data: { venueId: 'kuyakusho', startsAt: '0000-01-01T09:00:00Z' } }, ward);
      expect([res.status, fields(res)]).toEqual([400, ['data.startsAt']]);
    });

    it('answers a change the database refuses with an error; the card is unchanged and takes the next action', async () => {
      const cardId = await registered();
      await sys.sql(`insert into ${poison} (card_id, reason, errcode) values (?, 'poisoned', '22023')`, [cardId]);
      const started = Date.now();
      const refused = await act(cardId, 'pull_out', { reason: 'poisoned' }, ward);
      expect([refused.status, refused.json.error.code]).toEqual([422, 'CHANGE_REFUSED']);
      expect(refused.json.error.message).toMatch(/SQLSTATE 22023/);
      // Not retried: a data exception is refused at once.
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(await state(cardId)).toEqual({ state: 'received' });
      expect(await actions(cardId)).toEqual(['registered']);
      expect((await sys.http('GET', `/api/cards/${cardId}`, { token: ward })).json.allowedActions.map((a: { action: string }) => a.action)).toContain('pull_out');
      const held = await act(cardId, 'pull_out', { reason: '区の指示' }, ward);
      expect([held.status, held.json.card.state]).toEqual([200, 'on_hold']);
      expect(await state(cardId)).toEqual({ state: 'on_hold' });
      expect(await actions(cardId)).toEqual(['registered', 'pull_out']);
    });

    it('gives up retrying a failing projection after a few seconds, with 503, and the card takes the next action', async () => {
      const cardId = await registered();
      // P0001 (raise_exception) is not a data exception: retried, a bounded number of times.
      await sys.sql(`insert into ${poison} (card_id, reason, errcode) values (?, 'flaky', 'P0001')`, [cardId]);
      const res = await act(cardId, 'pull_out', { reason: 'flaky' }, ward);
      expect([res.status, res.json.error.code]).toEqual([503, 'CHANGE_NOT_RECORDED']);
      expect((await act(cardId, 'inspect', {})).status).toBe(200);
      expect(await state(cardId)).toEqual({ state: 'inspected' });
      expect(await actions(cardId)).toEqual(['registered', 'inspect']);
    }, 60_000);

    it('shows a card whose timer projection keeps failing in health and in the stuck-cards list, and keeps it usable', async () => {
      const card = aCard();
      // The receipt → notice SLA timer fires 4 s after registration; its event is refused.
      await sys.sql(`insert into ${poison} (card_id, type, errcode) values (?, 'sla_late', '22023')`, [card.cardId]);
      expect((await sys.http('POST', '/api/cards', { token: office, body: card })).json.status).toBe('created');
      const stuck = await eventually(
        async () => (await sys.http('GET', '/api/stuck-cards', { token: office })).json.items.find((c: { cardId: string }) => c.cardId === card.cardId),
        30_000,
        'stuck card listed',
      );
      expect(stuck).toMatchObject({ cardId: card.cardId, seq: 2, state: 'received', error: expect.stringContaining('SQLSTATE 22023') });
      const health = await sys.http('GET', '/api/health');
      expect(health.json.stuckCards.count).toBeGreaterThanOrEqual(1);
      expect((await sys.http('GET', '/api/stuck-cards', { token: ward })).status).toBe(200);
      expect((await sys.http('GET', '/api/stuck-cards', { token: await sys.token('venue') })).status).toBe(403);
      // The office's page lists it, in Japanese.
      const browser = await launchBrowser();
      try {
        const page = await (await browser.newContext({ locale: 'ja-JP' })).newPage();
        await signIn(page, sys.baseUrl, await sys.webUser('office'));
        await page.getByRole('link', { name: '記録できないカード' }).click();
        await page.getByRole('heading', { name: '記録できないカード' }).waitFor();
        const row = page.getByRole('row').filter({ hasText: card.cardId });
        expect(await row.innerText()).toMatch(/受領.*データベースが値を受け付けませんでした（SQLSTATE 22023）/s);
        expect(await accessibilityViolations(page)).toEqual([]);
      } finally {
        await browser.close();
      }
      // Not blocked: the card still takes actions while its timer cannot be recorded.
      const inspected = await act(card.cardId, 'inspect', {});
      expect([inspected.status, inspected.json.card.state]).toEqual([200, 'inspected']);
      expect((await sys.sql(`select 1 from card_stuck where card_id = ?`, [card.cardId])).length).toBe(1);
      // Once the database takes the event again, the next change records it and the card leaves the list.
      await sys.sql(`delete from ${poison} where card_id = ?`, [card.cardId]);
      expect((await act(card.cardId, 'ship_to_venue', {})).status).toBe(200);
      await eventually(async () => (await sys.sql(`select 1 from card_stuck where card_id = ?`, [card.cardId])).length === 0, 20_000, 'unstuck');
      const types = await eventually(async () => {
        const rows = await sys.sql<{ type: string }>(`select type from card_event where card_id = ? order by seq`, [card.cardId]);
        return rows.some((r) => r.type === 'sla_late') && rows.map((r) => r.type);
      }, 20_000, 'sla_late recorded');
      expect(types).toEqual(['registered', 'inspect', 'ship_to_venue', 'sla_late']);
    }, 90_000);

    it('describes each action’s data in the OpenAPI document', async () => {
      const doc = (await sys.http('GET', '/api/docs-json')).json;
      const op = doc.paths['/api/cards/{cardId}/actions/{action}'].post;
      const body = op.requestBody.content['application/json'].schema;
      const titles = body.properties.data.anyOf.map((s: { title: string }) => s.title).join(' | ');
      expect(titles).toMatch(/reserve/);
      expect(titles).toMatch(/reject_proposal/);
      expect(titles).toMatch(/ship_to_venue/);
      expect(op.description).toMatch(/`reserve`: .*startsAt/);
      expect(body.properties.reason.maxLength).toBe(2000);
    });
  });

  describe('item 8: bad bytes, bad names, dates, addresses, duplicates and reused keys are refused', () => {
    const stored = async (...cardIds: string[]) =>
      Number((await sys.sql<{ n: string }>(`select count(*) n from card_resident where card_id = any(?::text[])`, [`{${cardIds.join(',')}}`]))[0].n);

    it('refuses a body that is not UTF-8, and a lone surrogate in a JSON string', async () => {
      const card = aCard();
      const json = Buffer.from(JSON.stringify(card), 'utf8');
      const bad = Buffer.concat([json.subarray(0, json.indexOf('江')), Buffer.from([0x8d, 0x5d]), json.subarray(json.indexOf('江') + 3)]);
      const res = await fetch(`${sys.baseUrl}/api/cards`, { method: 'POST', headers: { authorization: `Bearer ${office}`, 'content-type': 'application/json' }, body: bad });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('BAD_REQUEST');
      const lone = JSON.stringify(card).replace('江東 太郎', '江東 \\ud800');
      const surrogate = await sys.http('POST', '/api/cards', { token: office, body: lone });
      expect([surrogate.status, surrogate.json.error.code, surrogate.json.error.details.fields[0].field]).toEqual([400, 'VALIDATION_FAILED', 'resident.name']);
      expect(await stored(card.cardId)).toBe(0);
    });

    it('refuses names with bidi overrides, control characters or nothing visible, naming the field', async () => {
      const cases: [Record<string, unknown>, string][] = [
        [{ name: '江東\u202Eウロタ' }, 'resident.name'],
        [{ name: '江東\u0007太郎' }, 'resident.name'],
        [{ name: '\u200B\u3000\u200B' }, 'resident.name'],
        [{ commonName: 'a\u0000b' }, 'resident.commonName'],
        [{ address: '江東区\u2066東陽' }, 'resident.address'],
      ];
      for (const [resident, field] of cases) {
        const card = aCard({}, resident);
        const res = await sys.http('POST', '/api/cards', { token: office, body: card });
        expect([JSON.stringify(resident), res.status, fields(res)]).toEqual([JSON.stringify(resident), 400, [field]]);
        expect(await stored(card.cardId)).toBe(0);
      }
    });

    it('refuses a birth date in the future or before 1900', async () => {
      const tomorrow = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);
      for (const birthDate of [tomorrow, '1899-12-31', '0000-01-01']) {
        const res = await sys.http('POST', '/api/cards', { token: office, body: aCard({}, { birthDate }) });
        expect([birthDate, res.status, fields(res)]).toEqual([birthDate, 400, ['resident.birthDate']]);
      }
    });

    it('refuses a postal code outside the ward, naming it', async () => {
      const card = aCard({}, { postalCode: '100-0001' });
      const res = await sys.http('POST', '/api/cards', { token: office, body: card });
      expect([res.status, fields(res)]).toEqual([400, ['resident.postalCode']]);
      expect(res.json.error.details.fields[0].message).toMatch(/postal code 100-0001 is not in the ward's allocation/);
      const batch = await sys.http('POST', '/api/cards', { token: office, body: { cards: [aCard(), card] } });
      expect([batch.status, fields(batch)]).toEqual([400, ['cards[1].resident.postalCode']]);
      expect(await stored(card.cardId)).toBe(0);
    });

    it('refuses a batch that holds a card id twice, naming both rows', async () => {
      const [a, b] = [aCard(), aCard({}, { name: '江東 花子' })];
      const res = await sys.http('POST', '/api/cards', { token: office, body: { cards: [a, aCard(), { ...b, cardId: a.cardId }] } });
      expect([res.status, fields(res)]).toEqual([400, ['cards[2].cardId']]);
      expect(res.json.error.details.fields[0].message).toMatch(/cards\[0\]/);
      expect(await stored(a.cardId)).toBe(0);
    });

    it('answers 422 to an Idempotency-Key reused for another request; the same request still gets the first answer', async () => {
      const [one, two] = [await registered(), await registered()];
      const key = safeRandomUUID();
      const first = await act(one, 'pull_out', { reason: '区の指示' }, ward, { 'idempotency-key': key });
      expect(first.status).toBe(200);
      const again = await act(one, 'pull_out', { reason: '区の指示' }, ward, { 'idempotency-key': key });
      expect([again.status, again.json]).toEqual([200, first.json]);
      for (const [cardId, action, body] of [
        [one, 'pull_out', { reason: '別の理由' }],
        [one, 'release_hold', {}],
        [two, 'pull_out', { reason: '区の指示' }],
      ] as const) {
        const reused = await act(cardId, action, body, ward, { 'idempotency-key': key });
        expect([reused.status, reused.json.error.code]).toEqual([422, 'IDEMPOTENCY_KEY_REUSED']);
        expect(reused.json.error.message).toMatch(/used for/);
      }
      expect(await actions(one)).toEqual(['registered', 'pull_out']);
      expect(await actions(two)).toEqual(['registered']);
      // A key whose request was refused (nothing applied) may be sent again, fixed.
      const fixKey = safeRandomUUID();
      expect((await act(two, 'pull_out', {}, ward, { 'idempotency-key': fixKey })).json.error.code).toBe('REASON_REQUIRED');
      expect((await act(two, 'pull_out', { reason: '区の指示' }, ward, { 'idempotency-key': fixKey })).status).toBe(200);
      // Another user's same key is theirs.
      expect((await act(two, 'release_hold', {}, await sys.token('ward'), { 'idempotency-key': key })).status).toBe(200);
    });
  });
});
