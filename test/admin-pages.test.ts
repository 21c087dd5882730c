/**
 * User administration and saved searches in real Chromium over HTTP: an administrator creates users,
 * changes them, sets passwords, disables, unlocks, resets second factors, issues and revokes API
 * tokens; other roles are refused; accessibility (axe, WCAG 2.2 A/AA) and pages without JavaScript.
 * Then the card search's saved searches: save, list, follow, delete, and only one's own.
 */
import { safeRandomUUID } from '../src/common/my-number.js';
import { createHash } from 'node:crypto';
import type { Browser, Page, Response } from 'playwright-core';
import { AuthService } from '../src/auth/auth.service.js';
import { accessibilityViolations, launchBrowser, screenshot, signIn } from './support/browser.js';
import { TestSystem, aCard, eventually } from './support/test-system.js';

describe('user administration and saved searches in Chromium', () => {
  let sys: TestSystem;
  let browser: Browser;
  let admin: { username: string; password: string; totpSecret?: string };
  let adminPage: Page;

  beforeAll(async () => {
    sys = await TestSystem.start();
    browser = await launchBrowser();
    admin = await sys.webUser('admin');
    adminPage = await newPage();
    await signIn(adminPage, sys.baseUrl, admin);
  });
  afterAll(async () => {
    await browser?.close();
    await sys?.stop();
  });

  const newPage = async (opts: { javaScriptEnabled?: boolean } = {}) => (await browser.newContext({ locale: 'ja-JP', ...opts })).newPage();
  const userId = async (username: string) => (await sys.sql<{ id: string }>(`select id from app_user where username = ?`, [username]))[0].id;
  const uniqueName = (prefix: string) => `${prefix}-${safeRandomUUID().slice(0, 8)}`;
  /** Clicks a form's button and returns the response to the POST (pages redirect after a change). */
  const submit = async (page: Page, button: string): Promise<Response> => {
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      page.waitForEvent('load'),
      page.getByRole('button', { name: button, exact: true }).click(),
    ]);
    return res;
  };
  const lastChange = async (like: string) =>
    (await sys.sql<{ detail: string; user_id: string; channel: string }>(`select detail, user_id, channel from access_log where kind = 'change' and detail like ? order by id desc limit 1`, [like]))[0];

  async function createUser(page: Page, u: { username: string; displayName: string; role: string; venueId?: string; password: string }): Promise<string> {
    await page.goto(`${sys.baseUrl}/admin/users/new`);
    await page.getByLabel('ユーザー名', { exact: true }).fill(u.username);
    await page.getByLabel('表示名', { exact: true }).fill(u.displayName);
    await page.getByLabel('役割', { exact: true }).selectOption(u.role);
    if (u.venueId) await page.getByLabel('会場', { exact: true }).selectOption(u.venueId);
    await page.getByLabel('初期パスワード', { exact: true }).fill(u.password);
    await submit(page, '利用者を作成');
    await page.getByText('利用者を作成しました').waitFor();
    return new URL(page.url()).pathname;
  }

  it('creates a user, who signs in with the initial password; the list shows the sign-in', async () => {
    const user = { username: uniqueName('new-office'), displayName: '新規 事務', role: 'office', password: `initial-${safeRandomUUID()}` };
    const path = await createUser(adminPage, user);
    expect(path).toBe(`/admin/users/${await userId(user.username)}`);
    await screenshot(adminPage, 'admin-user');

    const page = await newPage();
    await signIn(page, sys.baseUrl, user);
    await page.getByRole('heading', { name: /ダッシュボード/ }).waitFor();
    expect(await page.locator('header .who').textContent()).toContain('新規 事務（事務センター）');

    await adminPage.goto(`${sys.baseUrl}/admin/users`);
    const row = adminPage.getByRole('row').filter({ hasText: user.username });
    expect(await row.textContent()).toMatch(/新規 事務\s*事務センター\s*なし\s*利用中\s*未設定\s*\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}/);
    await screenshot(adminPage, 'admin-users');

    const logged = await lastChange(`admin: created user ${user.username}%`);
    expect(logged).toMatchObject({ user_id: admin.username, channel: 'web' });
    expect(logged.detail).not.toContain(user.password);
  });

  it('refuses a bad form with the reasons beside the fields, keeping what was typed', async () => {
    await adminPage.goto(`${sys.baseUrl}/admin/users/new`);
    await adminPage.getByLabel('ユーザー名', { exact: true }).fill('x y');
    await adminPage.getByLabel('表示名', { exact: true }).fill('会場 担当');
    await adminPage.getByLabel('役割', { exact: true }).selectOption('venue');
    await adminPage.getByLabel('初期パスワード', { exact: true }).fill('123456789012');
    const res = await submit(adminPage, '利用者を作成');
    expect(res.status()).toBe(400);
    await adminPage.getByText('ユーザー名は半角英数字で始まり').first().waitFor();
    await adminPage.getByText('役割が「交付会場」のときは会場を選んでください').first().waitFor();
    expect(await adminPage.getByLabel('表示名', { exact: true }).inputValue()).toBe('会場 担当');
    expect(await adminPage.getByLabel('初期パスワード', { exact: true }).inputValue()).toBe('');
    expect(await accessibilityViolations(adminPage)).toEqual([]);

    // A password under 12 characters never gets past the server either (the browser checks it first).
    const csrf = await adminPage.locator('input[name=_csrf]').first().inputValue();
    const short = await adminPage.request.post(`${sys.baseUrl}/admin/users`, { form: { _csrf: csrf, username: uniqueName('short'), displayName: 'x', role: 'office', password: 'short-pw' }, maxRedirects: 0 });
    expect(short.status()).toBe(400);
    expect(await short.text()).toContain('パスワードは12文字以上にしてください');
    const taken = await adminPage.request.post(`${sys.baseUrl}/admin/users`, { form: { _csrf: csrf, username: admin.username, displayName: 'x', role: 'office', password: 'long-enough-password' }, maxRedirects: 0 });
    expect(taken.status()).toBe(409);
    expect(await taken.text()).toContain('既に使われています');
  });

  it('issues an API token shown once, which works until it is revoked', async () => {
    const user = await sys.webUser('office');
    await adminPage.goto(`${sys.baseUrl}/admin/users/${await userId(user.username)}`);
    await adminPage.getByLabel('名前（用途）', { exact: true }).fill('連携テスト');
    const issued = await submit(adminPage, 'トークンを発行');
    expect(issued.headers()['cache-control']).toBe('no-store');
    await adminPage.getByRole('heading', { name: 'APIトークンを発行しました' }).waitFor();
    const token = (await adminPage.locator('#token').textContent())!.trim();
    expect(token).toMatch(/^kct_[A-Za-z0-9_-]{43}$/);
    expect(await accessibilityViolations(adminPage)).toEqual([]);
    await screenshot(adminPage, 'admin-token');

    // Only the SHA-256 is stored; the user page lists the token without showing it.
    const stored = await sys.sql<{ id: string; token_hash: string }>(`select t.id, t.token_hash from api_token t join app_user u on u.id = t.user_id where u.username = ? and t.name = '連携テスト'`, [user.username]);
    expect(stored).toEqual([{ id: expect.any(String), token_hash: createHash('sha256').update(token).digest('hex') }]);
    expect((await sys.http('GET', '/api/cards', { token })).status).toBe(200);
    await adminPage.getByRole('link', { name: /に戻る/ }).click();
    const row = adminPage.getByRole('row').filter({ hasText: '連携テスト' });
    expect(await row.textContent()).toMatch(/連携テスト\s*\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}\s*\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}\s*有効/);
    expect(await adminPage.content()).not.toContain(token);
    expect((await lastChange(`admin: created API token ${stored[0].id}%`)).detail).not.toContain(token);

    await row.getByRole('button', { name: /失効させる/ }).click();
    await adminPage.getByText('APIトークンを失効させました').waitFor();
    expect((await sys.http('GET', '/api/cards', { token })).status).toBe(401);
    expect(await adminPage.getByRole('row').filter({ hasText: '連携テスト' }).getByRole('button').count()).toBe(0);
    expect((await lastChange(`admin: revoked API token ${stored[0].id}%`)).user_id).toBe(admin.username);
  });

  it('disabling a signed-in user ends their pages and tokens on the next request; enabling lets them back', async () => {
    const user = await sys.webUser('callcenter');
    const { token } = await sys.app.get(AuthService).createToken(user.username, 'before');
    const page = await newPage();
    await signIn(page, sys.baseUrl, user);
    expect((await page.goto(`${sys.baseUrl}/cards`))!.status()).toBe(200);
    expect((await sys.http('GET', '/api/cards', { token })).status).toBe(200);

    await adminPage.goto(`${sys.baseUrl}/admin/users/${await userId(user.username)}`);
    await submit(adminPage, '利用を停止');
    await adminPage.getByText('利用を停止しました').waitFor();

    await page.goto(`${sys.baseUrl}/cards`);
    expect(new URL(page.url()).pathname).toBe('/login');
    expect((await sys.http('GET', '/api/cards', { token })).status).toBe(401);
    await page.getByLabel('ユーザー名', { exact: true }).fill(user.username);
    await page.getByLabel('パスワード', { exact: true }).fill(user.password);
    await page.getByRole('button', { name: 'ログイン' }).click();
    await page.getByText('ユーザー名またはパスワードが違います').waitFor();
    expect((await lastChange(`admin: disabled user ${user.username}%`)).detail).toMatch(/ended 1 sessions/);

    await submit(adminPage, '利用を再開');
    await adminPage.getByText('利用を再開しました').waitFor();
    expect((await sys.http('GET', '/api/cards', { token })).status).toBe(200);
    await signIn(page, sys.baseUrl, user);
    expect((await page.goto(`${sys.baseUrl}/cards`))!.status()).toBe(200);
  });

  it('unlocks a locked account; earlier failures no longer count', async () => {
    const user = await sys.webUser('office');
    const id = await userId(user.username);
    // Locked as if by 100 failures in the last hour.
    await sys.sql(`insert into login_attempt (user_id, username, success, ip) select ?, ?, false, '127.0.0.1' from generate_series(1, 100)`, [id, user.username]);
    await sys.sql(`update app_user set locked_at = now() where id = ?`, [id]);
    const page = await newPage();
    await page.goto(`${sys.baseUrl}/login`);
    await page.getByLabel('ユーザー名', { exact: true }).fill(user.username);
    await page.getByLabel('パスワード', { exact: true }).fill(user.password);
    const [refused] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.getByRole('button', { name: 'ログイン' }).click()]);
    expect(refused.status()).toBe(423);
    await page.getByText('ロックされています').waitFor();

    await adminPage.goto(`${sys.baseUrl}/admin/users`);
    expect(await adminPage.getByRole('row').filter({ hasText: user.username }).textContent()).toContain('ロック中');
    await adminPage.getByRole('link', { name: user.username }).click();
    await submit(adminPage, 'ロックを解除');
    await adminPage.getByText('ロックを解除しました').waitFor();
    expect((await sys.sql(`select locked_at from app_user where id = ?`, [id]))[0].locked_at).toBeNull();
    expect((await lastChange(`admin: unlocked user ${user.username}`)).user_id).toBe(admin.username);

    // One more mistake after the unlock is an ordinary failure, not a new lock.
    await page.goto(`${sys.baseUrl}/login`);
    await page.getByLabel('ユーザー名', { exact: true }).fill(user.username);
    await page.getByLabel('パスワード', { exact: true }).fill('wrong password');
    await page.getByRole('button', { name: 'ログイン' }).click();
    await page.getByText('ユーザー名またはパスワードが違います').waitFor();
    await signIn(page, sys.baseUrl, user);
    await page.getByRole('heading', { name: /ダッシュボード/ }).waitFor();
  });

  it('changes role, venue and display name; a venue user needs a venue', async () => {
    const user = await sys.webUser('office');
    await adminPage.goto(`${sys.baseUrl}/admin/users/${await userId(user.username)}`);
    await adminPage.getByLabel('表示名', { exact: true }).fill('豊洲 会場係');
    await adminPage.getByLabel('役割', { exact: true }).selectOption('venue');
    const refused = await submit(adminPage, '変更を保存');
    expect(refused.status()).toBe(400);
    await adminPage.getByText('役割が「交付会場」のときは会場を選んでください').first().waitFor();
    expect(await adminPage.getByLabel('表示名', { exact: true }).inputValue()).toBe('豊洲 会場係');
    expect(await accessibilityViolations(adminPage)).toEqual([]);

    await adminPage.getByLabel('会場', { exact: true }).selectOption('toyosu');
    await submit(adminPage, '変更を保存');
    await adminPage.getByText('役割・会場・表示名を変更しました').waitFor();
    expect((await sys.sql(`select display_name, role, venue_id from app_user where username = ?`, [user.username]))[0]).toEqual({ display_name: '豊洲 会場係', role: 'venue', venue_id: 'toyosu' });
    expect((await lastChange(`admin: changed user ${user.username}%`)).detail).toContain('role office -> venue, venue - -> toyosu');

    // On the ward's instruction, a venue user may be widened to every venue's cards.
    await adminPage.getByLabel('全会場のカードを閲覧・操作できる').check();
    await submit(adminPage, '変更を保存');
    expect((await sys.sql(`select all_venues from app_user where username = ?`, [user.username]))[0].all_venues).toBe(true);
    expect((await lastChange(`admin: changed user ${user.username}%`)).detail).toContain('all venues false -> true');
  });

  it('sets a new password: the old one stops working, the new one works', async () => {
    const user = await sys.webUser('auditor');
    await adminPage.goto(`${sys.baseUrl}/admin/users/${await userId(user.username)}`);
    const password = `renewed-${safeRandomUUID()}`;
    await adminPage.getByLabel('新しいパスワード', { exact: true }).fill(password);
    await submit(adminPage, 'パスワードを設定');
    await adminPage.getByText('新しいパスワードを設定しました').waitFor();
    const page = await newPage();
    await page.goto(`${sys.baseUrl}/login`);
    await page.getByLabel('ユーザー名', { exact: true }).fill(user.username);
    await page.getByLabel('パスワード', { exact: true }).fill(user.password);
    await page.getByRole('button', { name: 'ログイン' }).click();
    await page.getByText('ユーザー名またはパスワードが違います').waitFor();
    await signIn(page, sys.baseUrl, { username: user.username, password });
    const logged = await lastChange(`admin: set a new password for ${user.username}%`);
    expect(logged.detail).not.toContain(password);
  });

  it("resets a user's second factor: they enrol again at the next sign-in", async () => {
    const ward = await sys.webUser('ward');
    await adminPage.goto(`${sys.baseUrl}/admin/users/${await userId(ward.username)}`);
    await submit(adminPage, '二要素認証をリセット');
    await adminPage.getByText('二要素認証をリセットしました').waitFor();
    const page = await newPage();
    await page.goto(`${sys.baseUrl}/login`);
    await page.getByLabel('ユーザー名', { exact: true }).fill(ward.username);
    await page.getByLabel('パスワード', { exact: true }).fill(ward.password);
    await page.getByRole('button', { name: 'ログイン' }).click();
    await page.waitForURL(/\/login\/totp-setup/);
  });

  it('refuses an administrator who would disable or demote themselves', async () => {
    await adminPage.goto(`${sys.baseUrl}/admin/users/${await userId(admin.username)}`);
    const disable = await submit(adminPage, '利用を停止');
    expect(disable.status()).toBe(409);
    await adminPage.getByText('ご自身を無効にすることはできません').waitFor();
    await adminPage.getByLabel('役割', { exact: true }).selectOption('office');
    const demote = await submit(adminPage, '変更を保存');
    expect(demote.status()).toBe(409);
    await adminPage.getByText('ご自身の役割は変更できません。管理者がいなくなる').waitFor();
    expect((await sys.sql(`select role, disabled_at from app_user where username = ?`, [admin.username]))[0]).toEqual({ role: 'admin', disabled_at: null });
    expect((await adminPage.goto(`${sys.baseUrl}/admin/users`))!.status()).toBe(200);
  });

  it('refuses the admin pages to every other role', async () => {
    for (const role of ['ward', 'office', 'auditor'] as const) {
      const page = await newPage();
      await signIn(page, sys.baseUrl, await sys.webUser(role));
      expect((await page.goto(`${sys.baseUrl}/admin/users`))!.status()).toBe(403);
      expect(await page.getByRole('link', { name: '利用者管理' }).count()).toBe(0);
      const csrf = await page.locator('input[name=_csrf]').first().inputValue();
      const crafted = await page.request.post(`${sys.baseUrl}/admin/users`, { form: { _csrf: csrf, username: uniqueName('crafted'), displayName: 'x', role: 'admin', password: 'long-enough-password' }, maxRedirects: 0 });
      expect(crafted.status()).toBe(403);
      await page.context().close();
    }
    expect((await sys.sql(`select count(*)::int n from app_user where username like 'crafted-%'`))[0].n).toBe(0);
  });

  it('has no WCAG 2.2 A/AA violations on the admin pages', async () => {
    const found: Record<string, string[]> = {};
    for (const [name, path] of [
      ['admin-users', '/admin/users'],
      ['admin-user-new', '/admin/users/new'],
      ['admin-user', `/admin/users/${await userId(admin.username)}`],
    ]) {
      await adminPage.goto(sys.baseUrl + path);
      found[name] = await accessibilityViolations(adminPage);
    }
    expect(found).toEqual(Object.fromEntries(Object.keys(found).map((k) => [k, []])));
  });

  it('works with JavaScript disabled: an administrator creates a user', async () => {
    const page = await newPage({ javaScriptEnabled: false });
    await signIn(page, sys.baseUrl, admin);
    await page.goto(`${sys.baseUrl}/admin/users`);
    await page.getByRole('link', { name: '利用者を追加' }).click();
    const user = { username: uniqueName('nojs'), displayName: 'JSなし 会場', role: 'venue', venueId: 'oshima', password: `initial-${safeRandomUUID()}` };
    await createUser(page, user);
    expect((await sys.sql(`select role, venue_id, password_hash is not null as has_password from app_user where username = ?`, [user.username]))[0]).toEqual({ role: 'venue', venue_id: 'oshima', has_password: true });
    const other = await newPage({ javaScriptEnabled: false });
    await signIn(other, sys.baseUrl, user);
  });

  describe('saved searches on the card search page', () => {
    const card = aCard({}, { name: '保存 検索', nameKana: 'ホゾン ケンサク' });

    beforeAll(async () => {
      await sys.http('POST', '/api/cards', { token: await sys.token('office'), body: card });
      await eventually(async () => (await sys.sql(`select 1 from card where card_id = ?`, [card.cardId]))[0]);
    });

    it('saves the current filters, lists them as links that bring the filters back, and deletes them; only for their owner', async () => {
      const owner = await sys.webUser('office');
      const page = await newPage();
      await signIn(page, sys.baseUrl, owner);
      await page.goto(`${sys.baseUrl}/cards`);
      await page.getByText('保存した検索条件はありません').waitFor();
      await page.getByLabel('氏名（カナ、前方一致）', { exact: true }).fill('ホゾン');
      await page.getByLabel('状態', { exact: true }).selectOption('received');
      await page.getByRole('button', { name: '検索', exact: true }).click();
      await page.waitForURL(/nameKana=/);
      await page.getByLabel('いまの検索条件に付ける名前', { exact: true }).fill('受領済みのホゾンさん');
      await submit(page, 'この条件を保存');
      await page.getByText('検索条件を保存しました').waitFor();
      const rows = await sys.sql<{ id: string; query: string }>(`select s.id, s.query from saved_search s join app_user u on u.id = s.user_id where u.username = ?`, [owner.username]);
      expect(rows).toHaveLength(1);
      expect(Object.fromEntries(new URLSearchParams(rows[0].query))).toEqual({ nameKana: 'ホゾン', state: 'received' });
      expect(await accessibilityViolations(page)).toEqual([]);
      await screenshot(page, 'cards-saved-searches');

      // Following the link from a cleared page brings the filters (and the card) back.
      await page.getByRole('link', { name: '条件をクリア' }).click();
      expect(await page.getByLabel('氏名（カナ、前方一致）', { exact: true }).inputValue()).toBe('');
      await page.getByRole('link', { name: '受領済みのホゾンさん' }).click();
      expect(await page.getByLabel('氏名（カナ、前方一致）', { exact: true }).inputValue()).toBe('ホゾン');
      expect(await page.getByLabel('状態', { exact: true }).inputValue()).toBe('received');
      await page.getByRole('link', { name: card.cardId }).waitFor();

      // Another user sees none of it, and cannot delete it by crafting the form.
      const other = await newPage();
      await signIn(other, sys.baseUrl, await sys.webUser('office'));
      await other.goto(`${sys.baseUrl}/cards`);
      await other.getByText('保存した検索条件はありません').waitFor();
      expect(await other.getByRole('link', { name: '受領済みのホゾンさん' }).count()).toBe(0);
      const csrf = await other.locator('input[name=_csrf]').first().inputValue();
      const crafted = await other.request.post(`${sys.baseUrl}/cards/saved-searches/${rows[0].id}/delete`, { form: { _csrf: csrf }, maxRedirects: 0 });
      expect(crafted.status()).toBe(303);
      expect(await sys.sql(`select 1 from saved_search where id = ?`, [rows[0].id])).toHaveLength(1);
      const notUuid = await other.request.post(`${sys.baseUrl}/cards/saved-searches/not-a-uuid/delete`, { form: { _csrf: csrf }, maxRedirects: 0 });
      expect(notUuid.status()).toBe(400);

      await page.getByRole('row', { name: /受領済みのホゾンさん/ }).getByRole('button', { name: /削除/ }).click();
      await page.getByText('保存した検索条件を削除しました').waitFor();
      expect(await page.getByRole('link', { name: '受領済みのホゾンさん' }).count()).toBe(0);
      expect(await page.getByLabel('氏名（カナ、前方一致）', { exact: true }).inputValue()).toBe('ホゾン');
      expect(await sys.sql(`select 1 from saved_search where id = ?`, [rows[0].id])).toHaveLength(0);
    });

    it('works with JavaScript disabled', async () => {
      const page = await newPage({ javaScriptEnabled: false });
      await signIn(page, sys.baseUrl, await sys.webUser('venue', { venueId: 'kuyakusho' }));
      await page.goto(`${sys.baseUrl}/cards?nameKana=${encodeURIComponent('ホゾン')}`);
      await page.getByLabel('いまの検索条件に付ける名前', { exact: true }).fill('ホゾン');
      await submit(page, 'この条件を保存');
      await page.getByRole('link', { name: 'ホゾン', exact: true }).click();
      expect(await page.getByLabel('氏名（カナ、前方一致）', { exact: true }).inputValue()).toBe('ホゾン');
    });
  });
});
