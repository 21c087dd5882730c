/**
 * Mail batches end to end on real parts: PostgreSQL, the Temporal server, the card worker, the
 * print worker with Chromium, poppler reading the PDFs back.
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { AuthUser } from '../src/auth/auth.types.js';
import { MailingService } from '../src/mailing/mailing.service.js';
import { mailBatchWorkflowId } from '../workflows/mail-batch-messages.js';
import { pageTexts, pdfFonts } from '../src/printing/pdf-check.js';
import type { Browser } from 'playwright-core';
import { accessibilityViolations, launchBrowser, screenshot, signIn } from './support/browser.js';
import { TestSystem, aCard, eventually } from './support/test-system.js';

describe('mail batches: print, check, hand over', () => {
  let sys: TestSystem;
  let mailing: MailingService;
  let office: string;
  const clerk: AuthUser = { id: 'office-mail', username: 'office-mail', role: 'office' };

  beforeAll(async () => {
    sys = await TestSystem.start();
    mailing = sys.app.get(MailingService);
    office = await sys.token('office');
  });
  /** Batches whose workflow histories `npm run record:histories` saves for the replay test. */
  const recorded: Record<string, string> = {};
  afterAll(async () => {
    if (process.env.RECORD_HISTORIES === '1') {
      const dir = fileURLToPath(new URL('./histories/', import.meta.url));
      for (const [name, batchId] of Object.entries(recorded)) {
        const history = await sys.client.workflow.getHandle(mailBatchWorkflowId(batchId)).fetchHistory();
        writeFileSync(join(dir, `${name}.json`), historyToJSON(history));
        process.stdout.write(`recorded test/histories/${name}.json: ${history.events?.length} events\n`);
      }
    }
    await sys.stop();
  });

  /** Registers cards and brings them to their venue (due for a notice, R-3.10). */
  async function cardsAtVenue(residents: Record<string, unknown>[]): Promise<string[]> {
    const cards = residents.map((r) => aCard({}, r));
    const reg = await sys.http('POST', '/api/cards', { token: office, body: { cards } });
    expect([reg.status, reg.json?.error]).toEqual([200, undefined]);
    const act = (token: string, cardId: string, action: string) =>
      sys.http('POST', `/api/cards/${cardId}/actions/${action}`, { token, body: {}, headers: { 'idempotency-key': `${action}-${cardId}` } });
    for (const c of cards) {
      expect((await act(office, c.cardId, 'inspect')).status).toBe(200);
      const shipped = await act(office, c.cardId, 'ship_to_venue');
      expect(shipped.status).toBe(200);
      const venueId = shipped.json.card.venueId as string;
      const venue = await sys.token('venue', `venue-mail-${venueId}`, venueId);
      expect((await act(venue, c.cardId, 'receive_at_venue')).status).toBe(200);
    }
    return cards.map((c) => c.cardId);
  }

  const step = (id: string) => sys.sql<{ status: string }>(`select status from mail_batch where id = ?`, [id]).then((r) => r[0]?.status);

  it('prints a batch in post order, blanks what the font lacks, reads every page back, and mails each card once', async () => {
    await sys.startPrintWorker({ chunkItems: 2 });
    const ids = await cardsAtVenue([
      { name: '髙橋\u3000一郎', postalCode: '136-0072', address: '江東区大島4-5-1' },
      { name: '葛\u{E0102}西\u3000花子', postalCode: '135-0061', address: '江東区豊洲2-2-18' },
      // A private-use character (a vendor's 外字 never mapped) and an address too long for its box.
      { name: '山\uE000\u3000太郎', postalCode: '135-0016', address: '江東区東陽4-11-28' },
      { name: '江東\u3000次郎', postalCode: '135-0016', address: `江東区東陽四丁目11番28号${'北'.repeat(60)}マンション` },
      { name: '佐藤\u3000三郎', postalCode: '135-0001', address: '江東区毛利1-1-1' },
    ]);
    const batch = await mailing.create('notice', 376, clerk, ids);
    recorded['mail-batch-notice'] = batch.id;
    expect(batch).toMatchObject({ status: 'draft', items: 5 });
    const items = await mailing.repo.items(batch.id);
    // Sorted by delivering post office (深川, 晴海, 城東), each with fewer than 101 items: 後納郵便.
    expect(items.map((i) => i.postOfficeId)).toEqual(['fukagawa', 'fukagawa', 'fukagawa', 'harumi', 'joto']);
    expect(new Set(items.map((i) => i.envelopeClass))).toEqual(new Set(['konou']));
    // A card waits in one batch at a time.
    await expect(mailing.create('notice', 376, clerk, ids)).rejects.toMatchObject({ code: 'BATCH_NOTHING_DUE' });

    await mailing.print(batch.id, clerk);
    await eventually(async () => (await step(batch.id)) === 'printed', 120_000, 'batch printed');
    const docs = await mailing.repo.documents(batch.id);
    expect(docs.map((d) => d.kind).sort()).toEqual(['envelopes', 'ledgers', 'notices', 'summary']);
    const notices = docs.find((d) => d.kind === 'notices')!;
    expect(notices.pages).toBe(5);
    expect(notices.sha256).toMatch(/^[0-9a-f]{64}$/);
    for (const d of docs) expect((await pdfFonts(d.file)).filter((f) => f.type.includes('Type 3'))).toEqual([]);
    const pages = await pageTexts(notices.file);
    const order = items.map((i) => i.cardId);
    const names = await sys.sql<{ card_id: string; name: string }>(`select card_id, name from card_resident where card_id = any(?::text[])`, [`{${order.join(',')}}`]);
    // The 髙橋 card is delivered by 城東 and comes last; its page is the fifth.
    const takahashi = names.find((n) => n.name.startsWith('髙橋'))!.card_id;
    expect(pages[order.indexOf(takahashi)]).toContain('髙橋');
    // Hand-writing list: the private-use character, and the overflowing address (printed blank).
    const hand = (await mailing.repo.items(batch.id)).flatMap((i) => (i.handwriting ?? []) as { field: string; reason: string }[]);
    expect(hand.map((h) => `${h.field}:${h.reason}`).sort()).toEqual(['address:overflow', 'name:missing_glyph']);
    expect(pages.join('\n')).not.toContain('マンション');

    // Checking comes before hand-over; hand-over mails each card once, even when asked twice.
    await expect(mailing.handOver(batch.id, clerk)).rejects.toMatchObject({ code: 'BATCH_STEP_REFUSED' });
    await mailing.check(batch.id, clerk);
    await mailing.handOver(batch.id, clerk);
    await eventually(async () => (await step(batch.id)) === 'handed_over', 60_000, 'batch handed over');
    const events = await sys.sql<{ card_id: string; n: string }>(`select card_id, count(*) as n from card_event where type = 'mail_notice' and card_id = any(?::text[]) group by card_id`, [`{${ids.join(',')}}`]);
    expect(events.map((e) => Number(e.n))).toEqual([1, 1, 1, 1, 1]);
    const states = await sys.sql<{ state: string }>(`select distinct state from card where card_id = any(?::text[])`, [`{${ids.join(',')}}`]);
    expect(states).toEqual([{ state: 'notice_mailed' }]);
    expect(await mailing.repo.mailedForCard(takahashi)).toMatchObject([{ batchId: batch.id, kind: 'notice', page: 5, sha256: notices.sha256 }]);
  });

  it('resumes a render interrupted by a stopped print worker, and a card pulled out is not mailed', async () => {
    const ids = await cardsAtVenue(Array.from({ length: 7 }, (_, i) => ({ name: `中断\u3000${'一二三四五六七'[i]}郎` })));
    const batch = await mailing.create('notice', 376, clerk, ids);
    recorded['mail-batch-resumed'] = batch.id;
    await mailing.pullOut(batch.id, ids[6], clerk);
    await mailing.print(batch.id, clerk);
    // Stop the print worker as soon as the first chunk of notices is on disk, then start another.
    const work = join(sys.printDir, 'work', batch.id);
    await eventually(async () => existsSync(work) && readdirSync(work).some((d) => readdirSync(join(work, d)).some((f) => f.endsWith('.pdf'))), 60_000, 'first chunk');
    await sys.printWorker!.stop();
    await sys.startPrintWorker({ chunkItems: 2 });
    await eventually(async () => (await step(batch.id)) === 'printed', 120_000, 'batch printed after the restart');
    const notices = (await mailing.repo.documents(batch.id)).find((d) => d.kind === 'notices')!;
    const pages = await pageTexts(notices.file);
    expect(pages).toHaveLength(6);
    await mailing.check(batch.id, clerk);
    await mailing.handOver(batch.id, clerk);
    await eventually(async () => (await step(batch.id)) === 'handed_over', 60_000, 'handed over');
    const mailed = await sys.sql<{ card_id: string }>(`select card_id from card_event where type = 'mail_notice' and card_id = any(?::text[])`, [`{${ids.join(',')}}`]);
    expect(mailed.map((m) => m.card_id).sort()).toEqual(ids.slice(0, 6).sort());
    const [pulled] = await sys.sql<{ state: string }>(`select state from card where card_id = ?`, [ids[6]]);
    expect(pulled.state).toBe('at_venue');
  });

  describe("the office's pages (real Chromium)", () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await launchBrowser();
    });
    afterAll(async () => {
      await browser?.close();
    });

    it('prints a batch, shows the hand-writing list and the PDFs, hands it over, and the card page opens its notice', async () => {
      const ids = await cardsAtVenue([{ name: '画面\u3000一郎' }, { name: '画\uE001面\u3000二郎' }]);
      const batch = await mailing.create('notice', 376, clerk, ids);
      const user = await sys.webUser('office');
      const page = await (await browser.newContext({ locale: 'ja-JP' })).newPage();
      await signIn(page, sys.baseUrl, user);
      // The quota is bounded on the server, in Japanese.
      await page.goto(`${sys.baseUrl}/mail-batches`);
      await page.fill('#quota', '753');
      await page.locator('#quota').evaluate((el) => el.removeAttribute('max'));
      await page.click('button:has-text("バッチを作成")');
      expect(await page.locator('body').textContent()).toContain('752通まで');

      await page.goto(`${sys.baseUrl}/mail-batches/${batch.id}`);
      await page.click('button:has-text("印刷")');
      // The form's redirect first: a batch printed before it lands would race the next page.goto.
      await page.waitForURL(/done=printing/);
      await eventually(async () => (await step(batch.id)) === 'printed', 120_000, 'printed');
      await page.goto(`${sys.baseUrl}/mail-batches/${batch.id}`);
      expect(await page.locator('#h-hand + p').textContent()).toContain('手書き');
      expect(await page.locator('table').first().textContent()).toContain('U+E001');
      const pdf = await page.request.get(`${sys.baseUrl}/mail-batches/${batch.id}/notices.pdf`);
      expect(pdf.status()).toBe(200);
      expect(pdf.headers()['content-type']).toBe('application/pdf');
      expect(pdf.headers()['x-content-sha256']).toMatch(/^[0-9a-f]{64}$/);
      expect(await accessibilityViolations(page)).toEqual([]);
      await screenshot(page, 'mail-batch-printed');

      await page.check('input[name=confirm]');
      await page.click('button:has-text("確認済みにする")');
      expect(await page.locator('.notice').first().textContent()).toContain('確認済み');
      await page.click('button:has-text("区へ引き渡す")');
      await eventually(async () => (await step(batch.id)) === 'handed_over', 60_000, 'handed over');
      await page.goto(`${sys.baseUrl}/cards/${ids[0]}`);
      const link = page.locator('#h-mailed + ul a');
      expect(await link.textContent()).toContain(batch.id);
      const doc = await page.request.get(`${sys.baseUrl}${await link.getAttribute('href')}`.replace(/#.*$/, ''));
      expect(doc.status()).toBe(200);

      // Returned notices, scanned as a list: one twice, one unknown.
      await page.goto(`${sys.baseUrl}/returns`);
      await page.selectOption('#reason', '転居先不明');
      await page.fill('#numbers', `${ids[0]}\n${ids[0].slice(0, 4)} ${ids[0].slice(4)}\nZZZ999`);
      await page.click('button:has-text("返戻を記録")');
      const rows = await page.locator('table tbody tr').allTextContents();
      expect(rows).toHaveLength(2);
      expect(rows[0]).toContain('返戻を記録しました');
      expect(rows[1]).toContain('該当するカードがありません');
      expect(await accessibilityViolations(page)).toEqual([]);
      const returned = await sys.sql<{ state: string; n: string }>(
        `select c.state, (select count(*) from card_event e where e.card_id = c.card_id and e.type = 'record_return') as n from card c where c.card_id = ?`,
        [ids[0]],
      );
      expect(returned).toEqual([{ state: 'notice_returned', n: '1' }]);
      // Scanned again another day: recorded once.
      await page.fill('#numbers', ids[0]);
      await page.click('button:has-text("返戻を記録")');
      expect(await page.locator('table tbody tr').first().textContent()).toContain('記録済み');
    });
  });
});
