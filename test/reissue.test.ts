/**
 * Reissued notices, returned notices mailed again to a corrected address, and the
 * cards the ward mails itself: never in a batch, listed for hand-over to the ward.
 * Real parts: PostgreSQL, Temporal, the card and print workers, Chromium for the office's pages.
 */
import type { Browser, Page } from 'playwright-core';
import type { AuthUser } from '../src/auth/auth.types.js';
import { MailingService } from '../src/mailing/mailing.service.js';
import { ReturnsService } from '../src/mailing/returns.service.js';
import { pageTexts } from '../src/printing/pdf-check.js';
import { TasksRepository } from '../src/tasks/tasks.repository.js';
import { accessibilityViolations, launchBrowser, signIn } from './support/browser.js';
import { act, cardRow, pickupCards } from './support/mail-cards.js';
import { TestSystem, aCard, eventually } from './support/test-system.js';

describe('reissued notices, corrected addresses, and cards handed to the ward', () => {
  let sys: TestSystem;
  let mailing: MailingService;
  let office: string;
  let callcenter: string;
  let browser: Browser;
  let page: Page;
  const clerk: AuthUser = { id: 'office-reissue', username: 'office-reissue', role: 'office' };

  beforeAll(async () => {
    sys = await TestSystem.start();
    mailing = sys.app.get(MailingService);
    [office, callcenter] = await Promise.all([sys.token('office'), sys.token('callcenter')]);
    await sys.startPrintWorker();
    browser = await launchBrowser();
    page = await (await browser.newContext({ locale: 'ja-JP' })).newPage();
    await signIn(page, sys.baseUrl, await sys.webUser('office'));
  });
  afterAll(async () => {
    await browser?.close();
    await sys.stop();
  });

  const step = (id: string) => sys.sql<{ status: string }>(`select status from mail_batch where id = ?`, [id]).then((r) => r[0]?.status);
  const mailEvents = (cardId: string) => sys.sql<{ reason: string | null }>(`select reason from card_event where card_id = ? and type = 'mail_notice' order by seq`, [cardId]);
  const taskStatus = (cardId: string) => sys.sql<{ status: string }>(`select status from task where kind = 'reissue' and card_id = ? order by id`, [cardId]).then((r) => r.map((t) => t.status));

  it('puts a reissue request and a corrected returned notice into the next batch once, marked 再発行, and completes the requests when mailed', async () => {
    const [lost, returned] = await pickupCards(sys, office, [{ name: '紛失\u3000一郎' }, { name: '返戻\u3000二郎', postalCode: '136-0072', address: '江東区大島1-1-1 旧住所' }], 'notice_mailed');
    const [fresh] = await pickupCards(sys, office, [{ name: '新規\u3000三郎' }], 'at_venue');
    // The call center takes a lost-notice request: the card records it, the office's list gets a task.
    await act(sys, callcenter, lost, 'record_reissue_request', { reason: '紛失：自宅で紛失' });
    await sys.app.get(TasksRepository).open({ kind: 'reissue', cardId: lost, venueId: null, note: '紛失：自宅で紛失（電話）', createdBy: 'callcenter-test' });
    // A returned notice, mailed again once the office has the better address (the returns page).
    expect((await sys.app.get(ReturnsService).record([returned], '転居先不明', clerk))[0].outcome).toBe('recorded');
    await page.goto(`${sys.baseUrl}/returns`);
    // Refused on the form, in Japanese: the card's notice was not returned; then a bad postal code.
    await page.fill('#c-number', lost);
    await page.fill('#c-postal', '135-0061');
    await page.fill('#c-address', '江東区豊洲9-9-9 新住所');
    await page.click('button:has-text("住所を訂正して再送に回す")');
    expect(await page.locator('#c-number-error').textContent()).toContain('返戻されていません');
    expect(await page.locator('#c-address').inputValue()).toBe('江東区豊洲9-9-9 新住所');
    await page.fill('#c-number', returned);
    await page.fill('#c-postal', '1350-061');
    await page.click('button:has-text("住所を訂正して再送に回す")');
    expect(await page.locator('#c-postal-error').textContent()).toContain('郵便番号');
    await page.fill('#c-postal', '135-0061');
    await page.click('button:has-text("住所を訂正して再送に回す")');
    expect(await page.locator('.notice[role=status]').last().textContent()).toContain('住所を訂正しました');
    expect(await accessibilityViolations(page)).toEqual([]);
    const [moved] = await sys.sql<{ postal_code: string; address: string }>(`select postal_code, address from card_resident where card_id = ?`, [returned]);
    expect(moved).toEqual({ postal_code: '135-0061', address: '江東区豊洲9-9-9 新住所' });
    const logged = await sys.sql(`select 1 from access_log where kind = 'change' and ? = any(card_ids) and detail like 'address corrected%'`, [returned]);
    expect(logged).toHaveLength(1);
    expect(await taskStatus(returned)).toEqual(['open']);

    // The next notice batch: the two reissues first, then the card newly at its venue.
    const batch = await mailing.create('notice', 376, clerk, [lost, returned, fresh]);
    const items = await mailing.repo.items(batch.id);
    expect(items.map((i) => [i.cardId, i.reissueTaskId !== null]).sort()).toEqual([[lost, true], [returned, true], [fresh, false]].sort());
    // Once: a second batch finds nothing while they wait in this one.
    await expect(mailing.create('notice', 376, clerk, [lost, returned])).rejects.toMatchObject({ code: 'BATCH_NOTHING_DUE' });
    // The office's list says where each request waits.
    await page.goto(`${sys.baseUrl}/reissue-requests`);
    expect(await page.locator('tr', { has: page.getByRole('link', { name: returned, exact: true }) }).textContent()).toContain(`発送バッチ ${batch.id} で発送待ち`);
    await page.goto(`${sys.baseUrl}/mail-batches/${batch.id}`);
    const rows = await page.locator('table.stack tbody tr').allTextContents();
    expect(rows.filter((r) => r.includes('再発行')).map((r) => [lost, returned, fresh].find((id) => r.includes(id))).sort()).toEqual([lost, returned].sort());

    await mailing.print(batch.id, clerk);
    await eventually(async () => (await step(batch.id)) === 'printed', 120_000, 'batch printed');
    const notices = await pageTexts((await mailing.repo.documents(batch.id)).find((d) => d.kind === 'notices')!.file);
    const printed = await mailing.repo.items(batch.id);
    const pageOf = (id: string) => notices[printed.findIndex((i) => i.cardId === id)].replace(/\s/g, '');
    expect(pageOf(lost)).toContain('再発行');
    expect(pageOf(returned)).toContain('再発行');
    expect(pageOf(returned)).toContain('豊洲9-9-9新住所');
    expect(pageOf(fresh)).not.toContain('再発行');
    await mailing.check(batch.id, clerk);
    await mailing.handOver(batch.id, clerk);
    await eventually(async () => (await step(batch.id)) === 'handed_over', 60_000, 'handed over');

    // Mailed again, the timeline saying why; the requests are done and nothing is due any more.
    expect(await mailEvents(lost)).toEqual([{ reason: null }, { reason: expect.stringMatching(/^再発行：紛失/) }]);
    expect(await mailEvents(returned)).toEqual([{ reason: null }, { reason: expect.stringMatching(/^再発行：住所訂正/) }]);
    expect((await cardRow(sys, returned)).state).toBe('notice_mailed');
    expect(await mailEvents(fresh)).toEqual([{ reason: null }]);
    expect(await taskStatus(lost)).toEqual(['done']);
    expect(await taskStatus(returned)).toEqual(['done']);
    await expect(mailing.create('notice', 376, clerk, [lost, returned])).rejects.toMatchObject({ code: 'BATCH_NOTHING_DUE' });
    // The notice mailed to the new address can be returned again (another mailing, another return).
    expect((await sys.app.get(ReturnsService).record([returned], '宛所に尋ね当たりません', clerk))[0].outcome).toBe('recorded');
  });

  it('never puts cards of R-1.2–R-1.4 in a batch, and lists them with their notices for hand-over to the ward', async () => {
    const [counter, outreach, other] = ['counter', 'outreach', 'other'].map((route, i) => aCard({ route }, { name: `区送付\u3000${'一二三'[i]}郎` }));
    const [pickup] = await pickupCards(sys, office, [{ name: '窓口\u3000四郎' }], 'at_venue');
    expect((await sys.http('POST', '/api/cards', { token: office, body: { cards: [counter, outreach, other] } })).status).toBe(200);
    await act(sys, office, counter.cardId, 'inspect');
    const ward = [counter.cardId, outreach.cardId, other.cardId];
    await eventually(async () => (await sys.sql(`select 1 from card where card_id = any(?::text[])`, [`{${ward.join(',')}}`])).length === 3, 20_000, 'cards readable');
    // Not even when asked for by name: they are not pickup cards.
    await expect(mailing.create('notice', 376, clerk, ward)).rejects.toMatchObject({ code: 'BATCH_NOTHING_DUE' });
    const batch = await mailing.create('notice', 376, clerk, [...ward, pickup]);
    expect((await mailing.repo.items(batch.id)).map((i) => i.cardId)).toEqual([pickup]);
    await mailing.cancel(batch.id, clerk);

    await page.goto(`${sys.baseUrl}/mail-batches`);
    await page.click('a:has-text("区へ引き渡すカードの一覧")');
    const listed = await page.locator('table.stack tbody tr').allTextContents();
    for (const c of [counter, outreach, other]) expect(listed.some((r) => r.includes(c.cardId) && r.includes(c.resident.name as string))).toBe(true);
    expect(listed.find((r) => r.includes(counter.cardId))).toContain('申請時来庁方式');
    expect(listed.some((r) => r.includes(pickup))).toBe(false);
    expect(await accessibilityViolations(page)).toEqual([]);
    const csv = await page.request.get(`${sys.baseUrl}/ward-handover/cards.csv`);
    expect(csv.status()).toBe(200);
    expect(csv.headers()['content-type']).toContain('text/csv');
    const lines = (await csv.text()).split('\r\n');
    expect(lines[0]).toContain('カード番号');
    for (const c of ward) expect(lines.some((l) => l.startsWith(c))).toBe(true);
    const exported = await sys.sql(`select 1 from access_log where kind = 'export' and ? = any(card_ids) and detail like 'ward hand-over list csv%'`, [outreach.cardId]);
    expect(exported).toHaveLength(1);
    // Handed over on the card page: it leaves the list.
    await act(sys, office, counter.cardId, 'hand_to_ward');
    await page.goto(`${sys.baseUrl}/ward-handover`);
    expect((await page.locator('table.stack tbody tr').allTextContents()).some((r) => r.includes(counter.cardId))).toBe(false);
  });
});
