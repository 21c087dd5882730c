/**
 * The ward's reports against a small known read model: cards, events,
 * bookings, slots and venue visits written for June 2012 (a month no other test file uses; the walk-in
 * history in April and May 2012), and two live cards registered through the API for the hand-over
 * list. Pages, CSV and PDF are fetched in real Chromium with an office user's session.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { loadWardConfig } from '../src/config/ward-config.js';
import { pageTexts, pdfFonts, squeeze } from '../src/printing/pdf-check.js';
import { loadVenueDeskConfig } from '../src/venues/venue-desk.config.js';
import { accessibilityViolations, launchBrowser, screenshot, signIn } from './support/browser.js';
import { TestSystem, aCard } from './support/test-system.js';

const MONTH = '2012-06';
const P = `RPT${Date.now().toString(36)}`.toUpperCase();
const id = (n: string) => `${P}${n}`;
const jst = (local: string) => new Date(`${local}+09:00`);

type Ev = [type: string, from: string, to: string, at: string];

describe('reports: monthly plan, monthly results, staffing forecast, hand-over list', () => {
  let sys: TestSystem;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let officeUser: { username: string; password: string };
  const live = aCard({}, { name: '引継 一郎', nameKana: 'ヒキツギ イチロウ' });
  const liveExpress = aCard({ route: 'express' }, { name: '引継 二郎', nameKana: 'ヒキツギ ジロウ' });

  /** A card of the read model with its events (the reports read nothing else). */
  const card = async (n: string, c: { route?: string; state: string; venue: string | null; received: string; mailed?: string; issued?: string; closed?: string }, events: Ev[]) => {
    await sys.sql(`insert into card_resident (card_id, name, name_kana, birth_date, postal_code, address) values (?, '報告 太郎', 'ホウコク タロウ', '1980-04-01', '135-0061', '江東区豊洲2-2-18')`, [id(n)]);
    await sys.sql(
      `insert into card (card_id, route, state, seq, venue_id, received_at, notice_mailed_at, issued_at, closed_at, snapshot, updated_at)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, '{}'::jsonb, now())`,
      [id(n), c.route ?? 'pickup', c.state, events.length + 1, c.venue, jst(c.received), c.mailed ? jst(c.mailed) : null, c.issued ? jst(c.issued) : null, c.closed ? jst(c.closed) : null],
    );
    const all: Ev[] = [['registered', 'received', 'received', c.received], ...events];
    for (const [i, [type, from, to, at]] of all.entries()) {
      await sys.sql(`insert into card_event (card_id, seq, type, from_state, to_state, at, actor_user, actor_role, channel) values (?, ?, ?, ?, ?, ?, 'fixture', 'office', 'api')`, [
        id(n),
        i + 1,
        type,
        from,
        to,
        jst(at),
      ]);
    }
  };
  const booking = (n: string, venue: string, startsAt: string, createdAt: string, status: string) =>
    sys.sql(`insert into booking (card_id, request_id, venue_id, starts_at, ends_at, status, created_at) values (?, ?, ?, ?, ?, ?, ?)`, [
      id(n),
      `fixture-${id(n)}-${startsAt}`,
      venue,
      jst(startsAt),
      new Date(jst(startsAt).getTime() + 30 * 60_000),
      status,
      jst(createdAt),
    ]);
  const visit = (n: string, venue: string, day: string, kind: 'booked' | 'ward_approved') =>
    sys.sql(`insert into venue_visit (venue_id, service_date, card_id, kind, recorded_by, approved_by, reason) values (?, ?::date, ?, ?, 'fixture', ?, ?)`, [
      venue,
      day,
      id(n),
      kind,
      kind === 'ward_approved' ? 'ward-fixture' : null,
      kind === 'ward_approved' ? '転出予定' : null,
    ]);

  beforeAll(async () => {
    // The hand-over list's PDF in parts of 10 cards (this file's app only; 2,000 by default).
    process.env.HANDOVER_PDF_PART_ROWS = '10';
    sys = await TestSystem.start();
    delete process.env.HANDOVER_PDF_PART_ROWS;
    browser = await launchBrowser();
    // June 2012 at 豊洲: C1 received in June, notice in 3 days, issued on the 12th; C2 received on
    // 1 May, notice after 34 days, returned, re-noticed, discarded; C3 notice after 13 days 23 hours,
    // issued on the 12th; C6 received on 25 May and not mailed yet. 大島: C4 expired in June. C5 an
    // 申請時来庁 card received in June and handed to the ward.
    await card('C1', { state: 'issued', venue: 'toyosu', received: '2012-06-02T10:00:00', mailed: '2012-06-05T10:00:00', issued: '2012-06-12T10:20:00', closed: '2012-06-12T10:20:00' }, [
      ['mail_notice', 'at_venue', 'notice_mailed', '2012-06-05T10:00:00'],
      ['reserve', 'notice_mailed', 'reserved', '2012-06-06T10:00:00'],
      ['issue', 'reserved', 'issued', '2012-06-12T10:20:00'],
    ]);
    await card('C2', { state: 'discarded', venue: 'toyosu', received: '2012-05-01T10:00:00', mailed: '2012-06-04T10:00:00', closed: '2012-06-28T10:00:00' }, [
      ['mail_notice', 'at_venue', 'notice_mailed', '2012-06-04T10:00:00'],
      ['record_return', 'notice_mailed', 'notice_returned', '2012-06-08T10:00:00'],
      ['approve_renotice', 'notice_returned', 'renotice_approved', '2012-06-15T10:00:00'],
      ['mail_renotice', 'renotice_approved', 'renoticed', '2012-06-20T10:00:00'],
      ['approve_discard', 'renoticed', 'discarded', '2012-06-28T10:00:00'],
    ]);
    await card('C3', { state: 'issued', venue: 'toyosu', received: '2012-05-20T10:00:00', mailed: '2012-06-03T09:00:00', issued: '2012-06-12T11:00:00', closed: '2012-06-12T11:00:00' }, [
      ['mail_notice', 'at_venue', 'notice_mailed', '2012-06-03T09:00:00'],
      ['reserve', 'notice_mailed', 'reserved', '2012-06-04T10:00:00'],
      ['issue', 'reserved', 'issued', '2012-06-12T11:00:00'],
    ]);
    await card('C4', { state: 'expired', venue: 'oshima', received: '2012-01-10T10:00:00', mailed: '2012-01-15T10:00:00' }, [
      ['mail_notice', 'at_venue', 'notice_mailed', '2012-01-15T10:00:00'],
      ['approve_expiry', 'notice_mailed', 'expired', '2012-06-15T10:00:00'],
    ]);
    await card('C5', { route: 'counter', state: 'handed_to_ward', venue: null, received: '2012-06-04T10:00:00' }, [
      ['inspect', 'received', 'inspected', '2012-06-05T10:00:00'],
      ['hand_to_ward', 'inspected', 'handed_to_ward', '2012-06-06T10:00:00'],
    ]);
    await card('C6', { state: 'shipped_to_venue', venue: 'toyosu', received: '2012-05-25T10:00:00' }, [
      ['inspect', 'received', 'inspected', '2012-05-26T10:00:00'],
      ['ship_to_venue', 'inspected', 'shipped_to_venue', '2012-05-27T10:00:00'],
    ]);
    // Tuesday 12 June 2012 at 豊洲: two slots of 4, both residents booked beforehand.
    await sys.slot('toyosu', jst('2012-06-12T10:10:00'), 30 * 60_000, 4);
    await sys.slot('toyosu', jst('2012-06-12T10:40:00'), 30 * 60_000, 4);
    await booking('C1', 'toyosu', '2012-06-12T10:10:00', '2012-06-06T10:00:00', 'used');
    await booking('C3', 'toyosu', '2012-06-12T10:10:00', '2012-06-04T10:00:00', 'used');
    // Walk-in history at 豊洲 (the 8 weeks before June: 8 Tuesdays open): 4 walk-ins on Tuesdays. V1
    // was booked on the spot; V2 had booked two weeks before (not a walk-in); V3–V5 were approved by the ward.
    await booking('V1', 'toyosu', '2012-05-15T11:10:00', '2012-05-15T10:50:00', 'used');
    await visit('V1', 'toyosu', '2012-05-15', 'booked');
    await booking('V2', 'toyosu', '2012-05-15T11:40:00', '2012-05-01T10:00:00', 'used');
    await visit('V2', 'toyosu', '2012-05-15', 'booked');
    await visit('V3', 'toyosu', '2012-05-22', 'ward_approved');
    await visit('V4', 'toyosu', '2012-05-22', 'ward_approved');
    await visit('V5', 'toyosu', '2012-04-17', 'ward_approved');

    const office = await sys.token('office');
    // With 20 more open cards the hand-over list's PDF has parts even when this file runs alone.
    const more = Array.from({ length: 20 }, () => aCard());
    expect((await sys.http('POST', '/api/cards', { token: office, body: { cards: [live, liveExpress, ...more] } })).status).toBe(200);
    officeUser = await sys.webUser('office');
    context = await browser.newContext({ locale: 'ja-JP' });
    page = await context.newPage();
    await signIn(page, sys.baseUrl, officeUser);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    try {
      // The fixture's cards have no workflows: no other file may find them open. Events reference
      // their cards and are append-only, so the cards stay, closed (in 2012).
      await sys?.sql(`update card set state = 'discarded', closed_at = coalesce(closed_at, now()) where card_id like ?`, [`${P}%`]);
      await sys?.sql(`delete from booking where card_id like ?`, [`${P}%`]);
      await sys?.sql(`delete from venue_visit where card_id like ?`, [`${P}%`]);
      await sys?.sql(`delete from slot where venue_id = 'toyosu' and starts_at >= ? and starts_at < ?`, [jst('2012-06-01T00:00:00'), jst('2012-07-01T00:00:00')]);
    } finally {
      await sys?.stop();
    }
  }, 120_000);

  const get = async (path: string) => {
    const res = await context.request.get(sys.baseUrl + path);
    return { status: res.status(), headers: res.headers(), body: await res.body() };
  };
  const csv = async (path: string) => {
    const res = await get(path);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    const text = res.body.toString('utf8');
    expect(text.startsWith('\uFEFF')).toBe(true);
    const [header, ...rows] = parse(text.slice(1)) as string[][];
    return { header, rows, text, disposition: res.headers['content-disposition'], row: (pred: (r: Record<string, string>) => boolean) => rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]]))).filter(pred) };
  };
  const pdf = async (path: string) => {
    const res = await get(path);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/pdf');
    const file = join(mkdtempSync(join(tmpdir(), 'koto-reports-test-')), 'report.pdf');
    writeFileSync(file, res.body);
    const fonts = await pdfFonts(file);
    expect(fonts.length).toBeGreaterThan(0);
    expect(fonts.filter((f) => f.type.includes('Type 3'))).toEqual([]);
    const text = squeeze((await pageTexts(file)).join('\n'));
    return { file, text, has: (t: string) => expect(text).toContain(squeeze(t)) };
  };

  it('monthly results: counts per venue and route, the notice SLA and issuances per day as the read model holds them', async () => {
    const r = await csv(`/reports/results?month=${MONTH}&format=csv`);
    expect(r.header).toEqual(['対象月', '区分', 'ID', '名称', '日付', '開庁', '計画定員', '予約', '通知書発送予定', '通知書発送', '交付', '返戻', '再通知発送', '廃棄', '有効期限切れ', '書類不備', '予約不来', '予約外来庁', '通知書期限内', '通知書期限超過']);
    expect(r.disposition).toContain("filename*=UTF-8''%E6%9C%88%E6%AC%A1%E5%AE%9F%E7%B8%BE%E5%A0%B1%E5%91%8A%E6%9B%B8-2012-06.csv");
    // One row per venue and day of June, a month total per venue, one per route and one for all.
    expect(r.row((x) => x['区分'] === '会場' && x['日付'] !== '月計')).toHaveLength(3 * 30);
    const [toyosu] = r.row((x) => x.ID === 'toyosu' && x['日付'] === '月計');
    expect(toyosu).toMatchObject({ 計画定員: '8', 予約: '2', 通知書発送予定: '3', 通知書発送: '3', 交付: '2', 返戻: '1', 再通知発送: '1', 廃棄: '1', 有効期限切れ: '0', 通知書期限内: '2', 通知書期限超過: '1' });
    const [oshima] = r.row((x) => x.ID === 'oshima' && x['日付'] === '月計');
    expect(oshima).toMatchObject({ 有効期限切れ: '1', 交付: '0', 通知書発送: '0' });
    const [day12] = r.row((x) => x.ID === 'toyosu' && x['日付'] === '2012-06-12');
    expect(day12).toMatchObject({ 開庁: '開庁', 計画定員: '8', 予約: '2', 交付: '2' });
    expect(r.row((x) => x.ID === 'toyosu' && x['日付'] === '2012-06-13')[0]).toMatchObject({ 交付: '0', 予約: '0' });
    expect(r.row((x) => x.ID === 'toyosu' && x['日付'] === '2012-06-04')[0]).toMatchObject({ 通知書発送: '1' });
    expect(r.row((x) => x.ID === 'pickup')[0]).toMatchObject({ 通知書発送: '3', 交付: '2', 返戻: '1', 廃棄: '1', 有効期限切れ: '1' });
    expect(r.row((x) => x.ID === 'all')[0]).toMatchObject({ 交付: '2', 通知書期限内: '2', 通知書期限超過: '1' });

    // The same figures straight from the read model.
    const [model] = await sys.sql<{ mailed: number; issued: number; within: number }>(
      `select count(*) filter (where e.type = 'mail_notice')::int mailed, count(*) filter (where e.type = 'issue')::int issued,
         count(*) filter (where e.type = 'mail_notice' and c.notice_mailed_at - c.received_at <= make_interval(secs => ? / 1000.0))::int as within
       from card_event e join card c using (card_id) where c.venue_id = 'toyosu' and e.at >= ? and e.at < ?`,
      [loadWardConfig().policy.noticeSlaMs, jst('2012-06-01T00:00:00'), jst('2012-07-01T00:00:00')],
    );
    expect(model).toEqual({ mailed: Number(toyosu['通知書発送']), issued: Number(toyosu['交付']), within: Number(toyosu['通知書期限内']) });

    // The PDF: the ward's tables with the SLA figures, in the print font only.
    const doc = await pdf(`/reports/results?month=${MONTH}&format=pdf`);
    doc.has('月次実績報告書');
    doc.has('平成24年6月');
    doc.has('66.7%'); // 2 of 3 notices within 14 days at 豊洲
    doc.has('34.0日'); // C2's notice, the longest
    doc.has('交付方式別の実績');
  });

  it('monthly work plan: openings, slot capacity and notices falling due per venue and day', async () => {
    const r = await csv(`/reports/plan?month=${MONTH}&format=csv`);
    expect(r.header).toEqual(['対象月', '会場ID', '会場', '日付', '曜日', '開庁', '開庁時間', '枠数', '定員', '予約済', '通知書発送予定', '予約外来庁見込み', '交付見込み']);
    expect(r.rows).toHaveLength(3 * 30);
    const toyosu = r.row((x) => x['会場ID'] === 'toyosu');
    const due = Object.fromEntries(toyosu.filter((x) => x['通知書発送予定'] !== '0').map((x) => [x['日付'], x['通知書発送予定']]));
    expect(due).toEqual({ '2012-06-03': '1', '2012-06-08': '1', '2012-06-16': '1' }); // C3, C6, C1: receipt + 14 days
    expect(toyosu.find((x) => x['日付'] === '2012-06-12')).toMatchObject({ 曜日: '火', 開庁: '開庁', 開庁時間: '08:30〜17:00', 枠数: '2', 定員: '8', 予約外来庁見込み: '0.5', 交付見込み: '0.5' });
    expect(toyosu.find((x) => x['日付'] === '2012-06-02')).toMatchObject({ 曜日: '土', 開庁: '休業', 定員: '0', 交付見込み: '0' });
    // The second Sunday opens.
    expect(toyosu.find((x) => x['日付'] === '2012-06-10')).toMatchObject({ 開庁: '開庁' });
    const doc = await pdf(`/reports/plan?month=${MONTH}&format=pdf`);
    doc.has('月次作業計画書');
    doc.has('平成24年5月25日'); // due on the 25th of the month before
    doc.has('交付方式別の未了カード');
  });

  it('staffing forecast: bookings plus the walk-ins of the same weekday, counters needed, with a chart', async () => {
    const minutes = loadVenueDeskConfig().minutesPerResident('toyosu');
    const r = await csv(`/reports/staffing?month=${MONTH}&format=csv`);
    expect(r.header).toEqual(['対象月', '会場ID', '会場', '日付', '曜日', '開庁', '開庁時間', '定員', '予約', '予約外来庁見込み', '来庁見込み', '1人あたり分', '窓口延べ時間', '必要窓口数']);
    const [day12] = r.row((x) => x['会場ID'] === 'toyosu' && x['日付'] === '2012-06-12');
    // 2 booked + 4 walk-ins over 8 open Tuesdays.
    expect(day12).toMatchObject({ 予約: '2', 予約外来庁見込み: '0.5', 来庁見込み: '2.5', '1人あたり分': String(minutes), 窓口延べ時間: String(Math.round(2.5 * minutes)), 必要窓口数: '1' });
    expect(r.row((x) => x['会場ID'] === 'toyosu' && x['日付'] === '2012-06-13')[0]).toMatchObject({ 予約外来庁見込み: '0', 必要窓口数: '0' });
    expect(r.row((x) => x['日付'] === '2012-06-02')).toEqual([]); // closed days are not staffed
    await page.goto(`${sys.baseUrl}/reports/staffing?month=${MONTH}`);
    await expect(page.locator('svg.chart title').first().textContent()).resolves.toContain('日別来庁見込み');
    expect(await page.locator('svg.chart').count()).toBe(3);
    const doc = await pdf(`/reports/staffing?month=${MONTH}&format=pdf`);
    doc.has('人員配置見込み');
    doc.has('6/12（火）');
  });

  it('hand-over list: every open card with its state and next step from the action table, no resident names, logged', async () => {
    const r = await csv('/reports/handover?format=csv');
    expect(r.header).toEqual(['カード番号', '交付方式', '状態', '会場', '受領日時', '最終更新', '通知書期限超過', '提案', '予約番号', '予約日時', '次の作業']);
    const byId = (cardId: string) => r.row((x) => x['カード番号'] === cardId)[0];
    expect(byId(live.cardId)).toMatchObject({ 交付方式: '交付時来庁方式', 状態: '受領', 次の作業: '検品・初期設定［事務センター］' });
    expect(byId(liveExpress.cardId)).toMatchObject({ 交付方式: '特急発行', 状態: '受領', 次の作業: 'J-LISの発送を記録［事務センター・区職員］' });
    expect(byId(id('C5'))).toMatchObject({ 交付方式: '申請時来庁方式', 状態: '区へ引渡し済', 会場: '未割当', 次の作業: '区の発送を記録［事務センター・区職員］' });
    expect(byId(id('C6'))).toMatchObject({ 状態: '会場へ移送中', 会場: '豊洲シビックセンター 11階', 次の作業: '会場で受理［事務センター・交付会場］' });
    // Issued and discarded cards are not unfinished work.
    expect(byId(id('C1'))).toBeUndefined();
    expect(byId(id('C2'))).toBeUndefined();
    // Every open card of the read model, and only those.
    const open = async () => (await sys.sql<{ n: number }>(`select count(*)::int n from card where state not in ('issued', 'discarded', 'delivered')`))[0].n;
    const before = await open();
    const list = await csv('/reports/handover?format=csv');
    const after = await open(); // other files may register cards meanwhile
    expect(list.rows.length).toBeGreaterThanOrEqual(Math.min(before, after));
    expect(list.rows.length).toBeLessThanOrEqual(Math.max(before, after));
    expect(r.text).not.toContain('引継 一郎');
    expect(r.text).not.toContain('報告 太郎');
    const [logged] = await sys.sql<{ kind: string; card_ids: string[] }>(`select kind, card_ids from access_log where user_id = ? and detail like 'report handover csv%' order by id desc limit 1`, [officeUser.username]);
    expect(logged.kind).toBe('export');
    expect(logged.card_ids).toEqual(expect.arrayContaining([live.cardId, id('C5')]));

    // One venue's list: 大島's expired card, not 豊洲's; a venue not in the ward is refused in Japanese.
    const oshima = await csv('/reports/handover?venue=oshima&format=csv');
    expect(oshima.row((x) => x['カード番号'] === id('C4'))).toHaveLength(1);
    expect(oshima.row((x) => x['会場'] !== '総合区民センター 2階')).toEqual([]);
    const badVenue = await get('/reports/handover?venue=nowhere');
    expect(badVenue.status).toBe(400);
    expect(badVenue.body.toString()).toContain('会場を一覧から選んでください。');

    const doc = await pdf('/reports/handover?format=pdf');
    doc.has('未了業務引継一覧');
    doc.has(live.cardId);

    await page.goto(`${sys.baseUrl}/reports/handover`);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('未了業務引継一覧');
    // The page lists the first 500 open cards (other files' cards may come first) and logs exactly those.
    const shown = await page.locator('section.report-section').nth(1).locator('tbody tr td:first-child').allTextContents();
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.length).toBeLessThanOrEqual(500);
    const [read] = await sys.sql<{ kind: string; card_ids: string[] }>(`select kind, card_ids from access_log where user_id = ? and detail like 'report handover (%' order by id desc limit 1`, [officeUser.username]);
    expect(read.kind).toBe('read');
    expect([...read.card_ids].sort()).toEqual([...shown].sort());
    if (list.rows.length <= 500) expect(shown).toContain(live.cardId);
    await expect(page.locator('main').textContent()).resolves.not.toContain('引継 一郎');

    // The PDF in parts (10 cards each here): the page links every part; a part holds its own cards,
    // in the list's order, and says which part of how many it is.
    const parts = await page.locator('#handover-parts a').evaluateAll((as) => as.map((a) => a.getAttribute('href')!));
    expect(parts.length).toBeGreaterThanOrEqual(Math.ceil(Math.min(before, after) / 10));
    expect(parts[1]).toBe('/reports/handover?format=pdf&part=2');
    const listed = async () => (await csv('/reports/handover?format=csv')).rows.slice(10, 20).map((r) => r[0]);
    const around = [await listed()];
    const second = await pdf(parts[1]);
    around.push(await listed());
    second.has(`第2部（全`);
    second.has('カード別の11〜20枚目');
    // The 11th to 20th cards of the list (those that held their place while other files add cards).
    const steady = around[0].filter((cardId) => around[1].includes(cardId));
    expect(steady.filter((cardId) => !second.text.includes(cardId))).toEqual([]);
    expect(around[0].filter((cardId) => second.text.includes(cardId)).length).toBeGreaterThan(0);
    const none = await get('/reports/handover?format=pdf&part=10000');
    expect(none.status).toBe(404);
    expect(none.body.toString()).toContain('その分冊はありません');
    const zero = await get('/reports/handover?format=pdf&part=0');
    expect(zero.status).toBe(400);
    expect(zero.body.toString()).toContain('分冊の番号は1以上の整数で指定してください。');
  });

  it('the pages in Chromium: linked from the dashboard, the month picker, the tables; a bad month answered in Japanese', async () => {
    await page.goto(`${sys.baseUrl}/`);
    await page.getByRole('navigation', { name: 'メインメニュー' }).getByRole('link', { name: '報告書', exact: true }).click();
    await page.waitForURL(/\/reports$/);
    await page.getByLabel('対象月').first().fill(MONTH);
    await page.locator('form[action="/reports/plan"] button').click();
    await page.waitForURL(/\/reports\/plan\?month=2012-06/);
    await page.goto(`${sys.baseUrl}/reports/results?month=${MONTH}`);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('月次実績報告書');
    await expect(page.locator('main').textContent()).resolves.toContain('66.7%');
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, 'reports-results');

    for (const bad of ['2012-13', '12-06', '1999-12', '2012-06-01', 'x'.repeat(300)]) {
      const res = await page.goto(`${sys.baseUrl}/reports/results?month=${encodeURIComponent(bad)}`);
      expect([bad, res?.status()]).toEqual([bad, 400]);
      await expect(page.getByRole('alert').textContent()).resolves.toContain('対象月は「2026-12」の形（西暦4桁-月2桁）で、2000年1月から2099年12月までの月を指定してください。');
    }
    expect(await accessibilityViolations(page)).toEqual([]);
    const badFormat = await get(`/reports/plan?month=${MONTH}&format=xls`);
    expect(badFormat.status).toBe(400);
    expect(badFormat.body.toString()).toContain('出力形式は画面・CSV・PDFのいずれかを選んでください。');
    expect((await get('/reports/unknown')).status).toBe(404);
  });

  it('is refused to the call center (no link, 403 in Japanese)', async () => {
    const callcenter = await sys.webUser('callcenter');
    const other = await browser.newContext({ locale: 'ja-JP' });
    try {
      const p = await other.newPage();
      await signIn(p, sys.baseUrl, callcenter);
      await expect(p.getByRole('navigation', { name: 'メインメニュー' }).getByRole('link', { name: '報告書', exact: true }).count()).resolves.toBe(0);
      const res = await p.goto(`${sys.baseUrl}/reports/handover`);
      expect(res?.status()).toBe(403);
      await expect(p.locator('main').textContent()).resolves.not.toContain(live.cardId);
    } finally {
      await other.close();
    }
  });
});
