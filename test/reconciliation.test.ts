/**
 * Shelf reconciliation in real Chromium (R-11.4, R-11.5), as at the hand-over: a phone-sized screen
 * (390 px) without JavaScript, a USB scanner typing each number and Enter into the focused field.
 * Cards of 江東区役所 found on the shelf (by the ledger's barcode, the card id typed in lower case,
 * the previous vendor's booking number) get their storage place; a card not scanned is missing; an
 * unknown number and a card of 豊洲 are unexpected (the latter with a transfer task); re-scans record
 * nothing; the session closes with both vendors' staff and is read-only; the report (page, CSV, PDF)
 * lists every card with its outcome.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { accessibilityViolations, launchBrowser, screenshot, signIn } from './support/browser.js';
import { TestSystem, aCard } from './support/test-system.js';

describe('shelf reconciliation in Chromium', () => {
  let sys: TestSystem;
  let browser: Browser;
  let page: Page;
  let checker: Page;
  let venueUser: { username: string; password: string };
  const found1 = aCard({}, { name: '照合 一郎', nameKana: 'ショウゴウ イチロウ' });
  const found2 = aCard({}, { name: '照合 二郎', nameKana: 'ショウゴウ ジロウ' });
  const found3 = aCard({}, { name: '照合 三郎', nameKana: 'ショウゴウ サブロウ' });
  const missing = aCard({}, { name: '照合 四郎', nameKana: 'ショウゴウ シロウ' });
  const toyosu = aCard({}, { name: '豊洲 照子', nameKana: 'トヨス テルコ', postalCode: '135-0061' });
  const legacyNumber = `L${Date.now().toString(36).toUpperCase()}`;
  const unknown = `ZZ-${Date.now().toString(36).toUpperCase()}`;

  const act = async (token: string, cardId: string, action: string) => {
    const res = await sys.http('POST', `/api/cards/${cardId}/actions/${action}`, { token, body: {} });
    expect([cardId, action, res.status]).toEqual([cardId, action, 200]);
  };

  beforeAll(async () => {
    sys = await TestSystem.start();
    browser = await launchBrowser();
    const office = await sys.token('office');
    const venueToken = await sys.token('venue');
    const toyosuToken = await sys.token('venue', `venue-toyosu-${Date.now().toString(36)}`, 'toyosu');
    const all = [found1, found2, found3, missing, toyosu];
    expect((await sys.http('POST', '/api/cards', { token: office, body: { cards: all } })).status).toBe(200);
    for (const card of all) {
      await act(office, card.cardId, 'inspect');
      await act(office, card.cardId, 'ship_to_venue');
      await act(card === toyosu ? toyosuToken : venueToken, card.cardId, 'receive_at_venue');
    }
    await act(office, missing.cardId, 'mail_notice');
    // The previous vendor's booking number, as the migration keeps it (in place of the one registration drew).
    await sys.sql(`delete from booking_number where card_id = ?`, [found2.cardId]);
    await sys.sql(`insert into booking_number (number, card_id, source) values (?, ?, 'legacy')`, [legacyNumber, found2.cardId]);
    venueUser = await sys.webUser('venue', { venueId: 'kuyakusho' });
    page = await (await browser.newContext({ locale: 'ja-JP', javaScriptEnabled: false, viewport: { width: 390, height: 844 } })).newPage();
    await signIn(page, sys.baseUrl, venueUser);
    // Axe and the width check run scripts: the same signed-in session in a context with JavaScript.
    checker = await (await browser.newContext({ locale: 'ja-JP', viewport: { width: 390, height: 844 }, storageState: await page.context().storageState() })).newPage();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await sys?.stop();
  }, 120_000);

  /** What a USB scanner does: types into the focused field (the number field has autofocus) and presses Enter. */
  const scanWithScanner = async (number: string, shows: string | RegExp) => {
    // The field takes the focus when the page has loaded (autofocus): a scanner typing before that
    // (a loaded machine) would lose its first characters.
    await page.waitForFunction("document.activeElement !== null && document.activeElement.id === 'number'");
    await page.keyboard.type(number);
    await page.keyboard.press('Enter');
    // Waits for the page after the redirect to show this outcome (a wrong outcome times out here).
    await page.locator('#last-scan', { hasText: shows }).waitFor({ timeout: 30_000 });
  };
  const count = async (id: string) => page.locator(`#count-${id}`).textContent();
  const storage = async (cardId: string) => (await sys.sql<{ place: string; venue_id: string }>(`select place, venue_id from card_storage where card_id = ?`, [cardId]))[0];
  let sessionUrl = '';
  /** The page as the script-free page shows it, checked for WCAG violations and sideways scrolling at 390 px. */
  const checkLayout = async () => {
    await checker.goto(page.url());
    expect(await accessibilityViolations(checker)).toEqual([]);
    expect(await checker.evaluate<number>('document.scrollingElement.scrollWidth')).toBeLessThanOrEqual(390);
  };

  it('opens a session from the venue page and records found, re-scanned, unexpected and other-venue cards as they are scanned, with their storage places', async () => {
    await page.goto(`${sys.baseUrl}/venues/kuyakusho`);
    await page.getByRole('link', { name: '棚の照合' }).click();
    await page.getByRole('heading', { name: '棚の照合 江東区役所' }).waitFor();
    await page.getByRole('button', { name: '照合を始める' }).click();
    await page.getByText('照合を始めました。').waitFor();
    sessionUrl = page.url().replace(/\?.*$/, '');
    expect(sessionUrl).toMatch(/\/venues\/kuyakusho\/reconciliation\/\d+$/);
    expect(await page.locator('#number').getAttribute('autofocus')).not.toBeNull();
    // Before any scan the venue's cards are all missing (other test files keep cards at this venue too).
    const missingBefore = Number((await count('missing'))?.replace('枚', ''));
    expect(missingBefore).toBeGreaterThanOrEqual(4);
    expect(await page.locator('#list-missing').count()).toBe(1);
    expect(await page.content()).not.toContain(toyosu.cardId);
    await checkLayout();

    // The first card: the place typed once, the ledger's barcode (the card id) read by the scanner.
    await page.getByLabel('保管場所（棚・箱）').fill('棚R-1');
    await page.getByLabel('カード番号・予約番号').focus();
    await scanWithScanner(found1.cardId, new RegExp(`照合済: カード ${found1.cardId}（予約番号 \\d{10}）。保管場所「棚R-1」を記録しました。`));
    expect(await count('found')).toBe('1枚');
    // The place is kept for the next scan, and the number field has the focus again.
    expect(await page.getByLabel('保管場所（棚・箱）').inputValue()).toBe('棚R-1');
    // The previous vendor's booking number finds its card.
    await scanWithScanner(legacyNumber, `照合済: カード ${found2.cardId}（予約番号 ${legacyNumber}）`);
    // Typed on a phone in lower case, on another shelf.
    await page.getByLabel('保管場所（棚・箱）').fill('棚R-3');
    await page.getByLabel('カード番号・予約番号').fill(found3.cardId.toLowerCase());
    await page.getByLabel('カード番号・予約番号').press('Enter');
    await page.getByText(`照合済: カード ${found3.cardId}`).waitFor();
    expect(await count('found')).toBe('3枚');

    // A re-scan records nothing twice.
    await scanWithScanner(found1.cardId, new RegExp(`カード ${found1.cardId}（予約番号 \\d{10}） は \\d\\d:\\d\\d にすでに読み取り済みです（照合済（棚にあり）、保管場所「棚R-1」）。二重には記録しません`));
    expect(await count('found')).toBe('3枚');
    const scans = await sys.sql<{ n: number }>(`select count(*)::int n from reconciliation_scan where card_id = ?`, [found1.cardId]);
    expect(scans[0].n).toBe(1);

    // A number that is not in the data.
    await scanWithScanner(unknown, `データにない番号です: 番号 ${unknown}`);
    await scanWithScanner(unknown, '二重には記録しません');
    // A card of 豊洲 on this shelf: unexpected here, and a transfer task for the office.
    await scanWithScanner(toyosu.cardId, new RegExp(`他の会場のカードです: カード ${toyosu.cardId}（予約番号 \\d{10}） はデータ上「豊洲.*」のカードです。事務センターに移送のタスクを登録しました。`));
    await screenshot(page, 'phone-reconciliation');

    expect(await count('found')).toBe('3枚');
    expect(await count('unexpected')).toBe('1枚');
    expect(await count('wrong-venue')).toBe('1枚');
    expect(await page.locator('#list-unexpected').textContent()).toContain(unknown);
    expect(await page.locator('#list-wrong-venue').textContent()).toMatch(new RegExp(`${toyosu.cardId}.*豊洲.*棚R-3.*移送タスク \\d+`));
    // The open session's report (every card, computed live): the unscanned card is missing, the scanned ones are not.
    await page.goto(`${sessionUrl}/report`);
    const liveOutcome = async (cardId: string) => page.locator('#report tbody tr', { hasText: cardId }).getAttribute('data-outcome');
    expect(await liveOutcome(missing.cardId)).toBe('missing');
    for (const c of [found1, found2, found3]) expect([c.cardId, await liveOutcome(c.cardId)]).toEqual([c.cardId, 'found']);
    await page.goto(sessionUrl);
    expect(await page.locator('#list-found').textContent()).toContain(found2.cardId);
    // The page fits a phone: no sideways scrolling at 390 px.
    await checkLayout();

    // The storage places are the venue's (card_storage); the other venue's card gets none here.
    expect(await storage(found1.cardId)).toEqual({ place: '棚R-1', venue_id: 'kuyakusho' });
    expect(await storage(found2.cardId)).toEqual({ place: '棚R-1', venue_id: 'kuyakusho' });
    expect(await storage(found3.cardId)).toEqual({ place: '棚R-3', venue_id: 'kuyakusho' });
    expect(await storage(toyosu.cardId)).toBeUndefined();
    const tasks = await sys.sql<{ kind: string; venue_id: string | null; note: string }>(`select kind, venue_id, note from task where card_id = ? and status = 'open'`, [toyosu.cardId]);
    expect(tasks).toEqual([{ kind: 'transfer', venue_id: null, note: expect.stringMatching(/^棚の照合（照合 \d+）で江東区役所.*の棚（棚R-3）から見つかりました。データ上の保管会場は豊洲/) }]);

    // The scans are append-only; the reads of the session page are in the access log with the cards shown (the found list holds only this session's scans; other files' cards may fill the missing list's first 100).
    await expect(sys.sql(`update reconciliation_scan set place = 'x' where card_id = ?`, [found1.cardId])).rejects.toThrow();
    const reads = await sys.sql<{ n: number }>(`select count(*)::int n from access_log where kind = 'read' and user_id = ? and ? = any(card_ids) and detail like 'reconciliation session %'`, [venueUser.username, found1.cardId]);
    expect(reads[0].n).toBeGreaterThan(0);
  });

  it('refuses a number that is too long or has other characters with a Japanese message beside the field, keeping the place', async () => {
    await page.goto(sessionUrl);
    await page.getByLabel('カード番号・予約番号').fill('A'.repeat(40));
    await page.getByLabel('カード番号・予約番号').press('Enter');
    await page.getByText('カード番号・予約番号は32文字以内です。').waitFor();
    expect(await page.getByLabel('カード番号・予約番号').getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByLabel('保管場所（棚・箱）').inputValue()).toBe('棚R-3');
    await page.getByLabel('カード番号・予約番号').fill('棚の12/34');
    await page.getByRole('button', { name: '記録' }).click();
    await page.getByText('カード番号・予約番号に使える文字は英数字とハイフン（-）だけです。').waitFor();
    // A storage place over 50 characters (the field allows no more; a scanner could paste anything).
    expect(await page.getByLabel('保管場所（棚・箱）').getAttribute('maxlength')).toBe('50');
    expect(await count('found')).toBe('3枚');
    expect(await count('unexpected')).toBe('1枚');
  });

  it('a venue user cannot open another venue\'s reconciliation', async () => {
    await page.goto(`${sys.baseUrl}/venues/toyosu/reconciliation`);
    await page.getByText(/会場「toyosu」はあなたの担当会場ではありません/).waitFor();
  });

  it('closes with the names of both vendors\' staff; the closed session is read-only; the report lists every card with its outcome as a page, CSV and PDF', async () => {
    // A second tab still shows the scan form when the session closes.
    const stale = await page.context().newPage();
    await stale.goto(sessionUrl);

    await page.goto(sessionUrl);
    await page.getByLabel('前の受託者の立会者の氏名').fill('旧社 立会太郎');
    await page.getByLabel('当社の担当者の氏名').fill('新社 担当花子');
    await page.getByRole('button', { name: '照合を終了' }).click();
    await page.getByRole('heading', { name: '棚の照合レポート 江東区役所' }).waitFor();
    expect(await page.locator('#report-meta').textContent()).toMatch(/前の受託者の立会者旧社 立会太郎.*当社の担当者新社 担当花子/);
    await screenshot(page, 'phone-reconciliation-report');
    const outcomeOf = async (text: string) => page.locator('#report tbody tr', { hasText: text }).getAttribute('data-outcome');
    expect(await outcomeOf(found1.cardId)).toBe('found');
    expect(await outcomeOf(found2.cardId)).toBe('found');
    expect(await outcomeOf(found3.cardId)).toBe('found');
    expect(await outcomeOf(missing.cardId)).toBe('missing');
    expect(await outcomeOf(unknown)).toBe('unexpected');
    expect(await outcomeOf(toyosu.cardId)).toBe('wrong_venue');
    expect(await page.locator('#report tbody tr', { hasText: found3.cardId }).textContent()).toContain('棚R-3');
    expect(await page.locator('#report tbody tr', { hasText: found2.cardId }).textContent()).toContain(legacyNumber);
    expect(await page.locator('#total-found').textContent()).toBe('3');
    expect(await page.locator('#total-unexpected').textContent()).toBe('1');
    expect(await page.locator('#total-wrong_venue').textContent()).toBe('1');
    expect(Number(await page.locator('#total-missing').textContent())).toBeGreaterThanOrEqual(1);
    await checkLayout();

    // The missing list is frozen at the close: a card that arrives later is not added.
    const frozen = await sys.sql<{ card_id: string }>(`select card_id from reconciliation_missing where session_id = ?`, [sessionUrl.split('/').pop()]);
    expect(frozen.map((r) => r.card_id)).toContain(missing.cardId);

    const csv = await page.context().request.get(`${sessionUrl}/report.csv`);
    expect(csv.status()).toBe(200);
    const csvText = (await csv.text()).replace(/^\uFEFF/, '');
    const lines = csvText.split('\r\n');
    expect(lines[0]).toBe('結果,カード番号,読み取った番号,予約番号,データ上の状態,データ上の会場,保管場所,読み取った職員,読み取り日時,タスク');
    expect(lines.find((l) => l.includes(missing.cardId))).toMatch(/^不足（データにあり・棚になし）,/);
    expect(lines.find((l) => l.includes(found3.cardId))).toMatch(new RegExp(`^照合済（棚にあり）,${found3.cardId},${found3.cardId.toLowerCase()},.*,棚R-3,${venueUser.username},`));
    expect(lines.find((l) => l.includes(unknown))).toMatch(/^データにない（棚にあり）,,/);
    expect(lines.find((l) => l.includes(toyosu.cardId))).toMatch(/^他会場のカード（移送）,.*豊洲.*移送タスク \d+$/);

    const pdf = await page.context().request.get(`${sessionUrl}/report.pdf`);
    expect(pdf.status()).toBe(200);
    expect(pdf.headers()['content-type']).toBe('application/pdf');
    const file = join(mkdtempSync(join(tmpdir(), 'reconciliation-pdf-')), 'report.pdf');
    writeFileSync(file, await pdf.body());
    const pdfText = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
    expect(pdfText).toContain('棚の照合報告書');
    expect(pdfText).toContain('旧社 立会太郎');
    expect(pdfText).toContain(missing.cardId);

    // Read-only: no scan or close form any more, and a scan from the stale tab is refused in Japanese.
    await page.goto(sessionUrl);
    expect(await page.locator('#number').count()).toBe(0);
    expect(await page.getByRole('button', { name: '照合を終了' }).count()).toBe(0);
    expect(await page.locator('main').textContent()).toContain('この照合は終了しているため変更できません');
    await stale.getByLabel('カード番号・予約番号').fill(missing.cardId);
    const refused = stale.waitForResponse((r) => r.url().endsWith('/scans'));
    await stale.getByRole('button', { name: '記録' }).click();
    expect((await refused).status()).toBe(409);
    await stale.getByText('この照合はすでに終了しています。終了した照合は変更できません').waitFor();
    expect((await sys.sql<{ n: number }>(`select count(*)::int n from reconciliation_scan where card_id = ?`, [missing.cardId]))[0].n).toBe(0);
    await expect(sys.sql(`update reconciliation_session set our_staff = 'x' where id = ?`, [sessionUrl.split('/').pop()])).rejects.toThrow();

    // A new session can be opened after the close.
    await page.goto(`${sys.baseUrl}/venues/kuyakusho/reconciliation`);
    expect(await page.locator('#sessions').textContent()).toContain('旧社 立会太郎');
    expect(await page.getByRole('button', { name: '照合を始める' }).count()).toBe(1);
  });
});
