/**
 * Mail batches printed by the print worker as its own process (as `npm start` runs it): the demo's
 * cards make a printable batch with a hand-writing list and a batch summary, and a print worker
 * killed with SIGKILL in the middle of a batch leaves a batch that the next worker resumes from its
 * finished chunks, checks, and hands over with every card mailed once.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AuthUser } from '../src/auth/auth.types.js';
import { DEMO_NOTICE_RESIDENTS, DEMO_TO_VENUE } from '../src/demo/demo-data.js';
import { MailingService } from '../src/mailing/mailing.service.js';
import { matchPages, pageTexts, pdfFonts, squeeze } from '../src/printing/pdf-check.js';
import { TestSystem, aCard, eventually, isRunning } from './support/test-system.js';

describe('mail batches on a print worker process', () => {
  let sys: TestSystem;
  let mailing: MailingService;
  let office: string;
  const clerk: AuthUser = { id: 'office-proof', username: 'office-proof', role: 'office' };

  beforeAll(async () => {
    // Re-notice proposals open two seconds after a notice is mailed (the re-notice batch below).
    sys = await TestSystem.start({ policy: { renoticeAfterMs: 2_000 } });
    mailing = sys.app.get(MailingService);
    office = await sys.token('office');
  });
  afterAll(async () => {
    await sys.stop();
  });

  /** Registers cards and takes them through `steps` (the demo's steps to their venue). */
  async function cardsAtVenue(residents: Record<string, unknown>[]): Promise<string[]> {
    const cards = residents.map((r) => aCard({}, r));
    const reg = await sys.http('POST', '/api/cards', { token: office, body: { cards } });
    expect([reg.status, reg.json?.error]).toEqual([200, undefined]);
    for (const c of cards) {
      let venueId = 'kuyakusho';
      for (const [action, role] of DEMO_TO_VENUE) {
        const token = role === 'venue' ? await sys.token('venue', `venue-proof-${venueId}`, venueId) : await sys.token(role, `${role}-proof`);
        const res = await sys.http('POST', `/api/cards/${c.cardId}/actions/${action}`, { token, body: {}, headers: { 'idempotency-key': `${action}-${c.cardId}` } });
        expect([action, res.status]).toEqual([action, 200]);
        venueId = (res.json.card.venueId as string | undefined) ?? venueId;
      }
    }
    return cards.map((c) => c.cardId);
  }

  const step = (id: string) => sys.sql<{ status: string }>(`select status from mail_batch where id = ?`, [id]).then((r) => r[0]?.status);
  const mailNotices = (ids: string[]) =>
    sys.sql<{ card_id: string; n: string }>(`select card_id, count(*) as n from card_event where type = 'mail_notice' and card_id = any(?::text[]) group by card_id order by card_id`, [`{${ids.join(',')}}`]);

  it("prints the demo's notice batch: the summary first, the hand-writing list, every page read back", async () => {
    const worker = await sys.startPrintWorkerProcess({ chunkItems: 2 });
    const ids = await cardsAtVenue(DEMO_NOTICE_RESIDENTS);
    const batch = await mailing.create('notice', 376, clerk, ids);
    await mailing.print(batch.id, clerk);
    await eventually(async () => ['printed', 'failed'].includes((await step(batch.id)) ?? ''), 150_000, 'batch printed');
    // The page check passed (a mismatch, the summary's included, makes the batch failed).
    expect([await step(batch.id), (await mailing.batch(batch.id)).error]).toEqual(['printed', null]);

    // The hand-writing list: the vendor's external character and the overflowing address; the IVS name prints.
    const items = await mailing.repo.items(batch.id);
    const hand = items.flatMap((i) => ((i.handwriting ?? []) as { field: string; reason: string }[]).map((h) => `${i.cardId}:${h.field}:${h.reason}`));
    expect(hand.sort()).toEqual([`${ids[0]}:name:missing_glyph`, `${ids[1]}:address:overflow`].sort());

    // The batch summary is the first document: counts per post office with envelope class, per venue,
    // the hand-writing count, the batch id and the date in the Japanese era.
    const docs = await mailing.repo.documents(batch.id);
    expect(docs[0].kind).toBe('summary');
    const [summary] = await pageTexts(docs[0].file);
    const text = squeeze(summary);
    expect(text).toContain(squeeze(`発送バッチ集計（${batch.id}）`));
    expect(text).toMatch(/作成日:令和\d+年\d+月\d+日/);
    const lines = ['通数：3 通', '深川郵便局（後納郵便）：1 通', '晴海郵便局（後納郵便）：1 通', '城東郵便局（後納郵便）：1 通', '江東区役所 2階：1 通', '豊洲シビックセンター 11階：1 通', '総合区民センター 2階：1 通', '2 件'];
    for (const line of lines) expect(text).toContain(squeeze(line));
    for (const d of docs) expect((await pdfFonts(d.file)).filter((f) => f.type.includes('Type 3'))).toEqual([]);

    await mailing.check(batch.id, clerk);
    await mailing.handOver(batch.id, clerk);
    await eventually(async () => (await step(batch.id)) === 'handed_over', 60_000, 'handed over');
    expect((await mailNotices(ids)).map((e) => Number(e.n))).toEqual([1, 1, 1]);
    // The card page's link to its mailed notice.
    const notices = docs.find((d) => d.kind === 'notices')!;
    expect(await mailing.repo.mailedForCard(ids[2])).toMatchObject([{ batchId: batch.id, kind: 'notice', sha256: notices.sha256 }]);
    // Stopped as a service manager stops it: the next test's worker is the only one on the queue.
    await worker.stop();
    expect(worker.child.exitCode).toBe(0);
  });

  it('resumes a batch from its finished chunks after the print worker is killed with SIGKILL, and mails each card once', async () => {
    const ids = await cardsAtVenue(Array.from({ length: 12 }, (_, i) => ({ name: `強制\u3000${'一二三四五六七八九十'[i % 10]}${i}郎`, address: `江東区東陽4-11-${i + 1}` })));
    const batch = await mailing.create('notice', 376, clerk, ids);
    await sys.stopPrintWorkerProcesses();
    const first = await sys.startPrintWorkerProcess({ chunkItems: 2 });
    await mailing.print(batch.id, clerk);
    // Kill the worker as soon as a chunk of the notices is on disk: 6 chunks of 2.
    const work = join(sys.printDir, 'work', batch.id);
    const noticeChunks = () => {
      if (!existsSync(work)) return [];
      const dir = readdirSync(work).find((d) => d.startsWith('notices-'));
      return dir ? readdirSync(join(work, dir)).filter((f) => /^chunk-\d+\.pdf$/.test(f)) : [];
    };
    await eventually(async () => noticeChunks().length > 0, 120_000, 'a finished chunk of notices');
    const browser = first.descendants();
    expect(browser.length).toBeGreaterThan(0);
    first.kill('SIGKILL');
    const finished = noticeChunks().length;
    await first.exited;
    expect(first.child.signalCode).toBe('SIGKILL');
    // Its Chromium does not outlive it (the browser's pipe closes with the worker).
    await eventually(async () => browser.every((pid) => !isRunning(pid)), 30_000, "the killed worker's Chromium to exit");
    expect(finished).toBeLessThan(6);
    expect(await step(batch.id)).toBe('rendering');

    // Another worker takes the render over once the dead one's heartbeat times out (a minute).
    const second = await sys.startPrintWorkerProcess({ chunkItems: 2 });
    await eventually(async () => ['printed', 'failed'].includes((await step(batch.id)) ?? ''), 200_000, 'batch printed by the second worker');
    expect([await step(batch.id), (await mailing.batch(batch.id)).error]).toEqual(['printed', null]);
    const resumed = second.lines
      .filter((l) => l.includes('render resumed from finished chunks'))
      .map((l) => JSON.parse(l) as { batchId: string; document: string; resumedChunks: number; chunks: number })
      .find((l) => l.batchId === batch.id && l.document === 'notices');
    expect(resumed).toBeDefined();
    expect(resumed!.resumedChunks).toBeGreaterThanOrEqual(finished);
    expect(resumed!.chunks).toBe(6);

    // Every page of the joined file is its card's, in post order; no Type 3 font.
    const docs = await mailing.repo.documents(batch.id);
    const notices = docs.find((d) => d.kind === 'notices')!;
    const pages = await pageTexts(notices.file);
    const rows = await sys.sql<{ card_id: string; name: string }>(`select card_id, name from card_resident where card_id = any(?::text[])`, [`{${ids.join(',')}}`]);
    const names = new Map(rows.map((r) => [r.card_id, r.name]));
    const order = (await mailing.repo.items(batch.id)).map((i) => i.cardId);
    expect(matchPages(pages, order.map((id) => ({ id, pages: 1, texts: [names.get(id)!] })))).toEqual({ mismatches: [], pageCount: { expected: 12, actual: 12 } });
    for (const d of docs) expect((await pdfFonts(d.file)).filter((f) => f.type.includes('Type 3'))).toEqual([]);

    await mailing.check(batch.id, clerk);
    await mailing.handOver(batch.id, clerk);
    await eventually(async () => (await step(batch.id)) === 'handed_over', 60_000, 'handed over');
    const events = await mailNotices(ids);
    expect(events.map((e) => e.card_id)).toEqual([...ids].sort());
    expect(events.map((e) => Number(e.n))).toEqual(ids.map(() => 1));
  }, 420_000);

  it('prints a re-notice batch: its summary, the postcards and the sheets of the dedicated re-notice envelope (R-6.5)', async () => {
    await sys.stopPrintWorkerProcesses();
    await sys.startPrintWorkerProcess();
    const ids = await cardsAtVenue([
      { name: '再通\u3000一郎', postalCode: '135-0016', address: '江東区東陽4-11-28' },
      { name: '再通\u3000二郎', postalCode: '136-0072', address: '江東区大島4-5-1' },
    ]);
    const ward = await sys.token('ward', 'ward-proof');
    for (const id of ids) {
      const mailed = await sys.http('POST', `/api/cards/${id}/actions/mail_notice`, { token: office, body: {}, headers: { 'idempotency-key': `mail-${id}` } });
      expect(mailed.status).toBe(200);
      await eventually(async () => (await sys.sql<{ k: string[] }>(`select proposal_kinds as k from card where card_id = ?`, [id]))[0]?.k.includes('renotice'), 30_000, `re-notice proposal of ${id}`);
      const approved = await sys.http('POST', `/api/cards/${id}/actions/approve_renotice`, { token: ward, body: {}, headers: { 'idempotency-key': `approve-${id}` } });
      expect([approved.status, approved.json?.card?.state]).toEqual([200, 'renotice_approved']);
    }
    const batch = await mailing.create('renotice', 376, clerk, ids);
    await mailing.print(batch.id, clerk);
    await eventually(async () => ['printed', 'failed'].includes((await step(batch.id)) ?? ''), 150_000, 're-notice batch printed');
    expect([await step(batch.id), (await mailing.batch(batch.id)).error]).toEqual(['printed', null]);
    const docs = await mailing.repo.documents(batch.id);
    expect(docs.map((d) => d.kind)).toEqual(['summary', 'renotices', 'envelopes']);
    const [summary] = await pageTexts(docs[0].file);
    expect(squeeze(summary)).toContain(squeeze('種別：再通知はがき'));
    expect(squeeze(summary)).toContain(squeeze('通数：2 通'));
    const envelopes = (await pageTexts(docs[2].file)).map(squeeze);
    // One sheet per post office (深川, 城東), each for the dedicated re-notice envelope.
    expect(envelopes).toHaveLength(2);
    for (const sheet of envelopes) {
      expect(sheet).toContain(squeeze('封筒宛名シート（再通知専用封筒）'));
      expect(sheet).not.toContain('交付通知書用封筒');
    }
    expect(await pageTexts(docs[1].file)).toHaveLength(2);

    await mailing.check(batch.id, clerk);
    await mailing.handOver(batch.id, clerk);
    await eventually(async () => (await step(batch.id)) === 'handed_over', 60_000, 're-notices handed over');
    const renoticed = await sys.sql<{ card_id: string; n: string }>(
      `select card_id, count(*) as n from card_event where type = 'mail_renotice' and card_id = any(?::text[]) group by card_id order by card_id`,
      [`{${ids.join(',')}}`],
    );
    expect(renoticed).toEqual([...ids].sort().map((card_id) => ({ card_id, n: '1' })));
  });
});
