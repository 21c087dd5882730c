/**
 * The shared Q&A book in real Chromium: reported by the call center, drafted by the office,
 * invisible in the book until the ward approves it, then searchable; optimistic concurrency; illegal
 * steps and bad input refused; auditors read every revision and change nothing;
 * accessibility (axe, WCAG 2.2 A/AA) and pages without JavaScript.
 */
import { safeRandomUUID } from '../src/common/my-number.js';
import type { Browser, Page } from 'playwright-core';
import { accessibilityViolations, launchBrowser, screenshot, signIn } from './support/browser.js';
import { TestSystem } from './support/test-system.js';

type Role = 'ward' | 'office' | 'callcenter' | 'venue' | 'auditor';

describe('Q&A book in Chromium', () => {
  let sys: TestSystem;
  let browser: Browser;
  const pages = {} as Record<Role, Page>;
  const users = {} as Record<Role, string>;
  // A word found only in this file's entries, in upper case: the search must ignore case and width.
  const word = `QA${safeRandomUUID().slice(0, 8).replace(/-/g, '')}`.toUpperCase();
  const category = `予約${word.slice(-4)}`;
  const question = `予約した日時を電話で変更できますか？ ${word}`;
  const answer = 'コールセンターで変更できます。\n予約番号を伺ってください。';
  let entryId: string;

  const newPage = async (opts: { javaScriptEnabled?: boolean } = {}) => (await browser.newContext({ locale: 'ja-JP', ...opts })).newPage();

  beforeAll(async () => {
    sys = await TestSystem.start();
    browser = await launchBrowser();
    for (const role of ['ward', 'office', 'callcenter', 'venue', 'auditor'] as const) {
      const user = await sys.webUser(role);
      users[role] = user.username;
      pages[role] = await newPage();
      await signIn(pages[role], sys.baseUrl, user);
    }
  });
  afterAll(async () => {
    await browser?.close();
    await sys?.stop();
  });

  const entry = async (id: string) => (await sys.sql<{ status: string; version: number; answer: string | null; question: string }>(`select status, version, answer, question from qa_entry where id = ?`, [id]))[0];
  // Counted over this file's users only: other files may share the database.
  const revisionCount = async () => (await sys.sql<{ n: number }>(`select count(*)::int n from qa_revision where changed_by = any(?::text[])`, [`{${Object.values(users).join(',')}}`]))[0].n;
  const entryCount = async () => (await sys.sql<{ n: number }>(`select count(*)::int n from qa_entry where created_by = any(?::text[])`, [`{${Object.values(users).join(',')}}`]))[0].n;
  const csrf = async (page: Page) => {
    if (!page.url().startsWith(sys.baseUrl)) await page.goto(`${sys.baseUrl}/qa`);
    return page.locator('input[name=_csrf]').first().inputValue();
  };
  /** A crafted form post from this page's session, with its valid CSRF token. */
  const post = async (page: Page, path: string, form: Record<string, string>) => page.request.post(sys.baseUrl + path, { form: { _csrf: await csrf(page), ...form }, maxRedirects: 0 });
  const book = (page: Page) => page.locator('#book');
  const searchBook = async (page: Page, params: Record<string, string>) => {
    await page.goto(`${sys.baseUrl}/qa?${new URLSearchParams(params)}`);
    return (await book(page).textContent()) ?? '';
  };
  /** A reported question with a draft answer, made through crafted posts; returns its id. */
  const draftedEntry = async (text: string) => {
    const reported = await post(pages.callcenter, '/qa', { question: text });
    expect(reported.status()).toBe(303);
    const id = reported.headers().location.match(/\/qa\/([0-9a-f-]{36})/)![1];
    expect((await post(pages.office, `/qa/${id}/draft`, { version: '1', question: text, answer: '回答です。' })).status()).toBe(303);
    return id;
  };

  it('a question reported by the call center is drafted by the office, hidden from the book until the ward approves it, then found', async () => {
    const cc = pages.callcenter;
    await cc.goto(`${sys.baseUrl}/qa`);
    await cc.getByRole('link', { name: '質問を報告する' }).click();
    await cc.getByLabel('分類（任意）').fill(category);
    await cc.getByRole('textbox', { name: /^質問/ }).fill(question);
    await cc.getByRole('button', { name: '報告する' }).click();
    await cc.getByText('質問を報告しました').waitFor();
    entryId = new URL(cc.url()).pathname.split('/').at(-1)!;
    expect(await entry(entryId)).toMatchObject({ status: 'reported', version: 1, answer: null, question });
    const [first] = await sys.sql(`select version, status, change, changed_by, changed_role from qa_revision where entry_id = ?`, [entryId]);
    expect(first).toMatchObject({ version: 1, status: 'reported', change: 'reported', changed_by: users.callcenter, changed_role: 'callcenter' });

    // The office (the vendor) finds it in the work list and drafts an answer.
    const office = pages.office;
    await office.goto(`${sys.baseUrl}/qa`);
    await office.locator('#worklist').getByRole('link', { name: question }).click();
    await office.getByRole('textbox', { name: /^回答/ }).fill(answer);
    await office.getByRole('button', { name: /回答を保存/ }).click();
    await office.getByText('回答を保存しました').waitFor();
    expect(await entry(entryId)).toMatchObject({ status: 'draft', version: 2, answer });

    // Not in the book yet: neither for the call center nor for a venue.
    expect(await searchBook(cc, { q: word })).not.toContain(word);
    expect(await book(cc).textContent()).toContain('条件に合う項目はありません');
    expect(await cc.locator('#worklist').textContent()).toContain(word);
    expect((await pages.venue.goto(`${sys.baseUrl}/qa/${entryId}`))!.status()).toBe(404);
    await pages.venue.goto(`${sys.baseUrl}/qa`);
    expect(await pages.venue.locator('#worklist').count()).toBe(0);

    // The ward approves.
    const ward = pages.ward;
    await ward.goto(`${sys.baseUrl}/qa/${entryId}`);
    await ward.getByRole('button', { name: '承認して掲載する' }).click();
    await ward.getByText('承認しました').waitFor();
    expect(await entry(entryId)).toMatchObject({ status: 'approved', version: 3 });

    // Now searchable: lower case, full width, words of the answer, by category.
    await cc.goto(`${sys.baseUrl}/qa`);
    await cc.getByLabel('検索語（質問・回答）').fill(word.toLowerCase());
    await cc.getByRole('button', { name: '検索' }).click();
    expect(await book(cc).textContent()).toContain(question);
    expect(await book(cc).textContent()).toContain('予約番号を伺ってください');
    const fullWidth = word.toLowerCase().replace(/[0-9a-z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));
    expect(await searchBook(cc, { q: fullWidth })).toContain(question);
    expect(await searchBook(cc, { q: '予約番号を伺って' })).toContain(question);
    await cc.goto(`${sys.baseUrl}/qa`);
    await cc.getByLabel('分類').selectOption(category);
    await cc.getByRole('button', { name: '検索' }).click();
    expect(await book(cc).textContent()).toContain(question);
    expect(await searchBook(cc, { q: word, category: 'ほかの分類' })).not.toContain(question);
    await screenshot(cc, 'qa-book');

    // A venue reads it too, as the book shows it: no forms, no revisions.
    expect(await searchBook(pages.venue, { q: word })).toContain(question);
    await pages.venue.goto(`${sys.baseUrl}/qa/${entryId}`);
    await pages.venue.getByText('予約番号を伺ってください').waitFor();
    expect(await pages.venue.locator('form[action^="/qa"]').count()).toBe(0);
    expect(await pages.venue.getByRole('heading', { name: /変更の履歴/ }).count()).toBe(0);
  });

  it('keeps the approved text in the book while an edit waits, and refuses a form read at a stale version', async () => {
    const [cc, office] = [pages.callcenter, pages.office];
    await cc.goto(`${sys.baseUrl}/qa/${entryId}`);
    await office.goto(`${sys.baseUrl}/qa/${entryId}`);
    // Both read version 3; the call center saves first.
    await cc.getByRole('textbox', { name: /^回答/ }).fill('オンラインでも変更できます。');
    await cc.getByRole('button', { name: /回答を保存/ }).click();
    await cc.getByText('回答を保存しました').waitFor();
    expect(await entry(entryId)).toMatchObject({ status: 'draft', version: 4, answer: 'オンラインでも変更できます。' });
    const revisions = await revisionCount();

    await office.getByRole('textbox', { name: /^回答/ }).fill('窓口でのみ変更できます。');
    const [response] = await Promise.all([
      office.waitForResponse((r) => r.url().endsWith(`/qa/${entryId}/draft`) && r.request().method() === 'POST'),
      office.getByRole('button', { name: /回答を保存/ }).click(),
    ]);
    expect(response.status()).toBe(409);
    await office.getByText('ページを再読み込みして').waitFor();
    // What the office typed is still on the page; nothing was saved.
    await office.getByRole('heading', { name: /送信しようとした内容/ }).waitFor();
    expect(await office.locator('main').textContent()).toContain('窓口でのみ変更できます。');
    expect(await entry(entryId)).toMatchObject({ version: 4, answer: 'オンラインでも変更できます。' });
    expect(await revisionCount()).toBe(revisions);

    // The book still shows version 3's answer until the ward approves version 4.
    const shown = await searchBook(pages.venue, { q: word });
    expect(shown).toContain('予約番号を伺ってください');
    expect(shown).not.toContain('オンラインでも');
    await pages.ward.goto(`${sys.baseUrl}/qa/${entryId}`);
    await pages.ward.getByRole('heading', { name: /Q&A集に掲載中の版（版 3）/ }).waitFor();
    await pages.ward.getByRole('button', { name: '承認して掲載する' }).click();
    await pages.ward.getByText('承認しました').waitFor();
    const after = await searchBook(pages.venue, { q: word });
    expect(after).toContain('オンラインでも変更できます。');
    expect(after).not.toContain('予約番号を伺ってください');
  });

  it('refuses illegal status changes with 409 and bad input with 400 naming the field, changing nothing', async () => {
    // Approving a question with no answer.
    const reported = await post(pages.callcenter, '/qa', { question: `回答のない質問 ${word}` });
    const id = reported.headers().location.split('/').at(-1)!.split('?')[0];
    let before = await revisionCount();
    const noAnswer = await post(pages.ward, `/qa/${id}/approve`, { version: '1' });
    expect(noAnswer.status()).toBe(409);
    expect(await noAnswer.text()).toContain('まだ回答がないため承認できません');
    expect(await entry(id)).toMatchObject({ status: 'reported', version: 1 });

    // Approving twice (at the current version, so not a stale form).
    const current = (await entry(entryId)).version;
    const twice = await post(pages.ward, `/qa/${entryId}/approve`, { version: String(current) });
    expect(twice.status()).toBe(409);
    expect(await twice.text()).toContain('すでに承認されています');
    // A stale version is refused with a message to reload.
    const stale = await post(pages.ward, `/qa/${entryId}/retire`, { version: String(current - 1) });
    expect(stale.status()).toBe(409);
    expect(await stale.text()).toContain('ページを再読み込み');
    expect(await revisionCount()).toBe(before);
    expect(await entry(entryId)).toMatchObject({ status: 'approved', version: current });

    // Retiring: gone from the book; a second retire and an edit of a retired entry are refused.
    const retiring = await draftedEntry(`廃止する質問 ${word}`);
    expect((await post(pages.ward, `/qa/${retiring}/approve`, { version: '2' })).status()).toBe(303);
    expect(await searchBook(pages.callcenter, { q: '廃止する質問' })).toContain(word);
    expect((await post(pages.ward, `/qa/${retiring}/retire`, { version: '3' })).status()).toBe(303);
    expect(await searchBook(pages.callcenter, { q: '廃止する質問' })).not.toContain(word);
    before = await revisionCount();
    expect((await post(pages.ward, `/qa/${retiring}/retire`, { version: '4' })).status()).toBe(409);
    expect((await post(pages.office, `/qa/${retiring}/draft`, { version: '4', question: 'x', answer: 'y' })).status()).toBe(409);
    expect((await post(pages.ward, `/qa/${retiring}/approve`, { version: '4' })).status()).toBe(409);
    expect(await revisionCount()).toBe(before);

    // Validation: every bad field is named, nothing is written.
    const entries = await entryCount();
    for (const [form, field] of [
      [{ question: '   ' }, '質問: 入力してください'],
      [{ question: 'あ'.repeat(2001) }, '質問: 2000文字以内で入力してください'],
      [{ question: '質問', category: 'あ'.repeat(61) }, '分類: 60文字以内で入力してください'],
    ] as const) {
      const res = await post(pages.callcenter, '/qa', form);
      expect(res.status()).toBe(400);
      expect(await res.text()).toContain(field);
    }
    const badDraft = await post(pages.office, `/qa/${id}/draft`, { version: '1', question: '質問', answer: '' });
    expect(badDraft.status()).toBe(400);
    expect(await badDraft.text()).toContain('回答: 入力してください');
    const noVersion = await post(pages.office, `/qa/${id}/draft`, { question: '質問', answer: '回答' });
    expect(noVersion.status()).toBe(400);
    expect(await entryCount()).toBe(entries);
    expect(await revisionCount()).toBe(before);

    // Only the ward approves and retires; venues do not draft.
    expect((await post(pages.office, `/qa/${id}/approve`, { version: '1' })).status()).toBe(403);
    expect((await post(pages.callcenter, `/qa/${id}/retire`, { version: '1' })).status()).toBe(403);
    expect((await post(pages.venue, `/qa/${id}/draft`, { version: '1', question: 'q', answer: 'a' })).status()).toBe(403);
    expect(await revisionCount()).toBe(before);
  });

  it('shows auditors every revision, newest first, and refuses them every change', async () => {
    const auditor = pages.auditor;
    await auditor.goto(`${sys.baseUrl}/qa/changes`);
    // Newest first: this entry's versions from the latest down.
    const { version: current } = await entry(entryId);
    const listed = await auditor.locator(`tbody tr:has(a[href="/qa/${entryId}"]) td.num`).allTextContents();
    expect(listed).toEqual(Array.from({ length: current }, (_, i) => String(current - i)));
    await screenshot(auditor, 'qa-changes');

    await auditor.goto(`${sys.baseUrl}/qa/${entryId}`);
    const versions = await auditor.locator('table[aria-labelledby="h-revisions"] tbody tr td.num').allTextContents();
    const { version } = await entry(entryId);
    expect(versions).toEqual(Array.from({ length: version }, (_, i) => String(i + 1)));
    const rows = await auditor.locator('table[aria-labelledby="h-revisions"] tbody').textContent();
    for (const label of ['質問の報告', '回答の下書き', '編集', '承認']) expect(rows).toContain(label);
    expect(rows).toContain('予約番号を伺ってください'); // the text approved at version 3, no longer current
    expect(await auditor.locator('form[action^="/qa"]').count()).toBe(0);
    await auditor.goto(`${sys.baseUrl}/qa`);
    expect(await auditor.getByRole('link', { name: '質問を報告する' }).count()).toBe(0);

    const [revisions, entries] = [await revisionCount(), await entryCount()];
    for (const [path, form] of [
      ['/qa', { question: '監査からの質問' }],
      [`/qa/${entryId}/draft`, { version: String(version), question: 'q', answer: 'a' }],
      [`/qa/${entryId}/approve`, { version: String(version) }],
      [`/qa/${entryId}/retire`, { version: String(version) }],
    ] as const) {
      const res = await post(auditor, path, form);
      expect([path, res.status()]).toEqual([path, 403]);
    }
    expect(await revisionCount()).toBe(revisions);
    expect(await entryCount()).toBe(entries);
    // The call center sees the entry but not its revisions.
    await pages.callcenter.goto(`${sys.baseUrl}/qa/${entryId}`);
    expect(await pages.callcenter.getByRole('heading', { name: /変更の履歴/ }).count()).toBe(0);
    expect((await pages.callcenter.goto(`${sys.baseUrl}/qa/changes`))!.status()).toBe(403);
  });

  it('has no WCAG 2.2 A/AA violations on the Q&A pages', async () => {
    const found: Record<string, string[]> = {};
    const draft = await draftedEntry(`承認待ちの質問 ${word}`);
    for (const [name, path, page] of [
      ['qa', '/qa', pages.ward],
      ['qa-searched', `/qa?q=${word}`, pages.callcenter],
      ['qa-entry', `/qa/${entryId}`, pages.ward],
      ['qa-entry-draft', `/qa/${draft}`, pages.ward],
      ['qa-entry-venue', `/qa/${entryId}`, pages.venue],
      ['qa-new', '/qa/new', pages.callcenter],
      ['qa-changes', '/qa/changes', pages.auditor],
    ] as const) {
      await page.goto(sys.baseUrl + path);
      found[name] = await accessibilityViolations(page);
      await screenshot(page, name);
    }
    // The form as it comes back with errors.
    const cc = pages.callcenter;
    await cc.goto(`${sys.baseUrl}/qa/new`);
    await cc.locator('#question').evaluate((el) => el.removeAttribute('required'));
    await cc.getByRole('button', { name: '報告する' }).click();
    await cc.getByRole('heading', { name: '入力に誤りがあります' }).waitFor();
    found['qa-new-errors'] = await accessibilityViolations(cc);
    await screenshot(cc, 'qa-new-errors');
    expect(found).toEqual(Object.fromEntries(Object.keys(found).map((k) => [k, []])));
  }, 120_000);

  it('works with JavaScript disabled: a venue reports a question', async () => {
    const user = await sys.webUser('venue');
    const page = await newPage({ javaScriptEnabled: false });
    await signIn(page, sys.baseUrl, user);
    await page.goto(`${sys.baseUrl}/qa`);
    await page.getByRole('link', { name: '質問を報告する' }).click();
    await page.getByRole('textbox', { name: /^質問/ }).fill(`スクリプトなしの質問 ${word}`);
    await page.getByRole('button', { name: '報告する' }).click();
    await page.getByText('質問を報告しました').waitFor();
    expect(new URL(page.url()).pathname).toBe('/qa');
    const rows = await sys.sql(`select status, version, question from qa_entry where created_by = ?`, [user.username]);
    expect(rows).toEqual([{ status: 'reported', version: 1, question: `スクリプトなしの質問 ${word}` }]);
  });
});
