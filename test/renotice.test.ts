/**
 * Re-notices on real parts: approved re-notice proposals batched like notices, printed
 * as postcards on the print worker, checked, handed over by one Update per card, their returns
 * recorded; expired cards and removed residents among them left out and proposed for discard.
 */
import type { Browser } from 'playwright-core';
import type { AuthUser } from '../src/auth/auth.types.js';
import { MailingService } from '../src/mailing/mailing.service.js';
import { ReturnsService } from '../src/mailing/returns.service.js';
import { pageTexts } from '../src/printing/pdf-check.js';
import { accessibilityViolations, launchBrowser, signIn } from './support/browser.js';
import { act, cardRow, pickupCards } from './support/mail-cards.js';
import { TestSystem, eventually } from './support/test-system.js';

describe('re-notice batches', () => {
  let sys: TestSystem;
  let mailing: MailingService;
  let office: string;
  let ward: string;
  const clerk: AuthUser = { id: 'office-renotice', username: 'office-renotice', role: 'office' };

  beforeAll(async () => {
    // Re-notices are proposed two seconds after the notice (production: about three months).
    sys = await TestSystem.start({ policy: { renoticeAfterMs: 2_000 } });
    mailing = sys.app.get(MailingService);
    [office, ward] = await Promise.all([sys.token('office'), sys.token('ward')]);
    await sys.startPrintWorker();
  });
  afterAll(async () => {
    await sys.stop();
  });

  const step = (id: string) => sys.sql<{ status: string }>(`select status from mail_batch where id = ?`, [id]).then((r) => r[0]?.status);
  const count = async (type: string, ids: string[]) =>
    Object.fromEntries(
      (await sys.sql<{ card_id: string; n: string }>(`select card_id, count(*) as n from card_event where type = ? and card_id = any(?::text[]) group by card_id`, [type, `{${ids.join(',')}}`])).map((r) => [r.card_id, Number(r.n)]),
    );

  it('prints postcards for approved cards only, hands each over once, records their returns, and sends expired and removed ones to discard proposals', async () => {
    const names = ['再通知\u3000一郎', '再通知\u3000二郎', '期限切\u3000三郎', '消除\u3000四郎', '未承認\u3000五郎', '後消除\u3000七郎'];
    const ids = await pickupCards(sys, office, names.map((name) => ({ name })), 'notice_mailed');
    const [a, b, expired, removed, unapproved, later] = ids;
    for (const id of ids) await eventually(async () => (await cardRow(sys, id)).proposal_kinds.includes('renotice'), 30_000, `re-notice proposal of ${id}`);
    for (const id of [a, b, expired, removed, later]) await act(sys, ward, id, 'approve_renotice');
    // The residence period of one ended; another resident moved out after the approval.
    await sys.sql(`update card_resident set residence_period_end = '2020-01-31' where card_id = ?`, [expired]);
    await act(sys, ward, removed, 'mark_removed', { reason: '転出' });
    await eventually(async () => (await cardRow(sys, removed)).proposal_kinds.includes('discard'), 20_000, 'the removed card proposed for discard');

    const batch = await mailing.create('renotice', 376, clerk, ids);
    expect(batch).toMatchObject({ kind: 'renotice', status: 'draft', items: 3 });
    expect((await mailing.repo.items(batch.id)).map((i) => i.cardId).sort()).toEqual([a, b, later].sort());
    // Left out, with the reason, and proposed for discard: the expired card pulled out (on hold) first.
    const excluded = await mailing.repo.exclusions(batch.id);
    expect(excluded.map((x) => [x.cardId, x.reason, x.proposedAt !== null, x.error])).toEqual(
      [
        [expired, 'expired', true, null],
        [removed, 'removed', true, null],
      ].sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
    );
    expect(await cardRow(sys, expired)).toMatchObject({ state: 'on_hold', proposal_kinds: expect.arrayContaining(['discard']) });
    expect(await cardRow(sys, removed)).toMatchObject({ state: 'removed', proposal_kinds: expect.arrayContaining(['discard']) });
    const [proposal] = await sys.sql<{ actor_role: string; reason: string }>(`select actor_role, reason from card_event where card_id = ? and type = 'propose_discard'`, [expired]);
    expect(proposal).toEqual({ actor_role: 'system', reason: expect.stringContaining(batch.id) });
    // Raising them again (the page's retry) changes nothing.
    await mailing.proposeDiscards(batch.id, clerk);
    expect(await count('propose_discard', [expired, removed])).toEqual({ [expired]: 1 });
    // A card whose re-notice was not approved is not taken.
    expect(await cardRow(sys, unapproved)).toMatchObject({ state: 'notice_mailed' });
    // The batch page shows what was left out and why.
    const browser: Browser = await launchBrowser();
    try {
      const page = await (await browser.newContext({ locale: 'ja-JP' })).newPage();
      await signIn(page, sys.baseUrl, await sys.webUser('office'));
      await page.goto(`${sys.baseUrl}/mail-batches/${batch.id}`);
      const rows = await page.locator('section:has(#h-excluded) tbody tr').allTextContents();
      expect(rows.find((r) => r.includes(expired))).toMatch(/有効期限切れ.*提案済み/);
      expect(rows.find((r) => r.includes(removed))).toMatch(/住民登録消除.*提案済み/);
      expect(await accessibilityViolations(page)).toEqual([]);
    } finally {
      await browser.close();
    }

    // A resident removed after the draft: the page warns, and nothing is printed for the card.
    await act(sys, ward, later, 'mark_removed', { reason: '死亡' });
    expect((await mailing.repo.items(batch.id)).find((i) => i.cardId === later)).toMatchObject({ moved: true, pulledOutAt: null });
    await mailing.print(batch.id, clerk);
    await eventually(async () => (await step(batch.id)) === 'printed', 120_000, 'batch printed');
    expect((await mailing.repo.items(batch.id)).find((i) => i.cardId === later)).toMatchObject({ moved: false, pulledOutAt: expect.any(Date) });
    const docs = await mailing.repo.documents(batch.id);
    expect(docs.map((d) => d.kind).sort()).toEqual(['envelopes', 'renotices', 'summary']);
    const postcards = await pageTexts(docs.find((d) => d.kind === 'renotices')!.file);
    expect(postcards).toHaveLength(2);
    const text = postcards.join('\n').replace(/\s/g, '');
    for (const name of names.slice(0, 2)) expect(text).toContain(name.replace(/\s/g, ''));
    for (const name of names.slice(2)) expect(text).not.toContain(name.replace(/\s/g, ''));

    await mailing.check(batch.id, clerk);
    await mailing.handOver(batch.id, clerk);
    await eventually(async () => (await step(batch.id)) === 'handed_over', 60_000, 'batch handed over');
    expect(await count('mail_renotice', ids)).toEqual({ [a]: 1, [b]: 1 });
    expect((await cardRow(sys, a)).state).toBe('renoticed');
    expect(await mailing.repo.mailedForCard(a)).toMatchObject([{ batchId: batch.id, kind: 'renotice', page: expect.any(Number), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
    // Nothing is waiting any more.
    await expect(mailing.create('renotice', 376, clerk, [a, b])).rejects.toMatchObject({ code: 'BATCH_NOTHING_DUE' });

    // A returned postcard is recorded like a returned notice, once.
    const returns = sys.app.get(ReturnsService);
    expect((await returns.record([a], '転居先不明', clerk)).map((r) => r.outcome)).toEqual(['recorded']);
    expect((await returns.record([a], '転居先不明', clerk)).map((r) => r.outcome)).toEqual(['already']);
    expect((await cardRow(sys, a)).state).toBe('notice_returned');
    expect(await count('record_return', [a, b])).toEqual({ [a]: 1 });
  });

  it('records a batch that left out every approved card, with nothing to print', async () => {
    const [id] = await pickupCards(sys, office, [{ name: '期限切　六郎' }], 'notice_mailed');
    await eventually(async () => (await cardRow(sys, id)).proposal_kinds.includes('renotice'), 30_000, 're-notice proposal');
    await act(sys, ward, id, 'approve_renotice');
    await sys.sql(`update card set expires_on = '2021-03-31' where card_id = ?`, [id]);
    const batch = await mailing.create('renotice', 376, clerk, [id]);
    expect(batch).toMatchObject({ status: 'cancelled', items: 0 });
    expect(await mailing.repo.exclusions(batch.id)).toMatchObject([{ cardId: id, reason: 'expired', proposedAt: expect.any(Date), error: null }]);
    expect(await cardRow(sys, id)).toMatchObject({ state: 'on_hold', proposal_kinds: expect.arrayContaining(['discard']) });
    // Left out once: on hold, it is not an approved re-notice any more.
    await expect(mailing.create('renotice', 376, clerk, [id])).rejects.toMatchObject({ code: 'BATCH_NOTHING_DUE' });
  });
});
