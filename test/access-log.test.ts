/**
 * The access log an auditor can use (issue 7, items 9 and 13): the application's database role
 * cannot rewrite or empty the log; exports record the ids of every exported card; refused reads
 * and views of the log itself are recorded; the log reads in order (ids as numbers) with paging,
 * times to the second, Japanese labels and partial, case-insensitive filters.
 */
import type { Browser, Page } from 'playwright-core';
import { safeRandomUUID, isValidMyNumber } from '../src/common/my-number.js';
import { openOrm } from '../src/database/database.js';
import { ACTION_DEFINITIONS } from '../workflows/card-state-machine.js';
import { launchBrowser, signIn } from './support/browser.js';
import { TestSystem, aCard, eventually } from './support/test-system.js';

describe('access log', () => {
  let sys: TestSystem;
  let browser: Browser;
  let auditorPage: Page;
  let auditor: { username: string; password: string };
  const kuyakusho = aCard({}, { name: '記録 一郎', nameKana: 'キロク イチロウ' });
  const toyosu = aCard({}, { name: '記録 二郎', nameKana: 'キロク ジロウ', postalCode: '135-0061' });

  beforeAll(async () => {
    sys = await TestSystem.start();
    browser = await launchBrowser();
    const office = await sys.token('office');
    await sys.http('POST', '/api/cards', { token: office, body: { cards: [kuyakusho, toyosu] } });
    await eventually(async () => (await sys.sql(`select count(*)::int n from card where card_id in (?, ?)`, [kuyakusho.cardId, toyosu.cardId]))[0].n === 2);
    auditor = await sys.webUser('auditor');
    auditorPage = await (await browser.newContext({ locale: 'ja-JP' })).newPage();
    await signIn(auditorPage, sys.baseUrl, auditor);
  });
  afterAll(async () => {
    await browser?.close();
    await sys?.stop();
  });

  const entries = (where: string, params: unknown[]) =>
    sys.sql<{ id: string; kind: string; user_id: string; channel: string; card_ids: string[]; detail: string }>(
      `select id::text, kind, user_id, channel, card_ids, detail from access_log where ${where} order by access_log.id`,
      params,
    );

  describe('the database role of the application', () => {
    it('is not a superuser and owns no table', async () => {
      const [me] = await sys.sql<{ user: string; rolsuper: boolean; owned: number }>(
        `select current_user as user, r.rolsuper, (select count(*)::int from pg_tables where tableowner = current_user) owned from pg_roles r where r.rolname = current_user`,
      );
      expect(me).toEqual({ user: 'cards_app', rolsuper: false, owned: 0 });
    });

    it.each([
      ['TRUNCATE', `truncate access_log`],
      ['UPDATE', `update access_log set detail = 'rewritten' where id = (select max(id) from access_log)`],
      ['DELETE', `delete from access_log where id = (select max(id) from access_log)`],
      ['ALTER TABLE … DISABLE TRIGGER', `alter table access_log disable trigger access_log_append_only`],
      ['ALTER TABLE … DISABLE TRIGGER ALL', `alter table access_log disable trigger all`],
    ])('cannot %s the access log', async (_what, statement) => {
      const before = await sys.sql<{ n: number }>(`select count(*)::int n from access_log`);
      await expect(sys.sql(statement)).rejects.toThrow(/permission denied|must be owner/);
      const after = await sys.sql<{ n: number }>(`select count(*)::int n from access_log`);
      expect(after[0].n).toBeGreaterThanOrEqual(before[0].n);
    });

    it('can read and append', async () => {
      const user = `append-${safeRandomUUID().slice(0, 8)}`;
      await sys.sql(`insert into access_log (user_id, role, channel, kind, detail) values (?, 'auditor', 'cli', 'read', 'x')`, [user]);
      expect(await entries('user_id = ?', [user])).toHaveLength(1);
    });

    it('even the owner cannot TRUNCATE the log: a trigger refuses it', async () => {
      const owner = await openOrm(process.env.MIGRATION_DATABASE_URL!);
      try {
        await expect(
          owner.em.fork().transactional(async (em) => {
            await em.execute(`truncate access_log`);
            throw new Error('the truncate went through');
          }),
        ).rejects.toThrow(/append-only/);
      } finally {
        await owner.close();
      }
    });
  });

  it('an export records the ids of every exported card', async () => {
    const exporter = `exporter-${safeRandomUUID().slice(0, 6)}`;
    const office = await sys.token('office', exporter);
    const res = await sys.http('GET', `/api/cards.csv?nameKana=${encodeURIComponent('キロク')}`, { token: office });
    expect(res.status).toBe(200);
    const exported = res.text
      .split('\r\n')
      .slice(1)
      .filter(Boolean)
      .map((line) => line.split(',')[0]);
    expect(exported.sort()).toEqual([kuyakusho.cardId, toyosu.cardId].sort());
    const logged = await eventually(async () => {
      const rows = await entries(`kind = 'export' and user_id = ?`, [exporter]);
      return rows.length > 0 && rows;
    });
    expect(logged.flatMap((r) => r.card_ids).sort()).toEqual(exported.sort());
    expect(logged.at(-1)!.detail).toMatch(/^csv export of 2 cards/);
  });

  it('records refused reads of card URLs: 404 for another venue, unknown cards, 403 for a role, on the API and the pages', async () => {
    const venueUser = `venue-refused-${safeRandomUUID().slice(0, 6)}`;
    const venue = await sys.token('venue', venueUser, 'kuyakusho');
    expect((await sys.http('GET', `/api/cards/${toyosu.cardId}`, { token: venue })).status).toBe(404);
    const callcenterUser = `cc-refused-${safeRandomUUID().slice(0, 6)}`;
    const callcenter = await sys.token('callcenter', callcenterUser);
    expect((await sys.http('GET', `/api/cards/${kuyakusho.cardId}/history`, { token: callcenter })).status).toBe(403);
    // A My Number in the URL is refused too, but never written to the log.
    let myNumber = 100000000000;
    while (!isValidMyNumber(String(myNumber))) myNumber++;
    expect((await sys.http('GET', `/api/cards/${myNumber}`, { token: callcenter })).status).toBeGreaterThanOrEqual(400);

    // Written when the response has finished: wait for both.
    const apiRefusals = await eventually(async () => {
      const rows = await entries(`kind = 'refused' and user_id in (?, ?)`, [venueUser, callcenterUser]);
      return rows.some((r) => r.user_id === venueUser) && rows.some((r) => r.detail.endsWith('403')) && rows;
    });
    expect(apiRefusals).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ user_id: venueUser, channel: 'api', card_ids: [toyosu.cardId], detail: 'GET /api/cards/:cardId 404' }),
        expect.objectContaining({ user_id: callcenterUser, channel: 'api', card_ids: [kuyakusho.cardId], detail: 'GET /api/cards/:cardId/history 403' }),
      ]),
    );
    expect(JSON.stringify(await entries(`user_id = ?`, [callcenterUser]))).not.toContain(String(myNumber));

    const page = await (await browser.newContext({ locale: 'ja-JP' })).newPage();
    const webVenue = await sys.webUser('venue', { venueId: 'kuyakusho' });
    await signIn(page, sys.baseUrl, webVenue);
    expect((await page.goto(`${sys.baseUrl}/cards/${toyosu.cardId}`))!.status()).toBe(404);
    expect((await page.goto(`${sys.baseUrl}/cards/${toyosu.cardId}/history`))!.status()).toBe(403);
    const pageRefusals = await eventually(async () => {
      const rows = await entries(`kind = 'refused' and user_id = ?`, [webVenue.username]);
      return rows.length >= 2 && rows;
    });
    expect(pageRefusals.map((r) => [r.channel, r.card_ids, r.detail]).sort()).toEqual([
      ['web', [toyosu.cardId], 'GET /cards/:cardId 404'],
      ['web', [toyosu.cardId], 'GET /cards/:cardId/history 403'],
    ]);
    await page.close();
  });

  it("writes an action's row with its idempotency fingerprint before the action is applied, and a second row when it is refused", async () => {
    const card = aCard({}, { name: '記録 三郎', nameKana: 'キロク サブロウ' });
    const officeUser = `office-acts-${safeRandomUUID().slice(0, 6)}`;
    const office = await sys.token('office', officeUser);
    await sys.http('POST', '/api/cards', { token: office, body: { cards: [card] } });
    const act = (action: string, key: string) =>
      sys.http('POST', `/api/cards/${card.cardId}/actions/${action}`, { token: office, body: {}, headers: { 'idempotency-key': key } });
    const xminOf = async (table: string, where: string, params: unknown[]) => (await sys.sql<{ x: string }>(`select xmin::text x from ${table} where ${where}`, params)).map((r) => r.x);

    const applied = safeRandomUUID();
    expect((await act('inspect', applied)).status).toBe(200);
    const [first] = await entries(`user_id = ? and kind = 'change'`, [officeUser]);
    expect(first).toEqual(expect.objectContaining({ kind: 'change', channel: 'api', card_ids: [card.cardId], detail: 'inspect' }));
    // One statement, one transaction: the row and the key's fingerprint.
    expect(await xminOf('access_log', 'id = ?::bigint', [first.id])).toEqual(await xminOf('idempotency_fingerprint', 'key = ?', [applied]));
    // Written before the workflow applied the action.
    const [{ logged, applied: at }] = await sys.sql<{ logged: Date; applied: Date }>(
      `select (select at from access_log where id = ?::bigint) logged, (select at from card_event where card_id = ? and type = 'inspect') applied`,
      [first.id, card.cardId],
    );
    expect(new Date(logged).getTime()).toBeLessThanOrEqual(new Date(at).getTime());

    // Refused by the card (already inspected): the attempt's row, then the refusal's; the key is free again.
    const refused = safeRandomUUID();
    const res = await act('inspect', refused);
    expect(res.status).toBeGreaterThanOrEqual(400);
    // A key reused for another action: refused before anything is sent, and logged so.
    expect((await act('ship_to_venue', applied)).status).toBe(422);
    expect((await entries(`user_id = ? and kind = 'change'`, [officeUser])).map((r) => r.detail)).toEqual([
      'inspect',
      'inspect',
      `inspect: refused (${res.json.error.code})`,
      'ship_to_venue',
      'ship_to_venue: refused (IDEMPOTENCY_KEY_REUSED)',
    ]);
    expect(await xminOf('idempotency_fingerprint', 'key = ?', [refused])).toEqual([]);
  });

  it('records who viewed the access log, with the filter used', async () => {
    const res = await auditorPage.goto(`${sys.baseUrl}/access-log?card=${kuyakusho.cardId}`);
    expect(res!.status()).toBe(200);
    const views = await eventually(async () => {
      const rows = await entries(`kind = 'access_log' and user_id = ?`, [auditor.username]);
      return rows.length > 0 && rows;
    });
    expect(views.at(-1)!.detail).toContain(kuyakusho.cardId);
  });

  describe('reading the log', () => {
    const pager = `Pager-${safeRandomUUID().slice(0, 8)}`;
    let inserted: string[];

    beforeAll(async () => {
      // More than 1,000 entries whose ids cross a power of ten (e.g. 999 → 1000), where text order and number order part.
      const [{ cur }] = await sys.sql<{ cur: string }>(`select nextval('access_log_id_seq')::text cur`);
      const power = 10n ** BigInt(String(BigInt(cur) + 600n).length);
      await sys.sql(`select nextval('access_log_id_seq') from generate_series(1, ?::int)`, [Number(power - 550n - BigInt(cur))]);
      const rows = await sys.sql<{ id: string }>(
        `insert into access_log (user_id, role, channel, kind, card_ids, detail, at)
         select ?, 'ward', 'web', 'read', array['PAGER-' || g], 'card page', now() - (g || ' seconds')::interval from generate_series(1, 1100) g
         returning id::text`,
        [pager],
      );
      inserted = rows.map((r) => r.id).sort((a, b) => (BigInt(b) > BigInt(a) ? 1 : -1));
      expect(BigInt(inserted.at(-1)!)).toBeLessThan(power);
      expect(BigInt(inserted[0])).toBeGreaterThanOrEqual(power);
    });

    it('walks every entry in order, newest first, page by page', async () => {
      const seen: string[] = [];
      // Partial and case-insensitive: the lower-case tail of the user name finds them.
      let url: string | undefined = `/access-log?user=${pager.slice(2).toLowerCase()}`;
      let pages = 0;
      while (url) {
        expect((await auditorPage.goto(`${sys.baseUrl}${url}`))!.status()).toBe(200);
        seen.push(...(await auditorPage.locator('tbody tr[data-id]').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-id')!))));
        const next = auditorPage.getByRole('link', { name: 'さらに古い記録' });
        url = (await next.count()) > 0 ? ((await next.getAttribute('href')) ?? undefined) : undefined;
        pages++;
        expect(pages).toBeLessThan(10);
      }
      expect(seen).toEqual(inserted);
    });

    it('exports the CSV in the same order', async () => {
      const res = await auditorPage.request.get(`${sys.baseUrl}/access-log.csv?user=${pager.toUpperCase()}`);
      expect(res.status()).toBe(200);
      const ids = (await res.text())
        .replace(/^\uFEFF/, '')
        .split('\r\n')
        .slice(1)
        .filter(Boolean)
        .map((line) => line.split(',')[0]);
      expect(ids).toEqual(inserted);
    });

    it('filters cards by part of the id, in any case', async () => {
      await auditorPage.goto(`${sys.baseUrl}/access-log?user=${pager}&card=${encodeURIComponent('pager-107')}`);
      const cards = await auditorPage.locator('tbody tr[data-id] td:nth-child(5)').allTextContents();
      expect(cards.map((c) => c.trim()).sort()).toEqual(['PAGER-107', 'PAGER-1070', 'PAGER-1071', 'PAGER-1072', 'PAGER-1073', 'PAGER-1074', 'PAGER-1075', 'PAGER-1076', 'PAGER-1077', 'PAGER-1078', 'PAGER-1079']);
    });

    it('answers 400 for a `before` that is not a positive id within bigint', async () => {
      for (const before of ['9223372036854775808', '99999999999999999999', '0', '-1', '1e3', 'abc']) {
        const res = await auditorPage.request.get(`${sys.baseUrl}/access-log?before=${before}`);
        expect([before, res.status()]).toEqual([before, 400]);
        const csv = await auditorPage.request.get(`${sys.baseUrl}/access-log.csv?before=${before}`);
        expect([before, csv.status()]).toEqual([before, 400]);
      }
      expect((await auditorPage.request.get(`${sys.baseUrl}/access-log?before=9223372036854775807`)).status()).toBe(200);
    });
  });

  it('shows times to the second and kinds and actions in Japanese', async () => {
    const user = `labels-${safeRandomUUID().slice(0, 8)}`;
    await sys.sql(
      `insert into access_log (user_id, role, channel, kind, card_ids, detail, at) values
         (?, 'office', 'web', 'change', '{}', 'hand_to_ward', '2026-03-04T05:06:07Z'),
         (?, 'office', 'web', 'read', '{}', 'card page', '2026-03-04T05:06:08Z')`,
      [user, user],
    );
    await auditorPage.goto(`${sys.baseUrl}/access-log?user=${user}`);
    const rows = await auditorPage.locator('tbody tr[data-id]').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent!.trim())));
    expect(rows.map((r) => [r[0], r[2], r[5]])).toEqual([
      ['2026/03/04 14:06:08', '閲覧', 'カード画面'],
      ['2026/03/04 14:06:07', '変更', ACTION_DEFINITIONS.hand_to_ward.label],
    ]);
  });
});
