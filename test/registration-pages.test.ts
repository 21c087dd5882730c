/**
 * Card registration pages in real Chromium: one card by form, many by CSV with a dry run
 * that lists every bad row before anything is saved, all or nothing; roles, CSRF on the multipart
 * form, individual numbers refused and never echoed, accessibility (axe) and pages without JavaScript.
 */
import iconv from 'iconv-lite';
import type { Browser, Page } from 'playwright-core';
import { safeRandomUUID, isValidMyNumber } from '../src/common/my-number.js';
import { accessibilityViolations, launchBrowser, screenshot, signIn } from './support/browser.js';
import { TestSystem, aCard, eventually } from './support/test-system.js';

/** A valid individual number (11 digits and their check digit). */
function myNumber(base = '98765432109'): string {
  for (let d = 0; d <= 9; d++) if (isValidMyNumber(`${base}${d}`)) return `${base}${d}`;
  throw new Error('unreachable');
}

const newId = () => `R${safeRandomUUID().replace(/-/g, '').slice(0, 10).toUpperCase()}`;

const HEADER = 'card_id,route,name,name_kana,birth_date,postal_code,address,phone,nationality';
interface Row {
  route?: string;
  name?: string;
  kana?: string;
  birth?: string;
  postal?: string;
  address?: string;
  phone?: string;
  nationality?: string;
}
const row = (id: string, r: Row = {}) =>
  [id, r.route ?? 'pickup', r.name ?? '登録 花子', r.kana ?? 'トウロク ハナコ', r.birth ?? '1985-05-05', r.postal ?? '135-0016', r.address ?? '江東区東陽4-11-28', r.phone ?? '03-3647-9111', r.nationality ?? ''].join(',');
const csv = (...rows: string[]) => `${[HEADER, ...rows].join('\r\n')}\r\n`;

describe('card registration pages in Chromium', () => {
  let sys: TestSystem;
  let browser: Browser;
  const existing = aCard({}, { name: '既存 一郎', nameKana: 'キゾン イチロウ' });
  const number = myNumber();

  beforeAll(async () => {
    sys = await TestSystem.start();
    browser = await launchBrowser();
    const token = await sys.token('office');
    expect((await sys.http('POST', '/api/cards', { token, body: existing })).status).toBe(200);
  });
  afterAll(async () => {
    await browser?.close();
    await sys?.stop();
  });

  const newPage = async (opts: { javaScriptEnabled?: boolean } = {}) => (await browser.newContext({ locale: 'ja-JP', ...opts })).newPage();
  const signedIn = async (role: 'office' | 'ward' | 'callcenter', opts: { javaScriptEnabled?: boolean } = {}) => {
    const page = await newPage(opts);
    await signIn(page, sys.baseUrl, await sys.webUser(role));
    return page;
  };
  const residents = async (ids: string[]) =>
    sys.sql<{ card_id: string; name: string; name_kana: string; birth_date: string; postal_code: string; nationality: string | null }>(
      `select card_id, name, name_kana, to_char(birth_date, 'YYYY-MM-DD') birth_date, postal_code, nationality from card_resident where card_id in (${ids.map(() => '?').join(', ')}) order by card_id`,
      ids,
    );
  const single = (page: Page) => page.getByRole('form', { name: '1件ずつ登録' });
  const upload = async (page: Page, bytes: Buffer, button: '確認（登録しない）' | '登録する') => {
    const form = page.getByRole('form', { name: 'CSVファイルでまとめて登録' });
    await form.getByLabel('CSVファイル').setInputFiles({ name: 'cards.csv', mimeType: 'text/csv', buffer: bytes });
    await form.getByRole('button', { name: button, exact: true }).click();
    await page.waitForLoadState();
  };
  const badRows = async (page: Page) => {
    const rows: string[][] = [];
    for (const tr of await page.getByRole('table', { name: /問題のある行/ }).locator('tbody tr').all()) rows.push((await tr.locator('td').allTextContents()).map((t) => t.trim()));
    return rows;
  };

  it('registers one card through the form and opens its page', async () => {
    const page = await signedIn('office');
    await page.getByRole('navigation', { name: 'メインメニュー' }).getByRole('link', { name: 'カード登録' }).click();
    await page.getByRole('heading', { name: 'カード登録', level: 1 }).waitFor();
    const id = newId();
    const form = single(page);
    await form.locator('#f-card_id').fill(id);
    await form.locator('#f-route').selectOption('counter');
    await form.locator('#f-card_expires_on').fill('2036-04-01');
    await form.locator('#f-name').fill('登録 太郎');
    await form.locator('#f-name_kana').fill('ﾄｳﾛｸ ﾀﾛｳ');
    await form.locator('#f-birth_date').fill('1975-10-10');
    await form.locator('#f-postal_code').fill('1350016');
    await form.locator('#f-address').fill('江東区東陽4-11-28');
    await form.locator('#f-phone').fill('03-3647-9111');
    await form.locator('#f-alphabet_name').fill('TOROKU TARO');
    await form.locator('#f-common_name').fill('登録 通称');
    await form.locator('#f-name_category').selectOption('common');
    await form.locator('#f-nationality').fill('ブラジル');
    await form.locator('#f-residence_period_end').fill('2030-03-31');
    await screenshot(page, 'register-form');
    await form.getByRole('button', { name: 'このカードを登録する' }).click();
    await page.waitForURL(new RegExp(`/cards/${id}$`));
    await page.getByRole('heading', { name: `カード ${id}` }).waitFor();
    expect(await page.locator('dl.facts').last().textContent()).toContain('トウロク タロウ');
    const [stored] = await sys.sql(`select * from card_resident where card_id = ?`, [id]);
    expect(stored).toMatchObject({ name: '登録 太郎', name_kana: 'トウロク タロウ', alphabet_name: 'TOROKU TARO', common_name: '登録 通称', name_category: 'common', postal_code: '135-0016', nationality: 'ブラジル' });
    const [card] = await sys.sql(`select route, to_char(expires_on, 'YYYY-MM-DD') expires_on from card where card_id = ?`, [id]);
    // The residence period ends before the card: it is the card's expiry.
    expect(card).toEqual({ route: 'counter', expires_on: '2030-03-31' });
    const logged = await sys.sql(`select kind, channel from access_log where kind = 'register' and ? = any(card_ids)`, [id]);
    expect(logged).toEqual([{ kind: 'register', channel: 'web' }]);
  });

  it('names every bad field beside its input, keeps the values and saves nothing; an existing id says so', async () => {
    const page = await signedIn('office');
    await page.goto(`${sys.baseUrl}/register`);
    const form = single(page);
    await form.locator('#f-card_id').fill('bad id!');
    await form.locator('#f-name').fill('不正 入力');
    await form.locator('#f-name_kana').fill('fusei');
    await form.locator('#f-birth_date').fill('1980-04-01');
    await form.locator('#f-postal_code').fill('12345');
    await form.locator('#f-address').fill('江東区東陽4-11-28');
    await form.locator('#f-phone').fill('電話');
    const response = page.waitForResponse((r) => r.url().endsWith('/register') && r.request().method() === 'POST');
    await form.getByRole('button', { name: 'このカードを登録する' }).click();
    expect((await response).status()).toBe(400);
    await page.getByRole('heading', { name: /入力内容に誤りがあります（4件）/ }).waitFor();
    const summary = await page.getByRole('alert').filter({ hasText: '入力内容に誤りがあります' }).getByRole('link').allTextContents();
    expect(summary).toEqual([
      'カード番号: 英数字とハイフンで32文字までにしてください（先頭は英数字）',
      '氏名（カナ）: カタカナで入力してください（200文字まで）',
      '郵便番号: 7桁の郵便番号を入力してください（例: 135-0016）',
      '電話番号: 電話番号は数字・ハイフン・括弧・+ で6〜20文字にしてください',
    ]);
    // Each message sits beside its input, which says it is invalid and is described by it.
    for (const key of ['card_id', 'name_kana', 'postal_code', 'phone']) {
      const input = page.locator(`#f-${key}`);
      expect(await input.getAttribute('aria-invalid')).toBe('true');
      expect(await input.getAttribute('aria-describedby')).toContain(`e-${key}`);
      expect(await page.locator(`#e-${key}`).isVisible()).toBe(true);
    }
    expect(await page.locator('#f-name').getAttribute('aria-invalid')).toBeNull();
    expect(await page.locator('#f-name').inputValue()).toBe('不正 入力');
    expect(await page.locator('#f-name_kana').inputValue()).toBe('fusei');
    expect(await page.locator('#f-birth_date').inputValue()).toBe('1980-04-01');
    expect((await sys.sql(`select count(*)::int n from card_resident where name = ?`, ['不正 入力']))[0].n).toBe(0);
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, 'register-form-errors');

    // An id already registered: nothing changes, and the page links to that card.
    await page.locator('#f-card_id').fill(existing.cardId);
    await page.locator('#f-name_kana').fill('フセイ ニュウリョク');
    await page.locator('#f-postal_code').fill('135-0016');
    await page.locator('#f-phone').fill('');
    await single(page).getByRole('button', { name: 'このカードを登録する' }).click();
    await page.getByText(`カード番号 ${existing.cardId} は既に登録されています`).waitFor();
    await page.getByRole('link', { name: `登録済みのカード ${existing.cardId} を開く` }).click();
    await page.getByRole('heading', { name: `カード ${existing.cardId}` }).waitFor();
    expect((await residents([existing.cardId]))[0].name).toBe('既存 一郎');
  });

  it('refuses an individual number typed into the form, without echoing it', async () => {
    const page = await signedIn('office');
    await page.goto(`${sys.baseUrl}/register`);
    const id = newId();
    const form = single(page);
    await form.locator('#f-card_id').fill(id);
    await form.locator('#f-name').fill('番号 入力');
    await form.locator('#f-name_kana').fill('バンゴウ ニュウリョク');
    await form.locator('#f-birth_date').fill('1980-04-01');
    await form.locator('#f-postal_code').fill('135-0016');
    await form.locator('#f-address').fill(`江東区東陽 ${number}`);
    const response = page.waitForResponse((r) => r.url().endsWith('/register') && r.request().method() === 'POST');
    await form.getByRole('button', { name: 'このカードを登録する' }).click();
    expect((await response).status()).toBe(422);
    expect(await page.content()).not.toContain(number);
    expect(await residents([id])).toEqual([]);
  });

  const dirty = () => {
    const [good1, bad1, bad2, bad3, good2] = [newId(), newId(), newId(), newId(), newId()];
    const text = csv(
      row(good1),
      row(bad1, { birth: '1985-13-45' }),
      row(bad2, { name: '' }),
      row(bad3, { address: `江東区東陽4-11-28 ${number}` }),
      row(good1, { name: '重複 花子' }),
      row(existing.cardId),
      row(good2),
    );
    return { text, ids: [good1, bad1, bad2, bad3, good2] };
  };
  const expectedBadRows = (ids: string[]) => [
    ['2', ids[0], 'カード番号: 6行目と同じカード番号です（ファイル内で重複）'],
    ['3', ids[1], '生年月日: 正しい日付を YYYY-MM-DD の形で入力してください（例: 1980-04-01）'],
    ['4', ids[2], '氏名: 入力してください'],
    ['5', ids[3], '住所: 個人番号と思われる12桁の数字が含まれています。個人番号は登録できません（値は表示しません）'],
    ['6', ids[0], 'カード番号: 2行目と同じカード番号です（ファイル内で重複）'],
    ['7', existing.cardId, 'カード番号: 既に登録されているカード番号です'],
  ];

  it('dry-runs a CSV file, UTF-8 or Shift_JIS: every bad row with its line and reasons, nothing saved', async () => {
    const page = await signedIn('office');
    await page.goto(`${sys.baseUrl}/register`);
    for (const [encoding, label] of [
      ['utf8', 'UTF-8'],
      ['cp932', 'Shift_JIS'],
    ] as const) {
      const { text, ids } = dirty();
      const bytes = encoding === 'utf8' ? Buffer.from(text, 'utf8') : iconv.encode(text, 'cp932');
      await upload(page, bytes, '確認（登録しない）');
      await page.getByRole('heading', { name: 'CSVファイルの確認結果（まだ登録していません）' }).waitFor();
      expect(await page.getByText('文字コード:').textContent()).toContain(`文字コード: ${label} ／ データ 7行のうち、問題なし 1行、問題あり 6行。`);
      expect(await badRows(page)).toEqual(expectedBadRows(ids));
      expect(await page.content()).not.toContain(number);
      expect(await residents(ids)).toEqual([]);
      if (encoding === 'utf8') {
        expect(await accessibilityViolations(page)).toEqual([]);
        await screenshot(page, 'register-dry-run');
      }
    }

    // 「登録する」 checks the file again and registers nothing while a row is bad.
    const { text, ids } = dirty();
    const response = page.waitForResponse((r) => r.url().endsWith('/register/csv'));
    await upload(page, Buffer.from(text, 'utf8'), '登録する');
    expect((await response).status()).toBe(400);
    await page.getByRole('heading', { name: '登録しませんでした: CSVファイルの確認結果' }).waitFor();
    expect(await badRows(page)).toEqual(expectedBadRows(ids));
    expect(await residents(ids)).toEqual([]);
  });

  it('refuses bytes that are not text, control characters in names, future birth dates and addresses outside the ward', async () => {
    const page = await signedIn('office');
    await page.goto(`${sys.baseUrl}/register`);
    const ids = [newId(), newId(), newId(), newId(), newId()];
    const bytes = iconv.encode(
      csv(
        row(ids[0]),
        row(ids[1], { name: '登録 XX' }),
        row(ids[2], { name: '登録\u0007花子' }),
        row(ids[3], { birth: '2999-01-01' }),
        row(ids[4], { postal: '100-0001' }),
      ),
      'cp932',
    );
    // Invalid Shift_JIS in the second row's name: a lead byte followed by a byte no character has.
    const at = bytes.indexOf(Buffer.from('XX'));
    bytes[at] = 0x82;
    bytes[at + 1] = 0xff;
    await upload(page, bytes, '確認（登録しない）');
    await page.getByRole('heading', { name: 'CSVファイルの確認結果（まだ登録していません）' }).waitFor();
    expect(await badRows(page)).toEqual([
      ['3', ids[1], '氏名: 文字として読めないバイトが含まれています（文字化け）。ファイルを UTF-8 か Shift_JIS で保存し直してください'],
      ['4', ids[2], '氏名: 制御文字（改行・タブなど）は使えません'],
      ['5', ids[3], '生年月日: 生年月日は1900-01-01から今日までの日付にしてください（未来の日付は使えません）'],
      ['6', ids[4], '郵便番号: 郵便番号 100-0001 は区の交付会場の割り当て（町名・郵便番号表）にありません。区内の住所か確かめてください'],
    ]);
    expect(await residents(ids)).toEqual([]);
  });

  it('registers a clean file (Shift_JIS) only after checking every row, and reports what it did', async () => {
    const page = await signedIn('ward');
    await page.goto(`${sys.baseUrl}/register`);
    const ids = [newId(), newId(), newId()];
    const text = csv(
      row(ids[0], { name: '髙橋 一郎', kana: 'タカハシ イチロウ' }),
      row(ids[1], { name: '齋藤 ～花子', kana: 'サイトウ ハナコ', birth: '1990/1/2', route: '特急発行' }),
      row(ids[2], { name: 'SILVA Ana', kana: 'シルバ アナ', postal: '135-0061', nationality: 'ブラジル' }),
    );
    await upload(page, iconv.encode(text, 'cp932'), '確認（登録しない）');
    await page.getByText('すべての行に問題はありません。まだ何も登録していません。').waitFor();
    expect(await residents(ids)).toEqual([]);

    await upload(page, iconv.encode(text, 'cp932'), '登録する');
    await page.getByRole('heading', { name: 'カード登録の結果' }).waitFor();
    expect(await page.getByRole('status').textContent()).toContain('新しく登録 3件、既に登録済み 0件');
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, 'register-result');
    expect(await residents(ids)).toEqual([
      { card_id: ids[0], name: '髙橋 一郎', name_kana: 'タカハシ イチロウ', birth_date: '1985-05-05', postal_code: '135-0016', nationality: null },
      { card_id: ids[1], name: '齋藤 ～花子', name_kana: 'サイトウ ハナコ', birth_date: '1990-01-02', postal_code: '135-0016', nationality: null },
      { card_id: ids[2], name: 'SILVA Ana', name_kana: 'シルバ アナ', birth_date: '1985-05-05', postal_code: '135-0061', nationality: 'ブラジル' },
    ].sort((a, b) => a.card_id.localeCompare(b.card_id)));
    await eventually(async () => (await sys.sql(`select count(*)::int n from card where card_id in (?, ?, ?)`, ids))[0].n === 3, 20_000, 'the three cards');
    expect((await sys.sql(`select route from card where card_id = ?`, [ids[1]]))[0].route).toBe('express');
    const logged = await sys.sql<{ card_ids: string[]; channel: string }>(`select card_ids, channel from access_log where kind = 'register' and ? = any(card_ids)`, [ids[0]]);
    expect(logged).toHaveLength(1);
    expect([...logged[0].card_ids].sort()).toEqual([...ids].sort());
    expect(logged[0].channel).toBe('web');

    await page.getByRole('link', { name: ids[2] }).click();
    await page.getByRole('heading', { name: `カード ${ids[2]}` }).waitFor();

    // The same file again: every row now exists, so nothing is registered twice.
    await page.goto(`${sys.baseUrl}/register`);
    await upload(page, iconv.encode(text, 'cp932'), '登録する');
    expect((await badRows(page)).map((r) => r[2])).toEqual(Array(3).fill('カード番号: 既に登録されているカード番号です'));
  });

  it('takes the CSRF token from the multipart form, refuses a form without it, and files that are too large', async () => {
    const page = await signedIn('office');
    await page.goto(`${sys.baseUrl}/register`);
    const csrf = await page.locator('input[name=_csrf]').first().inputValue();
    const id = newId();
    const file = { name: 'cards.csv', mimeType: 'text/csv', buffer: Buffer.from(csv(row(id)), 'utf8') };
    const without = await page.request.post(`${sys.baseUrl}/register/csv`, { multipart: { file, mode: 'commit' }, maxRedirects: 0 });
    expect(without.status()).toBe(403);
    expect(await without.text()).toContain('CSRF');
    const wrong = await page.request.post(`${sys.baseUrl}/register/csv`, { multipart: { _csrf: 'wrong', file, mode: 'commit' }, maxRedirects: 0 });
    expect(wrong.status()).toBe(403);
    expect(await residents([id])).toEqual([]);
    const dry = await page.request.post(`${sys.baseUrl}/register/csv`, { multipart: { _csrf: csrf, file, mode: 'dry' } });
    expect(dry.status()).toBe(200);
    expect(await dry.text()).toContain('すべての行に問題はありません');

    const big = Buffer.alloc(5 * 1024 * 1024 + 1, 'a');
    const tooLarge = await page.request.post(`${sys.baseUrl}/register/csv`, { multipart: { _csrf: csrf, file: { ...file, buffer: big }, mode: 'dry' } });
    expect(tooLarge.status()).toBe(413);
    expect(await tooLarge.text()).toContain('ファイルが大きすぎます（5 MBまで）');
    // An individual number in another multipart field is refused too.
    const field = await page.request.post(`${sys.baseUrl}/register/csv`, { multipart: { _csrf: csrf, file, mode: number } });
    expect(field.status()).toBe(422);
    expect(await field.text()).not.toContain(number);

    const template = await page.request.get(`${sys.baseUrl}/register/template.csv`);
    expect(template.headers()['content-type']).toBe('text/csv; charset=utf-8');
    expect((await template.body()).toString('utf8')).toBe(
      '\uFEFFcard_id,route,name,name_kana,birth_date,postal_code,address,alphabet_name,common_name,name_category,phone,nationality,residence_period_end,card_expires_on\r\n',
    );
  });

  it('is for the ward and the office only', async () => {
    const page = await signedIn('callcenter');
    expect(await page.getByRole('link', { name: 'カード登録' }).count()).toBe(0);
    expect((await page.goto(`${sys.baseUrl}/register`))!.status()).toBe(403);
    expect((await page.goto(`${sys.baseUrl}/register/template.csv`))!.status()).toBe(403);
    await page.goto(`${sys.baseUrl}/cards`);
    const csrf = await page.locator('input[name=_csrf]').first().inputValue();
    const id = newId();
    const posted = await page.request.post(`${sys.baseUrl}/register`, {
      form: { _csrf: csrf, card_id: id, route: 'pickup', name: '権限 なし', name_kana: 'ケンゲン ナシ', birth_date: '1980-04-01', postal_code: '135-0016', address: '江東区' },
      maxRedirects: 0,
    });
    expect(posted.status()).toBe(403);
    expect(await residents([id])).toEqual([]);
  });

  it('has no WCAG 2.2 A/AA violations on the empty page', async () => {
    const page = await signedIn('office');
    await page.goto(`${sys.baseUrl}/register`);
    await page.locator('summary').click();
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, 'register');
  });

  it('works with JavaScript disabled: the form, a dry run and a registration', async () => {
    const page = await signedIn('office', { javaScriptEnabled: false });
    await page.goto(`${sys.baseUrl}/register`);
    const id = newId();
    const form = single(page);
    await form.locator('#f-card_id').fill(id);
    await form.locator('#f-name').fill('静的 太郎');
    await form.locator('#f-name_kana').fill('セイテキ タロウ');
    await form.locator('#f-birth_date').fill('1970-01-01');
    await form.locator('#f-postal_code').fill('135-0016');
    await form.locator('#f-address').fill('江東区東陽4-11-28');
    await form.getByRole('button', { name: 'このカードを登録する' }).click();
    await page.getByRole('heading', { name: `カード ${id}` }).waitFor();

    await page.goto(`${sys.baseUrl}/register`);
    const ids = [newId(), newId()];
    const text = `\uFEFF${csv(row(ids[0]), row(ids[1], { route: 'outreach' }))}`;
    await upload(page, Buffer.from(text, 'utf8'), '確認（登録しない）');
    await page.getByText('すべての行に問題はありません。まだ何も登録していません。').waitFor();
    expect(await residents(ids)).toEqual([]);
    await upload(page, Buffer.from(text, 'utf8'), '登録する');
    expect(await page.getByRole('status').textContent()).toContain('新しく登録 2件、既に登録済み 0件');
    expect((await residents(ids)).map((r) => r.card_id)).toEqual([...ids].sort());
  });
});
