/**
 * The guards at the edge, over HTTP on real PostgreSQL and Temporal: individual numbers in every
 * spelling and every place that is stored or logged (path, headers, body), bad input answered with
 * 400 in the one JSON error shape (never a 500, never HTML on /api), request ids, and what the CSV
 * exports write (formula cells neutralised, Shift_JIS substitutions reported, file names).
 */
import iconv from 'iconv-lite';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, signIn } from './support/browser.js';
import { TestSystem, aCard, eventually } from './support/test-system.js';

const NUMBER = '102938475617'; // a valid check digit
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const errorShape = (code: string) => ({ error: expect.objectContaining({ code, message: expect.any(String) }), requestId: expect.stringMatching(UUID) });

describe('guards at the edge', () => {
  let sys: TestSystem;
  let office: string, ward: string, auditor: string;

  beforeAll(async () => {
    sys = await TestSystem.start();
    [office, ward, auditor] = await Promise.all((['office', 'ward', 'auditor'] as const).map((r) => sys.token(r)));
  });
  afterAll(() => sys.stop());

  const projected = (cardId: string) => eventually(async () => (await sys.sql(`select state from card where card_id = ?`, [cardId]))[0], 10_000, cardId);
  /** Rows anywhere in the access log or the residents that hold the number's digits. */
  const traces = async () =>
    Number(
      (
        await sys.sql<{ n: string }>(
          `select (select count(*) from access_log a where a::text like ?) + (select count(*) from card_resident r where r::text like ?) as n`,
          ['%1029%3847%5617%', '%1029%3847%5617%'],
        )
      )[0].n,
    );

  describe('individual numbers', () => {
    it('are refused in a path parameter, never echoed, and never reach the access log', async () => {
      for (const path of [`/api/cards/${NUMBER}`, `/api/cards/1029%E2%80%8B3847%E2%80%8B5617`, `/api/cards/${NUMBER}/history`, `/api/cards/K-${NUMBER}/actions/inspect`]) {
        const r = await sys.http(path.endsWith('inspect') ? 'POST' : 'GET', path, { token: ward, body: path.endsWith('inspect') ? {} : undefined });
        expect({ path, status: r.status }).toEqual({ path, status: 422 });
        expect(r.json).toEqual(errorShape('MY_NUMBER_REFUSED'));
        expect(r.text).not.toContain(NUMBER);
        expect(r.text).not.toContain('3847');
      }
      expect(await traces()).toBe(0);
    });

    it('are refused in the Idempotency-Key (a UUID included) and never reach Temporal history', async () => {
      const card = aCard();
      expect((await sys.http('POST', '/api/cards', { token: office, body: card })).status).toBe(200);
      await projected(card.cardId);
      for (const key of [`retry-${NUMBER}`, '3f2a9c1e-4b1d-4c2e-8a3b-102938475617', '1029\u00ad3847\u00ad5617']) {
        const r = await sys.http('POST', `/api/cards/${card.cardId}/actions/inspect`, { token: office, body: {}, headers: { 'idempotency-key': key } });
        expect(r.status).toBe(422);
        expect(r.json).toEqual(errorShape('MY_NUMBER_REFUSED'));
        expect(r.text).not.toContain(NUMBER);
      }
      // A clean key works, and the card's history holds none of the refused keys.
      expect((await sys.http('POST', `/api/cards/${card.cardId}/actions/inspect`, { token: office, body: {}, headers: { 'idempotency-key': 'clean-key-1' } })).status).toBe(200);
      const history = JSON.stringify(await sys.client.workflow.getHandle(`card-${card.cardId}`).fetchHistory());
      expect(history).toContain('clean-key-1');
      expect(history.replace(/[^0-9]/g, '')).not.toContain(NUMBER);
      expect(await traces()).toBe(0);
    });

    it('in the X-Request-Id header are never used: the server makes the id', async () => {
      const clean = '0f8fad5b-d9cb-469f-a165-70867728950e';
      const cases: [string, (id: string) => boolean][] = [
        [`req-${NUMBER}`, (id) => id !== `req-${NUMBER}`],
        ['3f2a9c1e-4b1d-4c2e-8a3b-102938475617', (id) => !id.endsWith(NUMBER)],
        ['free text', (id) => id !== 'free text'],
        [clean, (id) => id === clean],
      ];
      for (const [given, ok] of cases) {
        const r = await sys.http('GET', '/api/cards?limit=1', { token: office, headers: { 'x-request-id': given } });
        expect(r.status).toBe(200);
        const id = r.headers.get('x-request-id')!;
        expect(id).toMatch(UUID);
        expect({ given, ok: ok(id) }).toEqual({ given, ok: true });
        const logged = await sys.sql<{ request_id: string }>(`select request_id from access_log where request_id = ?`, [id]);
        expect(logged).toHaveLength(1);
      }
      expect(await traces()).toBe(0);
    });

    it('are refused in the body in every spelling that got past before', async () => {
      const spellings = ['1029\u200b3847\u200b5617', '1029\u00ad3847\u00ad5617', '1029  3847  5617', '1029.3847.5617', '3f2a9c1e-4b1d-4c2e-8a3b-102938475617'];
      for (const s of spellings) {
        const card = aCard({}, { address: `江東区東陽 ${s}` });
        const r = await sys.http('POST', '/api/cards', { token: office, body: card });
        expect({ s, status: r.status, code: r.json?.error?.code }).toEqual({ s, status: 422, code: 'MY_NUMBER_REFUSED' });
      }
      expect(await traces()).toBe(0);
    });
  });

  describe('bad input answers 400 in the JSON error shape, never 500 or HTML', () => {
    it('year-0000 dates in a body and in search and export filters', async () => {
      const body = await sys.http('POST', '/api/cards', { token: office, body: aCard({}, { birthDate: '0000-01-01' }) });
      expect(body.status).toBe(400);
      expect(body.json).toEqual(errorShape(body.json.error.code));
      for (const f of ['receivedFrom', 'receivedTo', 'noticeMailedFrom', 'expiresTo']) {
        const r = await sys.http('GET', `/api/cards?${f}=0000-01-01`, { token: office });
        expect({ f, status: r.status }).toEqual({ f, status: 400 });
        expect(r.json).toEqual(errorShape('VALIDATION_FAILED'));
      }
      // The export is validated before any header: a JSON error, not a cut-off download.
      const csv = await sys.http('GET', '/api/cards.csv?receivedFrom=0000-01-01', { token: office });
      expect(csv.status).toBe(400);
      expect(csv.headers.get('content-type')).toMatch(/^application\/json/);
      expect(csv.json).toEqual(errorShape('VALIDATION_FAILED'));
    });

    it('a NUL in a name', async () => {
      for (const resident of [{ name: '江東\u0000太郎' }, { commonName: 'a\u0000b' }]) {
        const card = aCard({}, resident);
        const r = await sys.http('POST', '/api/cards', { token: office, body: card });
        expect(r.status).toBe(400);
        expect(r.json).toEqual(errorShape(r.json.error.code));
        expect((await sys.sql(`select 1 from card_resident where card_id = ?`, [card.cardId])).length).toBe(0);
      }
    });

    it('a hand-made search cursor', async () => {
      const cursor = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
      for (const [sort, c] of [
        ['receivedAt', cursor(['not a time', 'K1'])],
        ['receivedAt', cursor(['0000-01-01T00:00:00.000Z', 'K1'])],
        ['expiresOn', cursor(['2026-02-31', 'K1'])],
        ['nameKana', cursor(['ア\u0000', 'K1'])],
        ['cardId', cursor([null, "K1'; --"])],
        ['cardId', 'not-base64-json'],
      ]) {
        const r = await sys.http('GET', `/api/cards?sort=${sort}&cursor=${encodeURIComponent(c)}`, { token: office });
        expect({ sort, c, status: r.status }).toEqual({ sort, c, status: 400 });
        expect(r.json).toEqual(errorShape('BAD_CURSOR'));
      }
    });

    it('JSON nested 20,000 deep', async () => {
      const deep = '['.repeat(20_000) + ']'.repeat(20_000);
      for (const path of ['/api/cards', '/api/cards/K1/actions/inspect']) {
        const r = await sys.http('POST', path, { token: office, body: deep });
        expect({ path, status: r.status }).toEqual({ path, status: 400 });
        expect(r.headers.get('content-type')).toMatch(/^application\/json/);
        expect(r.json).toEqual(errorShape('VALIDATION_FAILED'));
      }
    });

    it('unknown /api routes answer 404 JSON; body-parser errors carry a request id', async () => {
      const unknown = await sys.http('GET', '/api/nonexistent', { token: office });
      expect(unknown.status).toBe(404);
      expect(unknown.headers.get('content-type')).toMatch(/^application\/json/);
      expect(unknown.json).toEqual(errorShape('NOT_FOUND'));
      const bad = await sys.http('POST', '/api/cards', { token: office, body: '{"cardId": ' });
      expect(bad.status).toBe(400);
      expect(bad.json).toEqual(errorShape('BAD_REQUEST'));
      expect(bad.headers.get('x-request-id')).toBe(bad.json.requestId);
      const tooLarge = await sys.http('POST', '/api/cards', { token: office, body: JSON.stringify({ x: 'a'.repeat(3 * 1024 * 1024) }) });
      expect(tooLarge.status).toBe(413);
      expect(tooLarge.json).toEqual(errorShape('PAYLOAD_TOO_LARGE'));
      const charset = await sys.http('POST', '/api/cards', { token: office, body: '{}', headers: { 'content-type': 'application/json; charset=x-unknown' } });
      expect(charset.status).toBe(415);
      expect(charset.json).toEqual(errorShape('UNSUPPORTED_MEDIA_TYPE'));
      const noAuth = await sys.http('GET', '/api/cards');
      expect(noAuth.json.requestId).toMatch(UUID);
    });
  });

  describe('CSV exports', () => {
    const formula = '=HYPERLINK("http://x","y")';
    let formulaCard: ReturnType<typeof aCard>;
    let yoshiCard: ReturnType<typeof aCard>;
    let plainCard: ReturnType<typeof aCard>;
    beforeAll(async () => {
      formulaCard = aCard({ cardId: `F${Date.now().toString(36).toUpperCase()}` }, { name: formula, address: '@SUM(1+1)', phone: '+81-3-3647-9111' });
      yoshiCard = aCard({}, { name: '𠮷田 花子', address: '江東区東陽4-11-28 髙橋ビル' });
      plainCard = aCard();
      const r = await sys.http('POST', '/api/cards', { token: office, body: { cards: [formulaCard, yoshiCard, plainCard] } });
      expect(r.status).toBe(200);
      await Promise.all([formulaCard, yoshiCard, plainCard].map((c) => projected(c.cardId)));
    });
    const lineOf = (text: string, cardId: string) => text.split('\r\n').find((l) => l.startsWith(cardId))!;

    it('neutralise cells that a spreadsheet would run as a formula', async () => {
      const r = await sys.http('GET', `/api/cards.csv?receivedFrom=2000-01-01`, { token: office });
      expect(r.status).toBe(200);
      const line = lineOf(r.text, formulaCard.cardId);
      expect(line).toContain(`"'=HYPERLINK(""http://x"",""y"")"`);
      expect(line).toContain(`'@SUM(1+1)`);
      expect(line).toContain(`'+81-3-3647-9111`);
      expect(line).not.toMatch(/,=HYPERLINK|,"=HYPERLINK/);
    });

    it('in Shift_JIS write 〓 for what it cannot hold, count the cards and list them', async () => {
      const r = await fetch(`${sys.baseUrl}/api/cards.csv?encoding=sjis&receivedFrom=2000-01-01`, { headers: { authorization: `Bearer ${office}` } });
      expect(r.status).toBe(200);
      const text = iconv.decode(Buffer.from(await r.arrayBuffer()), 'cp932');
      const line = lineOf(text, yoshiCard.cardId);
      expect(line).toContain('〓田 花子');
      expect(line).toContain('髙橋ビル'); // in cp932 (an IBM extension): kept
      expect(line).not.toContain('?');
      const count = Number(r.headers.get('x-substituted-cards'));
      expect(count).toBeGreaterThanOrEqual(1);
      const list = await sys.http('GET', `/api/cards-substituted.csv?receivedFrom=2000-01-01`, { token: office });
      expect(list.status).toBe(200);
      const rows = list.text.replace(/^\uFEFF/, '').trim().split('\r\n');
      expect(rows[0]).toBe('card_id,columns');
      expect(rows).toContain(`${yoshiCard.cardId},name`);
      expect(rows.some((l) => l.startsWith(plainCard.cardId) || l.startsWith(formulaCard.cardId))).toBe(false);
      expect(rows).toHaveLength(count + 1);
      const logged = await sys.sql<{ card_ids: string[] }>(`select card_ids from access_log where request_id = ?`, [list.headers.get('x-request-id')]);
      expect(logged[0].card_ids).toContain(yoshiCard.cardId);
    });

    it('are named by what they hold and when', async () => {
      const r = await sys.http('GET', `/api/cards.csv?state=received&route=pickup&nameKana=${encodeURIComponent('コウトウ')}`, { token: auditor });
      expect(r.status).toBe(200);
      const disposition = r.headers.get('content-disposition')!;
      expect(disposition).toMatch(/^attachment; filename="cards-route-pickup_state-received_nameKana-\d{8}-\d{4}\.csv"; filename\*=UTF-8''cards-route-pickup_state-received_nameKana-\d{8}-\d{4}\.csv$/);
      expect(disposition).not.toContain('%E3%82%B3'); // never the name searched for
      const sjis = await sys.http('GET', `/api/cards.csv?encoding=sjis`, { token: auditor });
      expect(sjis.headers.get('content-disposition')).toMatch(/filename="cards-all-\d{8}-\d{4}-sjis\.csv"/);
    });

    describe('on the staff pages', () => {
      let browser: Browser;
      let page: Page;
      beforeAll(async () => {
        browser = await launchBrowser();
        page = await (await browser.newContext({ locale: 'ja-JP' })).newPage();
        await signIn(page, sys.baseUrl, await sys.webUser('auditor'));
      });
      afterAll(() => browser?.close());

      it('use Japanese headings and Tokyo times, neutralise formulas, and name the file in Japanese', async () => {
        const r = await page.request.get(`${sys.baseUrl}/cards.csv?receivedFrom=2000-01-01`);
        expect(r.status()).toBe(200);
        const text = (await r.body()).toString('utf8').replace(/^\uFEFF/, '');
        expect(text.split('\r\n')[0]).toBe('カード番号,交付方式コード,交付方式,状態コード,状態,交付会場,期限超過,提案,受付日時,通知書発送日時,再通知日時,交付日時,有効期限,予約番号,氏名,氏名（カナ）,生年月日,郵便番号,住所,電話番号');
        const line = lineOf(text, formulaCard.cardId);
        expect(line).toContain(`"'=HYPERLINK(""http://x"",""y"")"`);
        const received = (await sys.sql<{ at: string }>(`select to_char(received_at at time zone 'Asia/Tokyo', 'YYYY-MM-DD HH24:MI:SS') as at from card where card_id = ?`, [formulaCard.cardId]))[0].at;
        expect(line).toContain(`,${received},`);
        expect(r.headers()['content-disposition']).toMatch(/filename\*=UTF-8''%E3%82%AB%E3%83%BC%E3%83%89%E4%B8%80%E8%A6%A7-receivedFrom-2000-01-01-\d{8}-\d{4}\.csv$/);
      });

      it('before a Shift_JIS export, say how many cards get 〓 and link to their list', async () => {
        await page.goto(`${sys.baseUrl}/cards?receivedFrom=2000-01-01`);
        await page.getByRole('link', { name: 'Shift_JIS', exact: true }).click();
        const status = await page.getByRole('status').innerText();
        expect(status).toContain('件のカードに Shift_JIS で表せない文字');
        const count = Number(status.match(/(\d+)件/)![1]);
        expect(count).toBeGreaterThanOrEqual(1);
        const list = await page.request.get(await page.getByRole('link', { name: '置き換えたカードの一覧（CSV）' }).getAttribute('href').then((h) => `${sys.baseUrl}${h}`));
        const rows = (await list.body()).toString('utf8').replace(/^\uFEFF/, '').trim().split('\r\n');
        expect(rows[0]).toBe('カード番号,〓に置き換えた列');
        expect(rows).toContain(`${yoshiCard.cardId},氏名`);
        expect(rows).toHaveLength(count + 1);
      });

      it('the access log CSV neutralises formulas too, and before= beyond a bigint is a 400', async () => {
        // A user whose name a spreadsheet would read as a formula: the access log's user column.
        const username = `=cmd|' /C calc'!A${Date.now()}`;
        await sys.http('GET', '/api/cards?limit=1', { token: await sys.token('office', username) });
        const csv = (await (await page.request.get(`${sys.baseUrl}/access-log.csv`)).body()).toString('utf8');
        expect(csv).toContain(`,'${username},`);
        expect(csv).not.toMatch(/(^|,)"?=/m);
        for (const path of ['/access-log?before=99999999999999999999', '/access-log?before=9999999999999999999', '/access-log.csv?before=9999999999999999999', '/qa/changes?before=9999999999999999999', '/qa/changes?before=1e3', '/qa/changes?before=0']) {
          const r = await page.request.get(`${sys.baseUrl}${path}`);
          expect({ path, status: r.status() }).toEqual({ path, status: 400 });
        }
        expect((await page.request.get(`${sys.baseUrl}/qa/changes?before=9223372036854775807`)).status()).toBe(200);
      });
    });
  });
});
