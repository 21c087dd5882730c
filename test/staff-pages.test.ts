/**
 * The staff workplace in real Chromium over HTTP: sign-in per role (TOTP for the ward), search,
 * card page and actions, bulk approval with progress, venue scoping, auditors, CSRF, session
 * timeouts, lockout, accessibility (axe, WCAG 2.2 A/AA) and pages without JavaScript.
 * Screenshots go to test-artifacts/ (not committed).
 */
import type { Browser, Page } from 'playwright-core';
import { LOCK_AFTER_FAILURES } from '../src/auth/web-auth.service.js';
import { ACTIONS } from '../workflows/card-state-machine.js';
import { accessibilityViolations, launchBrowser, screenshot, signIn } from './support/browser.js';
import { TestSystem, aCard, eventually } from './support/test-system.js';

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
    sys = await TestSystem.start({ policy: { renoticeAfterMs: 1_000 } });
    browser = await launchBrowser();
    office = await sys.token('office');
    await sys.http('POST', '/api/cards', { token: office, body: { cards } });
    await eventually(async () => (await sys.sql(`select count(*)::int n from card where card_id in (?, ?)`, [cards[0].cardId, cards[1].cardId]))[0].n === 2);
  });
  afterAll(async () => {
    await browser?.close();
    await sys?.stop();
  });

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
    await page.goto(`${sys.baseUrl}/login`);
    await page.getByLabel('ユーザー名').fill(ward.username);
    await page.getByLabel('パスワード').fill(ward.password);
    await page.getByRole('button', { name: 'ログイン' }).click();
    await page.waitForURL(/\/login\/totp/);
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
    await signIn(page, sys.baseUrl, await sys.webUser('office'));
    await page.goto(`${sys.baseUrl}/cards`);
    await page.getByLabel('氏名（カナ、前方一致）').fill('ガメン');
    await page.getByRole('button', { name: '検索' }).click();
    await page.getByRole('link', { name: cards[0].cardId }).click();
    await page.getByRole('heading', { name: `カード ${cards[0].cardId}` }).waitFor();
    const reads = await sys.sql<{ n: number }>(`select count(*)::int n from access_log where kind = 'read' and channel = 'web' and ? = any(card_ids)`, [cards[0].cardId]);
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
        form: { _csrf: csrf, key: crypto.randomUUID(), reason: 'x', confirm: 'yes' },
        maxRedirects: 0,
      });
      expect([action, crafted.status()]).toEqual([action, 403]);
    }
    const bulk = await page.request.post(`${sys.baseUrl}/worklists/discard/bulk`, { form: { _csrf: csrf, jobKey: crypto.randomUUID(), decision: 'approve', cardIds: cards[0].cardId }, maxRedirects: 0 });
    expect(bulk.status()).toBe(403);

    const officePage = await newPage();
    await signIn(officePage, sys.baseUrl, await sys.webUser('office'));
    for (const token of [undefined, 'wrong-token']) {
      const res = await officePage.request.post(`${sys.baseUrl}/cards/${cards[0].cardId}/actions/pull_out`, {
        form: { ...(token ? { _csrf: token } : {}), key: crypto.randomUUID(), reason: 'x' },
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
  });

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
});
