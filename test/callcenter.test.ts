/**
 * The call center's screens in real Chromium over HTTP (issue 9, R-4): finding a caller without the
 * booking number, namesakes told apart, the access log; a reissue request by phone reaching the
 * office's list; the no-show callback list with its exclusions, its "ask the ward" cases and the
 * calls' outcomes, offered only in the call center's hours (the clock is injected).
 */
import { randomInt } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { CallCenterClock } from '../src/callcenter/hours.js';
import { backfillSearchKeys } from '../src/callcenter/search-backfill.js';
import { accessibilityViolations, launchBrowser, screenshot, signIn } from './support/browser.js';
import { TestSystem, aCard, bookableStart, eventually } from './support/test-system.js';
import { addBusinessDays, tokyoDate } from '../src/calendar/business-days.js';

/** A kana surname no other test file uses: ヨビ + four random katakana. */
const KANA = 'アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワ';
const surname = () => `ヨビ${Array.from({ length: 4 }, () => KANA[randomInt(KANA.length)]).join('')}`;
const digits = (n: number) => Array.from({ length: n }, () => randomInt(10)).join('');
/** Katakana to hiragana, and to half-width katakana, as a caller or a clerk might type them. */
const hiragana = (s: string) => s.replace(/[\u30a1-\u30f6]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0x60));
const HALF: Record<string, string> = Object.fromEntries(
  [...'アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲン'].map((c, i) => [c, 'ｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓﾔﾕﾖﾗﾘﾙﾚﾛﾜｦﾝ'[i]]),
);
const halfWidth = (s: string) => [...s].map((c) => HALF[c] ?? c).join('');

describe('call center in Chromium', () => {
  let sys: TestSystem;
  let browser: Browser;
  let office: string;
  let callcenter: string;
  let venue: string;
  let ward: string;
  const inHours = new Date('2026-11-26T10:00:00+09:00');

  beforeAll(async () => {
    // A no-show is proposed half a second after the booked slot ends.
    sys = await TestSystem.start({ policy: { noShowGraceMs: 500 } });
    browser = await launchBrowser();
    office = await sys.token('office');
    callcenter = await sys.token('callcenter');
    venue = await sys.token('venue');
    ward = await sys.token('ward');
    sys.app.get(CallCenterClock).now = () => inHours;
  });
  afterAll(async () => {
    await browser?.close();
    await sys?.stop();
  }, 120_000);

  const newPage = async (opts: { javaScriptEnabled?: boolean; viewport?: { width: number; height: number } } = {}) => (await browser.newContext({ locale: 'ja-JP', ...opts })).newPage();
  const signedIn = async (role: 'callcenter' | 'office' | 'ward', opts: { javaScriptEnabled?: boolean; viewport?: { width: number; height: number } } = {}): Promise<Page> => {
    const page = await newPage(opts);
    await signIn(page, sys.baseUrl, await sys.webUser(role));
    return page;
  };

  const act = async (token: string, cardId: string, action: string, body: Record<string, unknown> = {}) => {
    const res = await sys.http('POST', `/api/cards/${cardId}/actions/${action}`, { token, body });
    expect([action, res.status, res.status === 200 ? '' : res.text]).toEqual([action, 200, '']);
    return res.json;
  };
  /** A pickup card registered and moved on by the office's actions, once the read model holds it. */
  const cardAt = async (actions: string[], resident: Record<string, unknown> = {}) => {
    const c = aCard({}, resident);
    expect((await sys.http('POST', '/api/cards', { token: office, body: { cards: [c] } })).status).toBe(200);
    await eventually(async () => (await sys.sql(`select 1 from card where card_id = ?`, [c.cardId]))[0]);
    for (const action of actions) await act(office, c.cardId, action);
    return c.cardId;
  };
  const mailed = ['inspect', 'ship_to_venue', 'receive_at_venue', 'mail_notice'];
  const state = async (id: string) => (await sys.sql<{ state: string }>(`select state from card where card_id = ?`, [id]))[0].state;

  const venueOf = async (id: string) => (await sys.sql<{ venue_id: string }>(`select venue_id from card where card_id = ?`, [id]))[0].venue_id;

  /** Books a slot of today that ends in a few seconds, waits for the no-show proposal and confirms it. */
  const noShow = async (cardId: string) => {
    const now = Date.now();
    const start = new Date(now - 60_000 - randomInt(3_600_000));
    const slot = await sys.slot(await venueOf(cardId), start, now + 8_000 - start.getTime());
    await act(callcenter, cardId, 'reserve', { data: slot });
    await eventually(async () => (await sys.sql(`select 1 from card where card_id = ? and 'no_show' = any(proposal_kinds)`, [cardId]))[0], 30_000, 'no-show proposal');
    await act(venue, cardId, 'confirm_no_show');
  };

  /** "MM/DD（曜）" as the slot picker labels a day. */
  const dayLabel = (iso: string) => `${iso.slice(5).replace('-', '/')}（${'日月火水木金土'[new Date(`${iso}T00:00:00Z`).getUTCDay()]}）`;
  const hhmm = (d: Date) => new Date(d.getTime() + 9 * 3_600_000).toISOString().slice(11, 16);

  it('books for a caller by phone through the slot picker (venue, day, time), and cancels by FAX', async () => {
    const id = await cardAt(mailed, { nameKana: `${surname()} ハチ` });
    const venueId = await venueOf(id);
    const start = bookableStart(6, '10:00', randomInt(1, 300));
    await sys.slot(venueId, start);
    const page = await signedIn('callcenter', { javaScriptEnabled: false });
    await page.goto(`${sys.baseUrl}/callcenter/cards/${id}`);
    await page.getByLabel('会場', { exact: true }).selectOption(venueId);
    await page.getByRole('button', { name: '空いている日を見る' }).click();
    await page.getByRole('link', { name: new RegExp(`^${dayLabel(tokyoDate(start)).replace(/[()（）]/g, '.')}`) }).click();
    await page.getByLabel(new RegExp(`^${hhmm(start)}〜`)).check();
    await page.getByRole('button', { name: 'この時間で予約する' }).click();
    await page.getByText('予約を記録しました。').waitFor();
    await screenshot(page, 'callcenter-booking');
    const [reserve] = await sys.sql(`select channel, actor_role from card_event where card_id = ? and type = 'reserve'`, [id]);
    expect(reserve).toEqual({ channel: 'phone', actor_role: 'callcenter' });
    expect(await state(id)).toBe('reserved');
    await expect(page.locator('dl.facts').last().innerText()).resolves.toContain(hhmm(start));

    const cancel = page.getByRole('form', { name: '予約を取り消す' });
    await cancel.getByLabel('FAX').check();
    await cancel.getByRole('button', { name: '予約を取り消す' }).click();
    await page.getByText('予約を取り消しました。').waitFor();
    const [cancelled] = await sys.sql(`select channel from card_event where card_id = ? and type = 'cancel_reservation'`, [id]);
    expect(cancelled).toEqual({ channel: 'fax' });
    expect(await state(id)).toBe('notice_mailed');
  });

  it('books within 3 business days only with the venue checked, the card at that venue and room in the slot; the venue gets a prepare-card task', async () => {
    const id = await cardAt(mailed, { nameKana: `${surname()} キュウ` });
    const venueId = await venueOf(id);
    const other = venueId === 'toyosu' ? 'kuyakusho' : 'toyosu';
    const day = addBusinessDays(tokyoDate(), 1);
    const start = new Date(Date.parse(`${day}T10:00:00+09:00`) + randomInt(1, 400) * 60_000);
    await sys.slot(venueId, start);
    await sys.slot(other, start);
    const page = await signedIn('callcenter', { javaScriptEnabled: false });
    const pick = async (venue: string) => {
      await page.goto(`${sys.baseUrl}/callcenter/cards/${id}?venue=${venue}&date=${day}`);
      await page.getByLabel(new RegExp(`^${hhmm(start)}〜`)).check();
    };
    const reserves = async () => (await sys.sql<{ n: number }>(`select count(*)::int n from card_event where card_id = ? and type = 'reserve'`, [id]))[0].n;

    // Without the clerk's check of the venue's stock: refused beside the box, nothing booked.
    await pick(venueId);
    await page.getByRole('button', { name: 'この時間で予約する' }).click();
    await page.getByText(/「会場在庫を確認済み」にチェックを入れてください/).first().waitFor();
    expect(await reserves()).toBe(0);
    // Checked, but at a venue that does not hold the card: the rule refuses it.
    await pick(other);
    await page.getByLabel('会場在庫を確認済み').check();
    await page.getByRole('button', { name: 'この時間で予約する' }).click();
    await page.getByText('3開庁日以内の予約は、カードがその会場に届いている場合に限られます').waitFor();
    expect(await reserves()).toBe(0);
    // At the card's venue, checked: booked, and the venue is asked to prepare the card.
    await pick(venueId);
    await page.getByLabel('会場在庫を確認済み').check();
    await page.getByRole('button', { name: 'この時間で予約する' }).click();
    await page.getByText('3開庁日以内の予約のため、会場にカードの準備を依頼しました。').waitFor();
    expect(await reserves()).toBe(1);
    expect(await state(id)).toBe('reserved');
    const tasks = await sys.sql(`select kind, venue_id, status from task where card_id = ? order by id`, [id]);
    expect(tasks).toEqual([{ kind: 'prepare_card', venue_id: venueId, status: 'open' }]);
  });

  it('finds a caller by birth date and kana in hiragana or half-width katakana with spaces, by phone, by part of the address; tells namesakes apart; logs each search', async () => {
    const kana = surname();
    const tag = digits(4);
    const first = await cardAt([], { name: '呼出 太郎', nameKana: `${kana} タロウ`, birthDate: '1980-04-01', address: `江東区東陽4-11-28 架電荘${tag}`, phone: `03-${digits(4)}-${digits(4)}` });
    const phone = `090-${digits(4)}-${digits(4)}`;
    const second = await cardAt([], { name: '呼出 太郎', nameKana: `${kana} タロウ`, birthDate: '1991-07-15', postalCode: '135-0061', address: `江東区豊洲2-1-1 呼出ハイツ${tag}`, phone });
    const page = await signedIn('callcenter');
    await page.getByRole('link', { name: '問い合わせ対応' }).click();
    const search = async (fields: Record<string, string>) => {
      await page.goto(`${sys.baseUrl}/callcenter`);
      for (const [label, value] of Object.entries(fields)) await page.getByLabel(label).fill(value);
      await page.getByRole('button', { name: '検索' }).click();
      await page.getByRole('heading', { name: '検索結果' }).waitFor();
      return page.locator('tbody tr').allInnerTexts();
    };
    const found = (rows: string[]) => rows.map((r) => (r.includes(first) ? 'first' : r.includes(second) ? 'second' : 'other'));

    // Kana in hiragana with an ideographic space, and a birth date with slashes.
    expect(found(await search({ '氏名（漢字またはかな、前方一致）': `${hiragana(kana)}\u3000たろう`, '生年月日（例: 1990/4/1、平成2年4月1日）': '1980/4/1' }))).toEqual(['first']);
    // Half-width katakana with a space, and the birth date in the Japanese era.
    expect(found(await search({ '氏名（漢字またはかな、前方一致）': `${halfWidth(kana)} ﾀﾛｳ`, '生年月日（例: 1990/4/1、平成2年4月1日）': '平成3年7月15日' }))).toEqual(['second']);
    await screenshot(page, 'callcenter-search');
    // The surname alone finds both namesakes, each with the birth date and the address that tell them apart.
    const both = await search({ '氏名（漢字またはかな、前方一致）': kana });
    expect(found(both).sort()).toEqual(['first', 'second']);
    expect(both.find((r) => r.includes(first))).toMatch(new RegExp(`1980-04-01[\\s\\S]*東陽4-11-28 架電荘${tag}`));
    expect(both.find((r) => r.includes(second))).toMatch(new RegExp(`1991-07-15[\\s\\S]*豊洲2-1-1 呼出ハイツ${tag}`));
    // The phone number however it is written; a part of the address in full-width digits with spaces.
    expect(found(await search({ 電話番号: phone.replace(/-/g, ' ').replace(/\d/g, (d) => String.fromCharCode(0xff10 + Number(d))) }))).toEqual(['second']);
    expect(found(await search({ '住所（一部）': `東陽４－１１－２８ 架電荘${tag}` }))).toEqual(['first']);
    // The name in kanji with the birth date.
    expect(found(await search({ '氏名（漢字またはかな、前方一致）': '呼出　太郎', '生年月日（例: 1990/4/1、平成2年4月1日）': '1991-07-15', '住所（一部）': `呼出ハイツ${tag}` }))).toEqual(['second']);
    // A date that does not exist is answered beside its field.
    await page.goto(`${sys.baseUrl}/callcenter?birthDate=${encodeURIComponent('1990/2/30')}`);
    await page.getByText('生年月日を「1990-04-01」').first().waitFor();

    // Every search that showed these residents is in the access log, with what was searched by (never the values).
    // (Other test files share the database: a staff search listing every card may show these too.)
    const logged = await sys.sql<{ detail: string }>(`select detail from access_log where kind = 'search' and detail like 'callcenter search%' and ? = any(card_ids) order by id`, [first]);
    expect(logged.map((l) => l.detail)).toEqual([
      'callcenter search by kana, birthDate',
      'callcenter search by kana',
      'callcenter search by address',
    ]);
    expect(JSON.stringify(await sys.sql(`select detail from access_log where ? = any(card_ids)`, [second]))).not.toContain(phone.slice(-4));
  });

  it('finds residents stored before the search keys existed, once the backfill (the migration\'s) has run', async () => {
    const kana = surname();
    const id = await cardAt([], { nameKana: `${kana} トオ`, birthDate: '1975-10-10' });
    // As a resident registered before the migration: no keys.
    await sys.sql(`update card_resident set search_name = null, search_kana = null, search_address = null, search_phone = null where card_id = ?`, [id]);
    const page = await signedIn('callcenter', { javaScriptEnabled: false });
    const url = `${sys.baseUrl}/callcenter?name=${encodeURIComponent(hiragana(kana))}&birthDate=S50.10.10`;
    await page.goto(url);
    expect(await page.locator('tbody tr', { hasText: id }).count()).toBe(0);
    expect(await backfillSearchKeys((sql, params) => sys.sql(sql, params))).toBeGreaterThanOrEqual(1);
    await page.goto(url);
    expect(await page.locator('tbody tr', { hasText: id }).count()).toBe(1);
  });

  it('asks to narrow down when too many residents match, showing nobody', async () => {
    const kana = surname();
    const cards = Array.from({ length: 51 }, () => aCard({}, { nameKana: `${kana} ハナコ` }));
    expect((await sys.http('POST', '/api/cards', { token: office, body: { cards } })).status).toBe(200);
    const page = await signedIn('callcenter', { javaScriptEnabled: false });
    await page.goto(`${sys.baseUrl}/callcenter?name=${encodeURIComponent(kana)}`);
    await page.getByText('該当する方が50人を超えました').waitFor();
    expect(await page.locator('tbody tr').count()).toBe(0);
    await page.goto(`${sys.baseUrl}/callcenter?name=${encodeURIComponent(kana)}&birthDate=1980-04-01`);
    await page.getByText('該当する方が50人を超えました').waitFor();
  });

  it('records a lost notice by phone on the caller\'s card; the request reaches the office\'s list', async () => {
    const id = await cardAt(mailed, { nameKana: `${surname()} ジロウ` });
    const page = await signedIn('callcenter', { javaScriptEnabled: false });
    await page.goto(`${sys.baseUrl}/callcenter/cards/${id}`);
    await page.getByRole('link', { name: 'カードの詳細と経過をすべて見る' }).waitFor();
    const form = page.getByRole('form', { name: '通知書の再発行依頼を受け付ける' });
    await form.getByLabel('電話').check();
    await form.getByLabel('紛失（届いたがなくした）').check();
    await form.getByLabel('メモ（任意）').fill('引っ越しの際になくした');
    await form.getByRole('button', { name: '再発行依頼を記録' }).click();
    await page.getByText('再発行依頼を記録し、事務センターの一覧に載せました。').waitFor();
    await screenshot(page, 'callcenter-card');
    const [event] = await sys.sql(`select channel, actor_role, reason from card_event where card_id = ? and type = 'record_reissue_request'`, [id]);
    expect(event).toEqual({ channel: 'phone', actor_role: 'callcenter', reason: '紛失：引っ越しの際になくした' });

    const officePage = await signedIn('office');
    await officePage.getByRole('link', { name: '再発行依頼' }).click();
    const row = officePage.locator('tbody tr', { hasText: id });
    await expect(row.innerText()).resolves.toMatch(/紛失：引っ越しの際になくした（電話）/);
    await screenshot(officePage, 'reissue-requests');
    await row.getByRole('button', { name: '対応済にする' }).click();
    await officePage.getByText('対応済にしました。').waitFor();
    expect(await officePage.locator('tbody tr', { hasText: id }).count()).toBe(0);
    expect((await sys.sql(`select status, done_by from task where kind = 'reissue' and card_id = ?`, [id]))[0].status).toBe('done');
  });

  it('lists no-shows with a phone number for a callback, never documents-missing or removed cards; unclear cases go to the ward; each call is recorded', async () => {
    const kana = surname();
    const name = (given: string) => ({ nameKana: `${kana} ${given}` });
    const [toCall, noPhone, docsMissing, docsThenNoShow, removed] = await Promise.all([
      cardAt(mailed, name('イチ')),
      cardAt(mailed, { ...name('ニ'), phone: undefined }),
      cardAt(mailed, name('サン')),
      cardAt(mailed, name('ヨン')),
      cardAt(mailed, name('ゴ')),
    ]);
    await act(venue, docsMissing, 'mark_documents_missing', { reason: '本人確認書類なし' });
    await act(venue, docsThenNoShow, 'mark_documents_missing', { reason: '本人確認書類なし' });
    await Promise.all([noShow(toCall), noShow(noPhone), noShow(docsThenNoShow), noShow(removed)]);
    await act(ward, removed, 'mark_removed', { reason: '転出' });
    expect(await Promise.all([toCall, noPhone, docsMissing, docsThenNoShow, removed].map(state))).toEqual(['no_show', 'no_show', 'documents_missing', 'no_show', 'removed']);

    const page = await signedIn('callcenter');
    await page.getByRole('link', { name: '架電リスト' }).click();
    const given: Record<string, string> = { [toCall]: 'イチ', [noPhone]: 'ニ', [docsMissing]: 'サン', [docsThenNoShow]: 'ヨン', [removed]: 'ゴ' };
    /** Which of this test's cards the list on the page shows. */
    const listed = async () => {
      const rows = await page.locator('tbody tr').allInnerTexts();
      return Object.keys(given).filter((id) => rows.some((r) => r.includes(`${kana} ${given[id]}`)));
    };
    expect(await listed()).toEqual([toCall]);
    await screenshot(page, 'callcenter-callbacks');
    await page.getByRole('link', { name: /^区に確認/ }).click();
    expect(await listed()).toEqual([docsThenNoShow]);
    await page.locator('tbody tr', { hasText: `${kana} ヨン` }).getByText('以前に書類不備で交付できなかったカード').waitFor();

    // The call's outcome: not at home, then reached and booked (the card leaves the list).
    await page.goto(`${sys.baseUrl}/callcenter/callbacks`);
    const row = () => page.locator('tbody tr', { hasText: `${kana} イチ` });
    await row().getByLabel('結果', { exact: true }).selectOption({ label: '不在' });
    await row().getByRole('button', { name: '記録' }).click();
    await page.getByText('架電の結果を記録しました。').waitFor();
    await expect(row().innerText()).resolves.toMatch(/不在（.*計1回）/);
    await row().getByLabel('結果', { exact: true }).selectOption({ label: '区に確認' });
    await row().getByLabel('メモ（任意）').fill('本人から転居予定と');
    await row().getByRole('button', { name: '記録' }).click();
    await page.getByText('架電の結果を記録しました。').waitFor();
    expect(await listed()).toEqual([]);
    await page.getByRole('link', { name: /^区に確認/ }).click();
    expect((await listed()).sort()).toEqual([toCall, docsThenNoShow].sort());

    // The ward answers: call this one.
    const wardPage = await signedIn('ward');
    await wardPage.goto(`${sys.baseUrl}/callcenter/callbacks?list=ward`);
    const wardRow = wardPage.locator('tbody tr', { hasText: `${kana} イチ` });
    await wardRow.getByLabel('結果', { exact: true }).selectOption({ label: '区確認済・架電してよい' });
    await wardRow.getByRole('button', { name: '記録' }).click();
    await wardPage.getByText('架電の結果を記録しました。').waitFor();
    await page.goto(`${sys.baseUrl}/callcenter/callbacks`);
    expect(await listed()).toEqual([toCall]);
    await row().getByLabel('結果', { exact: true }).selectOption({ label: '通話済・予約した' });
    await row().getByRole('button', { name: '記録' }).click();
    await page.getByText('架電の結果を記録しました。').waitFor();
    expect(await listed()).toEqual([]);

    const calls = await sys.sql<{ outcome: string; note: string | null; role: string }>(`select outcome, note, role from callback_call where card_id = ? order by id`, [toCall]);
    expect(calls).toEqual([
      { outcome: 'no_answer', note: null, role: 'callcenter' },
      { outcome: 'ask_ward', note: '本人から転居予定と', role: 'callcenter' },
      { outcome: 'ward_call', note: null, role: 'ward' },
      { outcome: 'booked', note: null, role: 'callcenter' },
    ]);
    // Append-only: the application cannot change a recorded call.
    await expect(sys.sql(`update callback_call set outcome = 'booked' where card_id = ?`, [toCall])).rejects.toThrow();
  });

  it('offers the callback list only in the call center\'s hours', async () => {
    const kana = `${surname()} ロク`;
    const id = await cardAt(mailed, { nameKana: kana });
    await noShow(id);
    const clock = sys.app.get(CallCenterClock);
    const page = await signedIn('callcenter', { javaScriptEnabled: false });
    for (const at of ['2026-12-30T10:00:00+09:00', '2026-11-26T20:00:00+09:00', '2026-11-27T08:29:00+09:00']) {
      clock.now = () => new Date(at);
      await page.goto(`${sys.baseUrl}/callcenter/callbacks`);
      await page.getByText('いまはコールセンターの受付時間外です').waitFor();
      expect([at, await page.locator('tbody tr').count(), await page.locator('body').innerText()]).toEqual([at, 0, expect.not.stringContaining(kana)]);
    }
    clock.now = () => new Date('2026-11-28T19:59:00+09:00');
    await page.goto(`${sys.baseUrl}/callcenter/callbacks`);
    const row = page.locator('tbody tr', { hasText: kana });
    await row.waitFor();
    // A form opened in the hours and sent after them is refused.
    clock.now = () => new Date('2026-11-28T20:01:00+09:00');
    await row.getByLabel('結果', { exact: true }).selectOption({ label: '不在' });
    await row.getByRole('button', { name: '記録' }).click();
    await page.getByText(/受付時間外のため記録できません/).waitFor();
    expect((await sys.sql(`select count(*)::int n from callback_call where card_id = ?`, [id]))[0].n).toBe(0);
    clock.now = () => inHours;
  });

  it('has no WCAG 2.2 A/AA violations and fits a 390 px screen', async () => {
    const id = await cardAt(mailed, { nameKana: `${surname()} ナナ` });
    const page = await signedIn('callcenter', { viewport: { width: 390, height: 844 } });
    for (const path of [`/callcenter?name=${encodeURIComponent('ヨビ')}&birthDate=1980-04-01`, `/callcenter/cards/${id}`, '/callcenter/callbacks', '/reissue-requests']) {
      await page.goto(sys.baseUrl + path);
      expect([path, await accessibilityViolations(page)]).toEqual([path, []]);
      expect([path, await page.evaluate<number>('document.scrollingElement.scrollWidth')]).toEqual([path, expect.any(Number)]);
      expect([path, (await page.evaluate<number>('document.scrollingElement.scrollWidth')) <= 390]).toEqual([path, true]);
    }
  });
});
