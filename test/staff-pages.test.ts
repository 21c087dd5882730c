/**
 * The staff workplace in real Chromium over HTTP: sign-in per role (TOTP for the ward), search,
 * card page and actions, bulk approval with progress, venue scoping, auditors, CSRF, session
 * timeouts, lockout, accessibility (axe, WCAG 2.2 A/AA) and pages without JavaScript.
 * Screenshots go to test-artifacts/ (not committed).
 */
import { safeRandomUUID } from '../src/common/my-number.js';
import type { Browser, Page } from 'playwright-core';
import { LOCK_AFTER_FAILURES } from '../src/auth/web-auth.service.js';
import { ACTIONS, ACTION_DEFINITIONS, type CardAction } from '../workflows/card-state-machine.js';
import { actionButtonLabel } from '../src/web/messages.js';
import { accessibilityViolations, launchBrowser, screenshot, signIn, submitSignIn } from './support/browser.js';
import { TestSystem, aCard, bookableStart, eventually } from './support/test-system.js';
import { tokyoDate } from '../src/calendar/business-days.js';

describe('staff workplace in Chromium', () => {
  let sys: TestSystem;
  let browser: Browser;
  let office: string;
  const cards = [
    aCard({}, { name: '画面 花子', nameKana: 'ガメン ハナコ' }),
    aCard({}, { name: '画面 次郎', nameKana: 'ガメン ジロウ', postalCode: '135-0061' }), // 豊洲 venue
  ];

  beforeAll(async () => {
    // Re-notices are proposed a second after the notice, so that the worklist fills quickly.
    // The notice SLA is ten days here, so that the dashboard must read it from the policy.
    sys = await TestSystem.start({ policy: { renoticeAfterMs: 1_000, noticeSlaMs: 10 * 86_400_000 } });
    browser = await launchBrowser();
    office = await sys.token('office');
    await sys.http('POST', '/api/cards', { token: office, body: { cards } });
    await eventually(async () => (await sys.sql(`select count(*)::int n from card where card_id in (?, ?)`, [cards[0].cardId, cards[1].cardId]))[0].n === 2);
  });
  // Stopping the worker waits for its in-flight tasks, which takes longer on a loaded machine.
  afterAll(async () => {
    await Promise.race([browser?.close(), new Promise((r) => setTimeout(r, 20_000))]);
    await sys?.stop();
  }, 200_000);

  const newPage = async (opts: { javaScriptEnabled?: boolean } = {}) => (await browser.newContext({ locale: 'ja-JP', ...opts })).newPage();
  const sessionCookie = async (page: Page) => (await page.context().cookies()).find((c) => c.name.includes('session'))!;

  it('signs in per role; the ward gives a second factor', async () => {
    for (const role of ['office', 'callcenter', 'venue', 'auditor'] as const) {
      const page = await newPage();
      await signIn(page, sys.baseUrl, await sys.webUser(role));
      await page.getByRole('heading', { name: /ダッシュボード/ }).waitFor();
      await page.close();
    }
    const ward = await sys.webUser('ward');
    const page = await newPage();
    await submitSignIn(page, sys.baseUrl, ward, (url) => /\/login\/totp/.test(url.pathname));
    // Without the second factor, no page opens.
    await page.goto(`${sys.baseUrl}/cards`);
    expect(new URL(page.url()).pathname).toBe('/login/totp');
    await page.getByLabel('確認コード').fill('000000');
    await page.getByRole('button', { name: '確認' }).click();
    await page.getByText('確認コードが違います').waitFor();
    await signIn(page, sys.baseUrl, ward);
    await page.getByRole('heading', { name: /ダッシュボード/ }).waitFor();
    const cookie = await sessionCookie(page);
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
    await screenshot(page, 'dashboard');
    // Sign-out ends the session on the server: the old cookie no longer works.
    await page.getByRole('button', { name: 'ログアウト' }).click();
    await page.waitForURL(/\/login/);
    const reuse = await fetch(`${sys.baseUrl}/cards`, { headers: { cookie: `${cookie.name}=${cookie.value}` }, redirect: 'manual' });
    expect(reuse.status).toBe(303);
  });

  it('enrols a ward user in TOTP on the first sign-in, with recovery codes', async () => {
    const ward = await sys.webUser('ward', { totp: false });
    const page = await newPage();
    await page.goto(`${sys.baseUrl}/login`);
    await page.getByLabel('ユーザー名').fill(ward.username);
    await page.getByLabel('パスワード').fill(ward.password);
    await page.getByRole('button', { name: 'ログイン' }).click();
    await page.waitForURL(/\/login\/totp-setup/);
    const secret = (await page.locator('code').first().textContent())!.trim();
    const { WebAuthService } = await import('../src/auth/web-auth.service.js');
    await page.getByLabel('確認コード').fill(await WebAuthService.totp(secret));
    await page.getByRole('button', { name: '設定する' }).click();
    await page.getByRole('heading', { name: 'リカバリーコード' }).waitFor();
    expect(await page.locator('li code').count()).toBe(10);
  });

  it('finds a card, opens it, acts, and the timeline shows the change; one read is logged', async () => {
    const page = await newPage();
    const office = await sys.webUser('office');
    await signIn(page, sys.baseUrl, office);
    await page.goto(`${sys.baseUrl}/cards`);
    await page.getByLabel('氏名（カナ、前方一致）').fill('ガメン');
    await page.getByRole('button', { name: '検索' }).click();
    await page.getByRole('link', { name: cards[0].cardId }).click();
    await page.getByRole('heading', { name: `カード ${cards[0].cardId}` }).waitFor();
    // This user's reads: other files' pages (the hand-over report lists the first 500 open cards of
    // every file) may log reads of this card too.
    const reads = await sys.sql<{ n: number }>(`select count(*)::int n from access_log where kind = 'read' and channel = 'web' and user_id = ? and ? = any(card_ids)`, [office.username, cards[0].cardId]);
    expect(reads[0].n).toBe(1);
    await screenshot(page, 'card');
    await page.getByRole('form', { name: '検品・初期設定' }).getByRole('button').click();
    await page.getByText('「検品・初期設定」を記録しました').waitFor();
    expect(await page.locator('table').last().textContent()).toMatch(/検品・初期設定受領 → 検品・初期設定済office-web-\w+（事務センター）画面/);
    expect((await sys.sql(`select state from card where card_id = ?`, [cards[0].cardId]))[0].state).toBe('inspected');
  });

  it('approves a worklist selection in the background and shows its progress', async () => {
    const selected = [aCard(), aCard()];
    await sys.http('POST', '/api/cards', { token: office, body: { cards: selected } });
    for (const c of selected) {
      await eventually(async () => (await sys.sql(`select 1 from card where card_id = ?`, [c.cardId]))[0]);
      for (const action of ['inspect', 'ship_to_venue', 'receive_at_venue', 'mail_notice']) {
        expect((await sys.http('POST', `/api/cards/${c.cardId}/actions/${action}`, { token: office, body: {} })).status).toBe(200);
      }
    }
    await eventually(async () => (await sys.sql(`select count(*)::int n from card where 'renotice' = any(proposal_kinds) and card_id in (?, ?)`, [selected[0].cardId, selected[1].cardId]))[0].n === 2);

    const page = await newPage();
    await signIn(page, sys.baseUrl, await sys.webUser('ward'));
    await page.goto(`${sys.baseUrl}/worklists/renotice`);
    await screenshot(page, 'worklist');
    for (const c of selected) await page.getByLabel(`${c.cardId} を選択`).check();
    await page.getByLabel(/^承認する/).check();
    await page.getByRole('button', { name: '実行' }).click();
    await page.waitForURL(/\/jobs\//);
    await page.getByText('処理済み 2 / 2件、うち失敗 0件').waitFor({ timeout: 20_000 });
    await screenshot(page, 'bulk-job');
    const jobUrl = page.url();
    // Sending the same form again (a reload, a second click) finds the same job.
    await page.goBack();
    await page.goBack();
    for (const c of selected) expect((await sys.sql(`select state from card where card_id = ?`, [c.cardId]))[0].state).toBe('renotice_approved');
    const approvals = await sys.sql<{ n: number }>(`select count(*)::int n from card_event where type = 'approve_renotice' and card_id in (?, ?)`, [selected[0].cardId, selected[1].cardId]);
    expect(approvals[0].n).toBe(2);
    expect(jobUrl).toMatch(/\/jobs\/[0-9a-f-]{36}$/);
  });

  it('keeps venue users to their own venue, even by URL, unless the ward widens that', async () => {
    const page = await newPage();
    const venueUser = await sys.webUser('venue', { venueId: 'kuyakusho' });
    await signIn(page, sys.baseUrl, venueUser);
    const own = await page.goto(`${sys.baseUrl}/cards/${cards[0].cardId}`);
    expect(own!.status()).toBe(200);
    const other = await page.goto(`${sys.baseUrl}/cards/${cards[1].cardId}`);
    expect(other!.status()).toBe(404);
    await page.goto(`${sys.baseUrl}/cards?nameKana=${encodeURIComponent('ガメン')}`);
    expect(await page.locator('tbody').textContent()).toContain(cards[0].cardId);
    expect(await page.locator('tbody').textContent()).not.toContain(cards[1].cardId);
    await sys.sql(`update app_user set all_venues = true where username = ?`, [venueUser.username]);
    expect((await page.goto(`${sys.baseUrl}/cards/${cards[1].cardId}`))!.status()).toBe(200);
  });

  it('refuses an auditor who crafts a change, and any form without the right CSRF token', async () => {
    const page = await newPage();
    await signIn(page, sys.baseUrl, await sys.webUser('auditor'));
    await page.goto(`${sys.baseUrl}/cards/${cards[0].cardId}`);
    expect(await page.locator('form[action*="/actions/"]').count()).toBe(0);
    const csrf = await page.locator('input[name=_csrf]').first().inputValue();
    // Every card action, crafted with a valid CSRF token, is refused on the server.
    for (const action of ACTIONS) {
      const crafted = await page.request.post(`${sys.baseUrl}/cards/${cards[0].cardId}/actions/${action}`, {
        form: { _csrf: csrf, key: safeRandomUUID(), reason: 'x', confirm: 'yes' },
        maxRedirects: 0,
      });
      expect([action, crafted.status()]).toEqual([action, 403]);
    }
    const bulk = await page.request.post(`${sys.baseUrl}/worklists/discard/bulk`, { form: { _csrf: csrf, jobKey: safeRandomUUID(), decision: 'approve', cardIds: cards[0].cardId }, maxRedirects: 0 });
    expect(bulk.status()).toBe(403);

    const officePage = await newPage();
    await signIn(officePage, sys.baseUrl, await sys.webUser('office'));
    for (const token of [undefined, 'wrong-token']) {
      const res = await officePage.request.post(`${sys.baseUrl}/cards/${cards[0].cardId}/actions/pull_out`, {
        form: { ...(token ? { _csrf: token } : {}), key: safeRandomUUID(), reason: 'x' },
        maxRedirects: 0,
      });
      expect(res.status()).toBe(403);
      expect(await res.text()).toContain('CSRF');
    }
    expect((await sys.sql(`select state from card where card_id = ?`, [cards[0].cardId]))[0].state).not.toBe('on_hold');
  });

  it('ends sessions after 30 idle minutes and after 12 hours in all', async () => {
    for (const expire of [`last_seen_at = now() - interval '31 minutes'`, `expires_at = now() - interval '1 second'`]) {
      const page = await newPage();
      await signIn(page, sys.baseUrl, await sys.webUser('callcenter'));
      const cookie = await sessionCookie(page);
      const { createHash } = await import('node:crypto');
      await sys.sql(`update web_session set ${expire} where id = ?`, [createHash('sha256').update(cookie.value).digest('hex')]);
      await page.goto(`${sys.baseUrl}/cards`);
      expect(new URL(page.url()).pathname).toBe('/login');
    }
  });

  it(`locks an account after ${LOCK_AFTER_FAILURES} failed sign-ins in an hour from many addresses, with a message that says how it is unlocked`, async () => {
    const user = await sys.webUser('office');
    const page = await newPage();
    await page.goto(`${sys.baseUrl}/login`);
    const cookies = (await page.context().cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    const csrf = await page.locator('input[name=_csrf]').inputValue();
    // Distributed guessing: every attempt from another address (one address alone is throttled first; see auth-security.test.ts).
    let n = 0;
    const attempt = (password: string) =>
      fetch(`${sys.baseUrl}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie: cookies, 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': `198.18.${Math.floor(++n / 250)}.${(n % 250) + 1}` },
        body: new URLSearchParams({ _csrf: csrf, username: user.username, password }),
      });
    for (let i = 0; i < LOCK_AFTER_FAILURES - 1; i++) expect((await attempt('wrong')).status).toBe(401);
    expect((await attempt('wrong')).status).toBe(423);
    const locked = await attempt(user.password);
    expect(locked.status).toBe(423);
    expect(await locked.text()).toContain('user unlock');
  }, 120_000);

  it('has no WCAG 2.2 A/AA violations on the main pages', async () => {
    const page = await newPage();
    await page.goto(`${sys.baseUrl}/login`);
    const found: Record<string, string[]> = { login: await accessibilityViolations(page) };
    await signIn(page, sys.baseUrl, await sys.webUser('ward'));
    for (const [name, path] of [
      ['dashboard', '/'],
      ['cards', '/cards'],
      ['card', `/cards/${cards[0].cardId}`],
      ['worklist', '/worklists/discard'],
      ['access-log', `/access-log?card=${cards[0].cardId}`],
      ['sessions', '/account/sessions'],
      ['history', `/cards/${cards[0].cardId}/history`],
    ]) {
      await page.goto(sys.baseUrl + path);
      found[name] = await accessibilityViolations(page);
      await screenshot(page, name);
    }
    expect(found).toEqual(Object.fromEntries(Object.keys(found).map((k) => [k, []])));
  }, 120_000);

  it('works with JavaScript disabled: sign in, search, act', async () => {
    const page = await newPage({ javaScriptEnabled: false });
    await signIn(page, sys.baseUrl, await sys.webUser('office'));
    await page.goto(`${sys.baseUrl}/cards?nameKana=${encodeURIComponent('ガメン')}`);
    await page.getByRole('link', { name: cards[0].cardId }).click();
    await page.getByRole('form', { name: '引き抜き（保留）' }).getByLabel('理由（必須）').fill('区の指示');
    await page.getByRole('form', { name: '引き抜き（保留）' }).getByRole('button').click();
    await page.getByText('「引き抜き（保留）」を記録しました').waitFor();
    expect((await sys.sql(`select state from card where card_id = ?`, [cards[0].cardId]))[0].state).toBe('on_hold');
  });

  /** A new pickup card moved on by the office through `actions` (API), waiting until it exists. */
  const cardAt = async (actions: string[], resident: Record<string, unknown> = {}) => {
    const c = aCard({}, resident);
    await sys.http('POST', '/api/cards', { token: office, body: { cards: [c] } });
    await eventually(async () => (await sys.sql(`select 1 from card where card_id = ?`, [c.cardId]))[0]);
    for (const action of actions) expect([action, (await sys.http('POST', `/api/cards/${c.cardId}/actions/${action}`, { token: office, body: {} })).status]).toEqual([action, 200]);
    return c.cardId;
  };
  const toVenue = ['inspect', 'ship_to_venue', 'receive_at_venue'];
  /** A datetime-local value in Asia/Tokyo, `days` from today at `hhmm`. */

  it('shows a conflict with a colleague on the card page, in Japanese, with the state now and the actions now possible', async () => {
    const cardId = await cardAt([]);
    const office1 = await sys.webUser('office');
    const mine = await newPage();
    const colleague = await newPage();
    await signIn(mine, sys.baseUrl, office1);
    await signIn(colleague, sys.baseUrl, await sys.webUser('office'));
    await mine.goto(`${sys.baseUrl}/cards/${cardId}`);
    await colleague.goto(`${sys.baseUrl}/cards/${cardId}`);
    await colleague.getByRole('form', { name: '検品・初期設定' }).getByRole('button').click();
    await colleague.getByText('「検品・初期設定」を記録しました').waitFor();
    const answer = mine.waitForResponse((r) => r.request().method() === 'POST');
    await mine.getByRole('form', { name: '検品・初期設定' }).getByRole('button').click();
    expect((await answer).status()).toBe(409);
    const alert = mine.getByRole('alert');
    await alert.getByText('「検品・初期設定」を記録できませんでした').waitFor();
    expect(await alert.textContent()).toContain('カードの状態は「検品・初期設定済」です');
    expect(await mine.locator('main').textContent()).not.toMatch(/not allowed|inspect|ILLEGAL/);
    // The actions the card allows now are on the same page.
    expect(await mine.getByRole('form', { name: '会場へ移送' }).count()).toBe(1);
    expect(await mine.getByRole('form', { name: '検品・初期設定' }).count()).toBe(0);
    await screenshot(mine, 'card-conflict');
    expect(await accessibilityViolations(mine)).toEqual([]);
  });

  it('keeps what was typed and shows each form error beside its field: a blank reason, a slot that filled meanwhile, a My Number', async () => {
    const cardId = await cardAt(toVenue);
    const page = await newPage();
    await signIn(page, sys.baseUrl, await sys.webUser('office'));
    await page.goto(`${sys.baseUrl}/cards/${cardId}`);
    // A reason of only (full-width) spaces passes the browser's check and is blank on the server.
    const hold = () => page.getByRole('form', { name: '引き抜き（保留）' });
    await hold().getByLabel('理由（必須）').fill('\u3000\u3000');
    await hold().getByRole('button').click();
    await page.getByText('「引き抜き（保留）」を記録できませんでした').waitFor();
    expect(await hold().locator('.field-error').textContent()).toContain('理由を入力してください');
    expect(await hold().getByLabel('理由（必須）').getAttribute('aria-invalid')).toBe('true');

    // A My Number typed into the reason: refused before the controller, the form drawn again without it.
    await hold().getByLabel('理由（必須）').fill('本人の番号 1234 5678 9018 を控えた');
    const refused = page.waitForResponse((r) => r.request().method() === 'POST');
    await hold().getByRole('button').click();
    expect((await refused).status()).toBe(422);
    expect(await hold().locator('.field-error').textContent()).toContain('個人番号');
    expect(await hold().getByLabel('理由（必須）').inputValue()).toBe('');
    expect(await page.content()).not.toMatch(/1234\s*5678\s*9018/);
    expect((await sys.sql(`select state from card where card_id = ?`, [cardId]))[0].state).toBe('at_venue');

    // A slot chosen on the page that fills before the booking is sent: refused beside the time, the day kept.
    const start = bookableStart(7, '10:00', Math.floor(Math.random() * 300));
    const slot = await sys.slot('kuyakusho', start, 30 * 60_000, 1);
    const day = tokyoDate(start);
    const caller = await newPage();
    await signIn(caller, sys.baseUrl, await sys.webUser('callcenter'));
    await caller.goto(`${sys.baseUrl}/cards/${cardId}`);
    await caller.getByRole('form', { name: '予約の空き枠を探す' }).getByLabel('日').fill(day);
    await caller.getByRole('form', { name: '予約の空き枠を探す' }).getByRole('button', { name: '空き枠を表示' }).click();
    const reserve = () => caller.getByRole('form', { name: '予約', exact: true });
    await reserve().getByLabel(/^時間/).selectOption(`${slot.venueId}|${slot.startsAt}`);
    await sys.sql(`update slot set capacity = 0 where venue_id = ? and starts_at = ?`, [slot.venueId, slot.startsAt]);
    await reserve().getByRole('button').click();
    await caller.getByText('「予約」を記録できませんでした').waitFor();
    expect(await reserve().locator('.field-error').textContent()).toContain('この枠は満員になりました');
    expect(await caller.getByRole('alert').getByRole('link', { name: /この枠は満員になりました/ }).getAttribute('href')).toMatch(/^#slot-/);
    expect(await reserve().locator('label[for^="slot-"]').textContent()).toContain(`${day}`);
    expect(await accessibilityViolations(caller)).toEqual([]);
    await screenshot(caller, 'card-form-error');
  });

  it('draws the registration form again after a My Number in a field, keeping the other fields', async () => {
    const page = await newPage();
    await signIn(page, sys.baseUrl, await sys.webUser('office'));
    await page.goto(`${sys.baseUrl}/register`);
    await page.locator('#f-card_id').fill('MNTEST1');
    await page.locator('#f-name').fill('番号 入力');
    await page.locator('#f-name_kana').fill('バンゴウ ニュウリョク');
    await page.locator('#f-birth_date').fill('1980-04-01');
    await page.locator('#f-postal_code').fill('135-0016');
    await page.locator('#f-address').fill('123456789018');
    const refused = page.waitForResponse((r) => r.request().method() === 'POST');
    await page.getByRole('form', { name: '1件ずつ登録' }).getByRole('button').last().click();
    expect((await refused).status()).toBe(422);
    expect(await page.locator('#f-name').inputValue()).toBe('番号 入力');
    expect(await page.locator('#f-address').inputValue()).toBe('');
    expect(await page.locator('#f-address').getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#e-address').textContent()).toContain('個人番号');
    expect(await page.content()).not.toContain('123456789018');
  });

  it('answers a saved search that cannot be saved on the search page, with the search and the name kept', async () => {
    const page = await newPage();
    await signIn(page, sys.baseUrl, await sys.webUser('callcenter'));
    await page.goto(`${sys.baseUrl}/cards?nameKana=${encodeURIComponent('ガメン')}`);
    await page.getByLabel('いまの検索条件に付ける名前').fill('\u3000');
    const refused = page.waitForResponse((r) => r.request().method() === 'POST');
    await page.getByRole('button', { name: 'この条件を保存' }).click();
    expect((await refused).status()).toBe(400);
    expect(await page.locator('#e-savedName').textContent()).toContain('保存する名前を入力してください');
    expect(await page.getByLabel('氏名（カナ、前方一致）').inputValue()).toBe('ガメン');
    expect(await page.locator('table.stack tbody').textContent()).toContain(cards[0].cardId);
  });

  it('answers an unknown URL and a page the role may not use in Japanese, with a way back', async () => {
    const page = await newPage();
    await signIn(page, sys.baseUrl, await sys.webUser('callcenter'));
    await page.goto(`${sys.baseUrl}/cards`);
    const missing = await page.goto(`${sys.baseUrl}/nonexistent`, { referer: `${sys.baseUrl}/cards` });
    expect(missing!.status()).toBe(404);
    expect(await page.locator('h1').textContent()).toBe('ページが見つかりません');
    expect(await page.locator('main').textContent()).not.toMatch(/Cannot GET/);
    expect(await page.getByRole('link', { name: '前のページに戻る' }).getAttribute('href')).toBe('/cards');
    expect(await page.getByRole('link', { name: 'カード検索へ' }).count()).toBe(1);
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, 'not-found');
    const forbidden = await page.goto(`${sys.baseUrl}/register`);
    expect(forbidden!.status()).toBe(403);
    expect(await page.locator('main').textContent()).toContain('あなたの役割では使えません');
    expect(await page.locator('main').textContent()).not.toMatch(/role \w+|may not/);
  });

  it('asks for a decision and a confirmation before an irreversible bulk decision, and returns to the list the job came from', async () => {
    const ward = await sys.webUser('ward');
    const wardToken = await sys.token('ward');
    const removed = [await cardAt([]), await cardAt([])];
    for (const id of removed) expect((await sys.http('POST', `/api/cards/${id}/actions/mark_removed`, { token: wardToken, body: { reason: '転出' } })).status).toBe(200);
    await eventually(async () => (await sys.sql(`select count(*)::int n from card where 'discard' = any(proposal_kinds) and card_id in (?, ?)`, removed))[0].n === 2);

    const page = await newPage({ javaScriptEnabled: false });
    await signIn(page, sys.baseUrl, ward);
    await page.goto(`${sys.baseUrl}/worklists/discard`);
    expect(await page.locator('input[type=radio]:checked').count()).toBe(0);
    // An empty selection is answered on the list, with what was typed kept.
    await page.getByLabel(/^却下する/).check();
    await page.getByLabel('理由（却下は必須）').fill('区の判断で保管を続ける');
    await page.getByRole('button', { name: '実行' }).click();
    await page.locator('#e-cardIds').getByText('対象のカードを1枚以上選んでください').waitFor();
    expect(await page.getByLabel('理由（却下は必須）').inputValue()).toBe('区の判断で保管を続ける');
    expect(await page.getByLabel(/^却下する/).isChecked()).toBe(true);

    // "Select all" works without JavaScript: a link that draws the list with every box ticked.
    await page.getByRole('link', { name: 'このページのカードをすべて選ぶ' }).click();
    for (const id of removed) expect(await page.getByLabel(`${id} を選択`).isChecked()).toBe(true);
    // Other files' proposals share the list in a full run: decide on this test's cards only.
    for (const box of await page.locator('input[type=checkbox][name=cardIds]').all()) {
      if (!removed.includes(await box.inputValue()) && (await box.isChecked())) await box.uncheck();
    }

    // Approving a discard without the confirmation box is refused on the server, for the whole selection.
    const csrf = await page.locator('input[name=_csrf]').first().inputValue();
    const unconfirmed = await page.request.post(`${sys.baseUrl}/worklists/discard/bulk`, { form: { _csrf: csrf, jobKey: safeRandomUUID(), decision: 'approve', cardIds: removed[0] }, maxRedirects: 0 });
    expect(unconfirmed.status()).toBe(400);
    expect(await unconfirmed.text()).toContain('確認のチェックを入れてください');
    expect((await sys.sql(`select state from card where card_id = ?`, [removed[0]]))[0].state).toBe('removed');

    await page.getByLabel(/^承認する/).check();
    await page.getByRole('button', { name: '実行' }).click();
    await page.locator('#e-confirm').waitFor();
    expect(await page.getByLabel(`${removed[0]} を選択`).isChecked()).toBe(true);
    await page.getByLabel(/取り消せない操作であることを確認しました/).check();
    await page.getByRole('button', { name: '実行' }).click();
    await page.waitForURL(/\/jobs\//);
    await eventually(async () => (await sys.sql(`select count(*)::int n from card where state = 'discarded' and card_id in (?, ?)`, removed))[0].n === 2);
    await page.reload();
    expect(await page.locator('main').textContent()).not.toMatch(/approve_|reject_proposal/);
    expect(await page.locator('main').textContent()).toContain('廃棄を承認');
    await page.getByRole('link', { name: /ワークリスト「廃棄の提案」へ戻る/ }).click();
    expect(new URL(page.url()).pathname).toBe('/worklists/discard');
  });

  it('labels every action once, in Japanese; red only for irreversible losses; a reason only where it means something; 「—」 for empty fields', async () => {
    for (const action of Object.keys(ACTION_DEFINITIONS) as CardAction[]) {
      expect([action, actionButtonLabel(action)]).not.toEqual([action, expect.stringMatching(/を(記録|承認|取消|却下|解除|発送|提案|確定)を記録/)]);
    }
    const cardId = await cardAt([...toVenue, 'mail_notice']);
    const page = await newPage();
    await signIn(page, sys.baseUrl, await sys.webUser('venue'));
    await page.goto(`${sys.baseUrl}/cards/${cardId}`);
    const buttons = await page.locator('form[action*="/actions/"] button').allTextContents();
    for (const b of buttons) expect(b).not.toMatch(/を記録を記録|を承認を記録|を取消を記録/);
    const issue = page.getByRole('form', { name: '交付', exact: true });
    expect((await issue.getByRole('button').getAttribute('class')) ?? '').not.toContain('danger');
    expect(await issue.getByRole('checkbox').count()).toBe(1);
    expect(await issue.locator('textarea').count()).toBe(0);
    expect(await page.getByRole('form', { name: '書類不備' }).getByLabel('理由（必須）').count()).toBe(1);
    expect(await page.locator('dl.facts').first().textContent()).toMatch(/交付—/);
    expect(await page.locator('main').textContent()).not.toMatch(/受領 → 受領|Temporal|R-\d/);

    const ward = await newPage();
    await signIn(ward, sys.baseUrl, await sys.webUser('ward'));
    await ward.goto(`${sys.baseUrl}/cards/${cardId}`);
    expect(await ward.getByRole('form', { name: '住民登録消除' }).getByRole('button').textContent()).toBe('住民登録消除を記録');
    // The dashboard: the SLA as configured, no requirement numbers, each proposals block once, labels not cut off.
    await ward.goto(`${sys.baseUrl}/`);
    const main = (await ward.locator('main').textContent())!;
    expect(main).toContain('受領から10日を過ぎても');
    expect(main).not.toMatch(/14日|R-2\.2/);
    expect(await ward.getByRole('heading', { name: '承認待ちの提案', exact: true }).count()).toBe(1);
    expect(await ward.locator('svg.chart text').count()).toBeGreaterThan(0);
    const clipped = await ward.evaluate(`[...document.querySelectorAll('svg.chart text')].filter((t) => t.getBBox().x < 0).map((t) => t.textContent)`);
    expect(clipped).toEqual([]);
  });

  it('gives each worklist row why, since when, days elapsed and venue, holds with their reason, and tabs with counts', async () => {
    const held = await cardAt(toVenue);
    const proposed = await cardAt([...toVenue, 'mail_notice']);
    await eventually(async () => (await sys.sql(`select 1 from card where 'renotice' = any(proposal_kinds) and card_id = ?`, [proposed]))[0]);
    expect((await sys.http('POST', `/api/cards/${held}/actions/pull_out`, { token: office, body: { reason: '区の指示で保管' } })).status).toBe(200);
    const page = await newPage();
    await signIn(page, sys.baseUrl, await sys.webUser('ward'));
    await page.goto(`${sys.baseUrl}/worklists/on_hold`);
    const row = page.locator('tr', { has: page.getByRole('link', { name: held }) });
    expect(await row.textContent()).toContain('区の指示で保管');
    expect(await row.textContent()).toContain('江東区役所 2階');
    expect(await row.locator('td').last().textContent()).toBe('0日');
    const current = page.getByRole('navigation', { name: 'ワークリスト' }).locator('a[aria-current="page"]');
    expect(await current.textContent()).toMatch(/^保留（引き抜き）中（[1-9]\d*件）$/);
    await page.goto(`${sys.baseUrl}/worklists/renotice`);
    expect(await page.locator('tr', { has: page.getByRole('link', { name: proposed }) }).textContent()).toContain('交付通知書の発送後、一定期間受取なし');
    expect(await page.locator('thead').textContent()).toMatch(/提案の理由.*提案日.*提案からの日数/);
    expect(await page.getByRole('link', { name: /^再通知の提案（\d+件）$/ }).getAttribute('aria-current')).toBe('page');
  });

  it('shows the booked day, time and venue beside the booking number', async () => {
    const cardId = await cardAt([...toVenue, 'mail_notice']);
    const page = await newPage();
    await signIn(page, sys.baseUrl, await sys.webUser('callcenter'));
    await page.goto(`${sys.baseUrl}/cards/${cardId}`);
    // The slot choice: a venue and a day, then a free time of that day (no script needed).
    const start = bookableStart(8, '10:00', 30 * Math.floor(Math.random() * 12));
    await sys.slot('toyosu', start);
    const search = page.getByRole('form', { name: '予約の空き枠を探す' });
    await search.getByLabel('会場').selectOption('toyosu');
    await search.getByLabel('日').fill(tokyoDate(start));
    await search.getByRole('button', { name: '空き枠を表示' }).click();
    const reserve = page.getByRole('form', { name: '予約', exact: true });
    await reserve.getByLabel(/^時間/).selectOption({ value: `toyosu|${start.toISOString()}` });
    await reserve.getByRole('button').click();
    await page.getByText('「予約」を記録しました').waitFor();
    const booking = (await page.locator('dl.facts').first().textContent())!;
    const day = tokyoDate(start).replaceAll('-', '/');
    const hhmm = (d: Date) => new Date(d.getTime() + 9 * 3_600_000).toISOString().slice(11, 16);
    expect(booking).toMatch(new RegExp(`予約${day}（[日月火水木金土]）${hhmm(start)}〜${hhmm(new Date(start.getTime() + 1_800_000))}豊洲.*（予約番号 \\d{10}）`));
    expect(await page.getByRole('form', { name: '予約を取消' }).getByRole('button').textContent()).toBe('予約を取消');
  });

  it('reflows the card list, the card page and a worklist on a 390 px screen without sideways scrolling', async () => {
    const page = await (await browser.newContext({ locale: 'ja-JP', viewport: { width: 390, height: 844 } })).newPage();
    await signIn(page, sys.baseUrl, await sys.webUser('ward'));
    const widths: Record<string, number> = {};
    for (const [name, path] of [
      ['cards', `/cards?nameKana=${encodeURIComponent('ガメン')}`],
      ['card', `/cards/${cards[0].cardId}`],
      ['worklist', '/worklists/renotice'],
    ]) {
      await page.goto(sys.baseUrl + path);
      widths[name] = await page.evaluate<number>('document.scrollingElement.scrollWidth');
      await screenshot(page, `phone-${name}`);
    }
    expect(widths).toEqual({ cards: expect.any(Number), card: expect.any(Number), worklist: expect.any(Number) });
    for (const [name, w] of Object.entries(widths)) expect([name, w <= 390]).toEqual([name, true]);
    // The rows are stacked: each cell says what it is.
    await page.goto(`${sys.baseUrl}/cards?nameKana=${encodeURIComponent('ガメン')}`);
    expect(await page.evaluate(`getComputedStyle(document.querySelector('tbody td[data-label="状態"]')).display`)).toBe('block');
  });
});
