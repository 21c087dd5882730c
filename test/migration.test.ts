/**
 * The hand-over import: a previous vendor's export made here with the traits of a
 * real one (CP932 with CRLF, era-coded dates, half-width kana, 外字 in the private-use area with its
 * table, each kind of bad row), through the CLI's dry run and real run, a re-run that creates
 * nothing, an interrupted run that resumes, and the office page in Chromium.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { parse } from 'csv-parse/sync';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { safeRandomUUID, isValidMyNumber } from '../src/common/my-number.js';
import { BookingService } from '../src/booking/booking.service.js';
import { assignBookingNumber } from '../src/booking/booking-number.js';
import { ResidentAuthService } from '../src/resident/resident-auth.service.js';
import { LEGACY_GAIJI_CSV, legacyExport, legacyMappingFile, legacyRow } from '../src/migration/legacy-fixture.js';
import { MigrationService, sha256 } from '../src/migration/migration.service.js';
import { accessibilityViolations, launchBrowser, signIn } from './support/browser.js';
import { TestSystem, aCard, bookableStart, eventually } from './support/test-system.js';
import { cardQuery, cardWorkflowId } from '../workflows/card-messages.js';

const run = promisify(execFile);

function myNumber(base = '55512345678'): string {
  for (let d = 0; d <= 9; d++) if (isValidMyNumber(`${base}${d}`)) return `${base}${d}`;
  throw new Error('unreachable');
}

/** A date and time in Asia/Tokyo as the export writes them. */
function tokyoParts(iso: string): { day: string; time: string } {
  const t = new Date(Date.parse(iso) + 9 * 3600_000).toISOString();
  return { day: t.slice(0, 10).replace(/-/g, '/'), time: t.slice(11, 16) };
}

describe('hand-over import of the previous vendor\'s export', () => {
  let sys: TestSystem;
  let service: MigrationService;
  let token: string;
  let browser: Browser | undefined;
  const tag = safeRandomUUID().replace(/[^0-9a-f]/g, '').slice(0, 6).toUpperCase();
  const id = (n: string) => `M${tag}${n}`;
  const num = (n: string) => `L${tag}${n}`;
  const number = myNumber();
  const existing = aCard();
  const dir = mkdtempSync(join(tmpdir(), 'koto-legacy-'));
  const files = { export: join(dir, 'export.csv'), mapping: join(dir, 'mapping.json'), gaiji: join(dir, 'gaiji.csv') };
  let slot: { venueId: string; startsAt: string };

  const cli = (...args: string[]) => run(process.execPath, ['dist/src/cli.js', 'migrate', 'legacy', files.export, '--mapping', files.mapping, '--gaiji', files.gaiji, ...args], { env: process.env, maxBuffer: 10 * 1024 * 1024 });
  const card = async (cardId: string) => (await sys.http('GET', `/api/cards/${cardId}`, { token })).json as { card: Record<string, any>; timeline: Record<string, any>[] };

  beforeAll(async () => {
    sys = await TestSystem.start();
    service = sys.app.get(MigrationService);
    token = await sys.token('office');
    expect((await sys.http('POST', '/api/cards', { token, body: existing })).status).toBe(200);
    await sys.sql(`insert into booking_number (number, card_id, source) values (?, ?, 'legacy')`, [`D${tag}`, existing.cardId]);
    slot = await sys.slot('toyosu', bookableStart(8, '15:00', 7), 30 * 60_000, 3);
    const { day, time } = tokyoParts(slot.startsAt);
    const rows = [
      legacyRow(id('A'), { 氏名: '\uE000橋 \uE003子', 氏名ｶﾅ: 'ﾀｶﾊｼ ｷﾞﾝｺ', 予約番号: num('A'), 方書: 'ｺｳﾄｳﾊｲﾂ101' }),
      legacyRow(id('B'), { 状態: '40', 会場: 'T01', 予約番号: num('B'), 予約日: day, 予約時刻: time, 郵便番号: '1350061', 住所: '東京都江東区豊洲2-2-18' }),
      legacyRow(id('C'), { 状態: '20', 生年月日: '4020512' }),
      legacyRow(id('D'), { 状態: '10', 交付区分: '2', 会場: '' }),
      legacyRow(id('E'), { 生年月日: '4310501' }),
      legacyRow(id('F'), { 状態: '77' }),
      legacyRow(id('A'), {}),
      legacyRow(existing.cardId, {}),
      legacyRow(id('G'), { 予約番号: `D${tag}` }),
      legacyRow(id('H'), { 氏名: '' }),
      legacyRow(id('I'), { 郵便番号: '1000001', 住所: '東京都千代田区千代田1-1' }),
      legacyRow(id('J'), { 備考: `${number.slice(0, 4)} ${number.slice(4, 8)} ${number.slice(8)}` }),
    ];
    writeFileSync(files.export, legacyExport(rows));
    writeFileSync(files.mapping, legacyMappingFile());
    writeFileSync(files.gaiji, LEGACY_GAIJI_CSV);
  });
  afterAll(async () => {
    await browser?.close();
    // RECORD_HISTORIES=1 saves two imported cards' histories for the replay test (never over a saved
    // one): a plain card whose first projection the import wrote with its due re-notice proposal
    // (`projectedAt`), later booked by its resident; and a booked card its workflow projected.
    if (process.env.RECORD_HISTORIES === '1' && sys) {
      for (const [name, cardId] of [['migrated-projected-at-start', id('A')], ['migrated-booked', id('B')]]) {
        const file = new URL(`./histories/${name}.json`, import.meta.url);
        if (!existsSync(file)) writeFileSync(file, historyToJSON(await sys.client.workflow.getHandle(cardWorkflowId(cardId)).fetchHistory()));
      }
    }
    await sys?.stop();
  });

  it('the dry run (CLI) reports every row, imported or refused with field and reason, and saves nothing', async () => {
    const { stdout, stderr } = await cli('--dry-run');
    const lines = stdout.trim().split('\n').slice(1).map((l) => l.split('\t'));
    expect(lines.map((l) => [l[0], l[2], l[3]])).toEqual([
      ['1', '取り込む', ''],
      ['2', '取り込む', ''],
      ['3', '取り込む', ''],
      ['4', '取り込む', ''],
      ['5', '取り込まない', '生年月日'],
      ['6', '取り込まない', '状態コード'],
      ['7', '取り込まない', 'カード番号'],
      ['8', '取り込まない', 'カード番号'],
      ['9', '取り込まない', '予約番号'],
      ['10', '取り込まない', '氏名'],
      ['11', '取り込まない', '郵便番号'],
      ['12', '取り込まない', '行'],
    ]);
    expect(lines[4][4]).toContain('日付が正しくありません');
    expect(lines[5][4]).toContain('不明な状態コード「77」');
    expect(lines[6][4]).toContain('1行目と重複');
    expect(lines[7][4]).toContain('既に登録されている');
    expect(lines[8][4]).toContain('別のカードで使われています');
    expect(lines[10][4]).toContain('区外の住所');
    expect(lines[11][4]).toContain('個人番号');
    expect(lines[0][5]).toBe('1');
    expect(stdout + stderr).not.toContain(number);
    expect(stderr).toContain('4 to import');
    const saved = await sys.sql(`select card_id from card_resident where card_id like ?`, [`M${tag}%`]);
    expect(saved).toEqual([]);
    expect(await sys.sql(`select number from booking_number where number like ?`, [`L${tag}%`])).toEqual([]);
  }, 120_000);

  it('the real run (CLI) makes live cards in their mapped state with a migrated event; legacy booking numbers stay valid', async () => {
    const { stdout, stderr } = await cli();
    expect(stderr).toMatch(/migrate \[.*\] 100% 12\/12 rows/);
    expect(stdout).toMatch(/done: 12 rows, 4 imported, 0 already imported, 8 refused/);
    expect(stdout).not.toContain(number);

    const a = await card(id('A'));
    expect(a.card).toMatchObject({ state: 'notice_mailed', route: 'pickup', venueId: 'kuyakusho', bookingNumber: num('A'), receivedAt: '2024-03-31T15:00:00.000Z', noticeMailedAt: '2024-04-09T15:00:00.000Z' });
    expect(a.card.resident).toMatchObject({ name: '髙橋 〓子', nameKana: 'タカハシ ギンコ', birthDate: '1980-06-12', address: '東京都江東区東陽4-11-28\u3000コウトウハイツ101' });
    expect(a.timeline[0]).toMatchObject({
      seq: 1,
      type: 'migrated',
      toState: 'notice_mailed',
      reason: 'migrated from 旧システム株式会社, row 1',
      actor: { channel: 'migration' },
      data: expect.objectContaining({ oldStatus: '30', oldDates: expect.objectContaining({ receivedOn: '令和6年4月1日', noticeMailedOn: 'R6.4.10' }) }),
    });
    expect(await sys.sql(`select field, position, source from card_handwriting where card_id = ?`, [id('A')])).toEqual([{ field: 'name', position: 4, source: 'U+E003' }]);

    const b = await card(id('B'));
    expect(b.card).toMatchObject({ state: 'reserved', venueId: 'toyosu', bookingNumber: num('B'), booking: { bookingNumber: num('B'), venueId: 'toyosu', startsAt: slot.startsAt } });
    expect(await sys.sql(`select status, booking_number from booking where card_id = ?`, [id('B')])).toEqual([{ status: 'booked', booking_number: num('B') }]);
    expect(await sys.sql(`select booked from slot where venue_id = ? and starts_at = ?`, [slot.venueId, slot.startsAt])).toEqual([{ booked: 1 }]);

    // A card at its venue without an old number gets one of ours; legacy numbers are kept as 'legacy'.
    const c = await card(id('C'));
    expect(c.card.state).toBe('at_venue');
    expect(c.card.bookingNumber).toMatch(/^[1-9][0-9]{9}$/);
    expect((await card(id('D'))).card).toMatchObject({ state: 'received', route: 'counter' });
    // A plain migrated card (A: its legacy number; D: nothing to number) starts from the row the
    // import wrote (`projectedAt` in its input), the re-notice proposal A's old notice date makes due
    // at once included: its first task records its timer and no projection. B (booked) and C (a
    // number to draw) are projected by their workflows' first tasks.
    const history = async (cardId: string) => (await sys.client.workflow.getHandle(cardWorkflowId(cardId)).fetchHistory()).events ?? [];
    const projectedAt = async (cardId: string) => {
      const input = (await history(cardId))[0].workflowExecutionStartedEventAttributes!.input!.payloads![0].data!;
      return 'projectedAt' in JSON.parse(Buffer.from(input).toString('utf8'));
    };
    const firstTaskMarkers = async (cardId: string) => {
      const events = await history(cardId);
      const completed = events.findIndex((e) => e.workflowTaskCompletedEventAttributes);
      const next = events.findIndex((e, i) => i > completed && e.workflowTaskScheduledEventAttributes);
      return events.slice(completed + 1, next < 0 ? undefined : next).filter((e) => e.markerRecordedEventAttributes).length;
    };
    expect(await Promise.all(['A', 'D', 'B', 'C'].map((x) => projectedAt(id(x))))).toEqual([true, true, false, false]);
    expect(await Promise.all(['A', 'D', 'B', 'C'].map((x) => firstTaskMarkers(id(x))))).toEqual([0, 0, 1, 1]);
    expect(a.timeline.map((e) => e.type)).toEqual(['migrated', 'proposal_opened']);
    const snapshotOf = async (cardId: string) => (await sys.sql<{ snapshot: unknown }>(`select snapshot from card where card_id = ?`, [cardId]))[0].snapshot;
    for (const x of ['A', 'D']) expect(await sys.client.workflow.getHandle(cardWorkflowId(id(x))).query(cardQuery)).toEqual(await snapshotOf(id(x)));
    expect(await sys.sql(`select number, source from booking_number where card_id in (?, ?) order by number`, [id('A'), id('B')])).toEqual([
      { number: num('A'), source: 'legacy' },
      { number: num('B'), source: 'legacy' },
    ]);
    // Refused rows made nothing; the individual number is stored nowhere.
    expect(await sys.sql(`select card_id from card_resident where card_id in (?, ?, ?, ?)`, [id('E'), id('F'), id('H'), id('I')])).toEqual([]);
    const stored = await sys.sql(`select count(*)::int as n from migration_row where coalesce(reason, '') || coalesce(card_id, '') || coalesce(expected::text, '') like ?`, [`%${number.slice(4, 8)}%`]);
    expect(stored).toEqual([{ n: 0 }]);

    // The legacy number signs the resident in and books a slot; the card keeps its number.
    const auth = await sys.app.get(ResidentAuthService).signIn(num('A'), '1980-06-12', '127.0.0.10');
    expect(auth).toMatchObject({ ok: true, session: { cardId: id('A') } });
    const other = await sys.slot('kuyakusho', bookableStart(9, '15:00', 13));
    const booked = await sys.app.get(BookingService).book(id('A'), other, { kind: 'resident', bookingNumber: num('A'), channel: 'resident-web' }, `k-${safeRandomUUID()}`);
    expect(booked.card).toMatchObject({ state: 'reserved', booking: { bookingNumber: num('A') } });
    // A new number of ours never repeats a legacy one: a draw that hits one is drawn again.
    const fresh = `9${String(Date.now()).slice(-9)}`;
    const draws = [num('A'), num('B'), fresh];
    expect(await assignBookingNumber(sys.orm.em.fork(), id('Z'), () => draws.shift()!)).toBe(fresh);
    expect(draws).toEqual([]);
  }, 180_000);

  it('a re-run creates nothing new', async () => {
    const count = async () => (await sys.sql<{ n: number }>(`select count(*)::int as n from card_event where card_id like ?`, [`M${tag}%`]))[0].n;
    const before = await count();
    const { stdout } = await cli();
    expect(stdout).toMatch(/done: 12 rows, 4 imported, 0 already imported, 8 refused/);
    expect(await count()).toBe(before);
    const dry = await service.dryRun(service.prepare({ fileName: 'export.csv', export: legacyExport([legacyRow(id('A'), { 氏名: '\uE000橋 \uE003子', 氏名ｶﾅ: 'ﾀｶﾊｼ ｷﾞﾝｺ', 予約番号: num('A'), 方書: 'ｺｳﾄｳﾊｲﾂ101' })]), mapping: legacyMappingFile() }));
    expect(dry.rows[0]).toMatchObject({ status: 'imported' });
    // Another file holding an imported card: it is recognised, nothing is started again.
    const again = await service.run(service.prepare({ fileName: 'other.csv', export: legacyExport([legacyRow(id('C'), { 状態: '20', 生年月日: '4020512', 備考: 'again' })]), mapping: legacyMappingFile() }), { username: 'office', role: 'office' });
    expect(again).toMatchObject({ imported: 0, existed: 1, refused: 0, status: 'done' });
    expect(await count()).toBe(before);
  }, 120_000);

  it('an interrupted run resumes where it stopped', async () => {
    const ids = ['R1', 'R2', 'R3', 'R4', 'R5', 'R6'].map(id);
    const prepared = service.prepare({ fileName: 'resume.csv', export: legacyExport(ids.map((c) => legacyRow(c, { 状態: '20' }))), mapping: legacyMappingFile(), gaiji: Buffer.from(LEGACY_GAIJI_CSV) });
    const user = { username: 'office-resume', role: 'office' };
    const first = await service.run(prepared, user, { stopAfter: 2, batchSize: 1, parallelBatches: 1 });
    expect(first).toMatchObject({ status: 'stopped', imported: 2, refused: 0 });
    expect((await sys.sql(`select card_id from card where card_id in (${ids.map(() => '?').join(',')})`, ids)).length).toBe(2);
    const second = await service.run(prepared, user);
    expect(second).toMatchObject({ status: 'done', runId: first.runId, imported: 6, existed: 0, refused: 0, pending: 0 });
    const events = await sys.sql<{ card_id: string; n: number }>(`select card_id, count(*)::int as n from card_event where card_id in (${ids.map(() => '?').join(',')}) and type = 'migrated' group by card_id`, ids);
    expect(events.map((e) => e.n)).toEqual([1, 1, 1, 1, 1, 1]);
  }, 180_000);

  it('the office page shows the same dry run, and the import\'s progress (Chromium)', async () => {
    browser = await launchBrowser();
    const page: Page = await (await browser.newContext({ locale: 'ja-JP' })).newPage();
    await signIn(page, sys.baseUrl, await sys.webUser('office'));
    await page.goto(`${sys.baseUrl}/migration`);
    const upload = async (exportBytes: Buffer, button: string) => {
      await page.getByLabel(/移行データ/).setInputFiles({ name: 'export.csv', mimeType: 'text/csv', buffer: exportBytes });
      await page.getByLabel(/マッピングファイル/).setInputFiles({ name: 'mapping.json', mimeType: 'application/json', buffer: legacyMappingFile() });
      await page.getByLabel(/外字表/).setInputFiles({ name: 'gaiji.csv', mimeType: 'text/csv', buffer: Buffer.from(LEGACY_GAIJI_CSV) });
      await page.getByRole('button', { name: button, exact: true }).click();
      await page.waitForLoadState();
    };
    const fresh = [id('P1'), id('P2')];
    await upload(legacyExport([legacyRow(fresh[0], { 氏名: '\uE001田 花子' }), legacyRow(fresh[1], { 状態: '99' }), legacyRow(id('P3'), { 備考: number })]), '確認（取り込まない）');
    await expect(page.locator('#dry-summary').textContent()).resolves.toContain('取り込む 1行');
    const rows = await page.locator('#dry-rows tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent!.trim())));
    expect(rows).toEqual([
      ['1', fresh[0], '取り込む', '—', '—', '—'],
      ['2', fresh[1], '取り込まない', '状態コード', expect.stringContaining('不明な状態コード「99」'), '—'],
      ['3', '—', '取り込まない', '行', expect.stringContaining('個人番号'), '—'],
    ]);
    expect(await page.content()).not.toContain(number);
    expect(await sys.sql(`select card_id from card_resident where card_id = ?`, [fresh[0]])).toEqual([]);
    expect(await accessibilityViolations(page)).toEqual([]);

    await upload(legacyExport([legacyRow(fresh[0], { 氏名: '\uE001田 花子' }), legacyRow(fresh[1], { 状態: '99' })]), '取り込む');
    expect(page.url()).toMatch(/\/migration\/runs\/\d+$/);
    await eventually(async () => {
      await page.reload();
      return (await page.locator('#run-status').textContent())?.includes('完了');
    }, 60_000, 'the run to finish');
    expect(await page.locator('#run-progress').getAttribute('value')).toBe('2');
    expect(await page.locator('#run-status').textContent()).toContain('取り込み 1行');
    expect((await card(fresh[0])).card.resident.name).toBe('𠮷田 花子');
    expect(await accessibilityViolations(page)).toEqual([]);

    // Other roles do not reach the page.
    const callcenter = await (await browser.newContext({ locale: 'ja-JP' })).newPage();
    await signIn(callcenter, sys.baseUrl, await sys.webUser('callcenter'));
    expect((await callcenter.goto(`${sys.baseUrl}/migration`))!.status()).toBe(403);
  }, 240_000);

  it('the integrity check lists every difference between the old records and the system, row by row and in totals (CSV, PDF, page)', async () => {
    const [{ id: runId }] = await sys.sql<{ id: string }>(`select id from migration_run where file_sha256 = ?`, [sha256(readFileSync(files.export))]);
    // After the import: card A was booked by its resident (above), and card C's resident data is changed by hand.
    await sys.sql(`update card_resident set address = address || '（変更）' where card_id = ?`, [id('C')]);
    const out = join(dir, 'check.csv');
    const pdf = join(dir, 'check.pdf');
    const result = await run(process.execPath, ['dist/src/cli.js', 'migrate', 'check', String(runId), '--out', out, '--pdf', pdf], { env: process.env }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/12 rows, 2 match, 11 differences/);
    const csv = parse(readFileSync(out, 'utf8').replace(/^\uFEFF/, ''), { relax_column_count: true }) as string[][];
    const lines = csv.slice(1);
    const rowLines = lines.filter((l) => l[0] === '行');
    expect(rowLines.filter((l) => l[2] === '1').map((l) => [l[1], l[3], l[4], l[5]])).toEqual([
      ['相違あり: 状態', id('A'), '交付通知書発送済（旧コード 30）', '予約済'],
      ['相違あり: 予約', id('A'), '予約なし', '予約あり'],
    ]);
    expect(rowLines.filter((l) => l[3] === id('B')).map((l) => l[1])).toEqual(['一致']);
    expect(rowLines.filter((l) => l[3] === id('C')).map((l) => l[1])).toEqual(['相違あり: 住民データ']);
    expect(rowLines.filter((l) => l[1].startsWith('取り込まず')).map((l) => Number(l[2]))).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
    // Every row is there, and the totals say where the counts moved (rows 8 and 9 were read, then refused).
    expect(new Set(rowLines.map((l) => Number(l[2]))).size).toBe(12);
    const total = (dimension: string, key: string) => lines.find((l) => l[0] === `集計（${dimension}）` && l[1] === key)?.slice(4, 7).map(Number);
    expect(total('状態', '交付通知書発送済')).toEqual([3, 0, -3]);
    expect(total('状態', '予約済')).toEqual([1, 2, 1]);
    expect(total('予約', '予約あり')).toEqual([1, 2, 1]);
    expect(total('交付方式', '申請時来庁方式')).toEqual([1, 1, 0]);
    expect(total('会場', '豊洲シビックセンター 11階')).toEqual([1, 1, 0]);
    expect(total('状態', '（取り込めなかった行）')).toEqual([6, 0, -6]);
    expect(readFileSync(out, 'utf8')).not.toContain(number);
    expect(result.stdout).toMatch(/wrote .*check\.pdf \(\d+ pages, sha256 [0-9a-f]{64}\)/);
    expect(readFileSync(pdf).subarray(0, 5).toString()).toBe('%PDF-');

    // The page shows the same differences.
    const page: Page = await (await browser!.newContext({ locale: 'ja-JP' })).newPage();
    await signIn(page, sys.baseUrl, await sys.webUser('office'));
    await page.goto(`${sys.baseUrl}/migration/runs/${runId}/check`);
    await expect(page.locator('#check-summary').textContent()).resolves.toContain('相違 11件');
    expect(await accessibilityViolations(page)).toEqual([]);
    const diffRows = await page.locator('#check-differences tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent!.trim())));
    expect(diffRows).toContainEqual(['3', id('C'), '住民データ', expect.any(String), expect.any(String)]);
    // The card page shows the character to write by hand.
    await page.goto(`${sys.baseUrl}/cards/${id('A')}`);
    await expect(page.locator('#handwriting li').allTextContents()).resolves.toEqual([expect.stringMatching(/^氏名の4文字目（U\+E003）：該当する文字なし/)]);

    // The ward, who signs the report, finds it from the navigation: the runs without the import form.
    const wardPage: Page = await (await browser!.newContext({ locale: 'ja-JP' })).newPage();
    await signIn(wardPage, sys.baseUrl, await sys.webUser('ward'));
    await wardPage.getByRole('link', { name: '移行', exact: true }).click();
    await expect(wardPage.locator('form[action="/migration"]').count()).resolves.toBe(0);
    expect(await accessibilityViolations(wardPage)).toEqual([]);
    await wardPage.locator(`a[href="/migration/runs/${runId}/check"]`).click();
    await expect(wardPage.locator('#check-summary').textContent()).resolves.toContain('相違 11件');
    // Importing stays the office's.
    expect((await wardPage.request.get(`${sys.baseUrl}/migration/runs/${runId}`)).status()).toBe(403);
  }, 240_000);
});
