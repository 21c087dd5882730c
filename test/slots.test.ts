/**
 * Slots (issue 9, item 2) on real PostgreSQL: generated from the ward calendar (closed days have
 * none, Wednesday evenings and a dated special opening have theirs), idempotent, a lowered capacity
 * keeps its bookings and flags the slot, a day closed after bookings lists them to move; the staff
 * API; the office's `/slots` page in real Chromium, with and without JavaScript, with axe checks.
 *
 * The days used are a week about 200 days ahead with no holiday, beyond the horizon the API
 * generates at start (so other files' servers leave them alone) and inside the 400 days the page
 * may change. Bookings are written as the booking claim writes them (a `booking` row and `booked`).
 */
import { safeRandomUUID } from '../src/common/my-number.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { addDays, tokyoDate, weekday } from '../src/calendar/business-days.js';
import type { CalendarConfig } from '../src/calendar/calendar-config.js';
import { SlotsRepository } from '../src/calendar/slots.repository.js';
import { SlotsService } from '../src/calendar/slots.service.js';
import { WardCalendar, nationalHolidayName } from '../src/calendar/ward-calendar.js';
import { loadWardConfig } from '../src/config/ward-config.js';
import { accessibilityViolations, launchBrowser, screenshot, signIn } from './support/browser.js';
import { TestSystem } from './support/test-system.js';

const ward = loadWardConfig('config/koto', '');
const VENUES = ward.venues.map((v) => v.id);

/** Monday of the first week from `from` on whose Monday..Sunday hold no holiday and no dated entry. */
function quietWeek(from: string): string {
  const dated = new Set([...ward.calendar.venueDefaults.dated, ...Object.values(ward.calendar.venues).flatMap((v) => v.dated ?? [])].map((e) => e.date));
  for (let monday = addDays(from, (8 - weekday(from)) % 7); ; monday = addDays(monday, 7)) {
    const week = Array.from({ length: 7 }, (_, i) => addDays(monday, i));
    if (week.every((d) => !nationalHolidayName(d) && !dated.has(d) && !['12-2', '01-0'].some((p) => d.slice(5).startsWith(p)))) return monday;
  }
}

describe('slots', () => {
  let sys: TestSystem;
  let slots: SlotsService;
  let repo: SlotsRepository;
  const monday = quietWeek(addDays(tokyoDate(), 200));
  const day = (i: number) => addDays(monday, i); // 0 = Monday … 6 = Sunday
  const sunday = day(6);
  const week = { from: day(0), to: day(6) };
  /** The Saturday of the week, opened by a dated entry in a copy of the ward's calendar. */
  const special: CalendarConfig = structuredClone(ward.calendar);
  special.venues.kuyakusho = { ...special.venues.kuyakusho, dated: [...(special.venues.kuyakusho?.dated ?? []), { date: day(5), open: true, from: '09:00', to: '12:00', why: '特別開庁' }] };
  const specialCalendar = new WardCalendar(special, VENUES);

  const count = async (venueId: string, date: string, onlyOpen = false) =>
    (
      await sys.sql<{ n: number }>(`select count(*)::int n from slot where venue_id = ? and starts_at >= ? and starts_at < ? ${onlyOpen ? 'and open' : ''}`, [
        venueId,
        new Date(`${date}T00:00:00+09:00`),
        new Date(`${addDays(date, 1)}T00:00:00+09:00`),
      ])
    )[0].n;
  const slot = async (venueId: string, date: string, time: string) =>
    (await sys.sql<{ capacity: number; booked: number; open: boolean }>(`select capacity, booked, open from slot where venue_id = ? and starts_at = ?`, [venueId, new Date(`${date}T${time}:00+09:00`)]))[0];
  /** Books `n` cards into a slot as the booking claim does: one `booking` row each and `booked` counted. */
  const book = async (venueId: string, date: string, time: string, n: number): Promise<string[]> => {
    const startsAt = new Date(`${date}T${time}:00+09:00`);
    const cards: string[] = [];
    for (let i = 0; i < n; i++) {
      const cardId = `SL${safeRandomUUID().slice(0, 8).toUpperCase()}`;
      cards.push(cardId);
      await sys.sql(
        `insert into booking (booking_number, card_id, request_id, venue_id, starts_at, ends_at, status) values (?, ?, ?, ?, ?, ?, 'booked')`,
        [`T${safeRandomUUID().slice(0, 12)}`, cardId, safeRandomUUID(), venueId, startsAt, new Date(startsAt.getTime() + 30 * 60_000)],
      );
      await sys.sql(`update slot set booked = booked + 1 where venue_id = ? and starts_at = ?`, [venueId, startsAt]);
    }
    return cards;
  };

  beforeAll(async () => {
    sys = await TestSystem.start();
    repo = sys.app.get(SlotsRepository);
    slots = new SlotsService(specialCalendar, repo);
    // A run of this file on a database that kept an earlier run's rows starts from nothing.
    await sys.sql(`delete from slot where starts_at >= ? and starts_at < ?`, [new Date(`${week.from}T00:00:00+09:00`), new Date(`${addDays(week.to, 1)}T00:00:00+09:00`)]);
    await sys.sql(`delete from venue_day where day between ? and ?`, [week.from, week.to]);
  });
  afterAll(async () => {
    await sys?.stop();
  });

  it('generates the calendar\'s slots: none on closed days, Wednesday evenings, a dated special opening, capacities by time of day', async () => {
    const r = await slots.generate(week);
    // Weekdays 8:30–17:00 are 17 half hours, Wednesday to 19:00 21; the special Saturday 9:00–12:00 is 6.
    const perDay = { kuyakusho: [17, 17, 21, 17, 17, 6], toyosu: [17, 17, 21, 17, 17, 0], oshima: [17, 17, 21, 17, 17, 0] };
    const sundayOpen = specialCalendar.venueOpening('kuyakusho', sunday).open;
    for (const venueId of VENUES) {
      for (let i = 0; i < 6; i++) expect([venueId, day(i), await count(venueId, day(i))]).toEqual([venueId, day(i), perDay[venueId as keyof typeof perDay][i]]);
      expect(await count(venueId, sunday)).toBe(sundayOpen ? 17 : 0);
    }
    const total = VENUES.length * (17 * 4 + 21) + 6 + (sundayOpen ? 17 * VENUES.length : 0);
    expect(r).toEqual({ from: week.from, to: week.to, inserted: total, opened: 0, closed: 0 });
    // Capacity by venue, weekday and time of day (config/koto/ward.json).
    expect(await slot('kuyakusho', day(0), '08:30')).toEqual({ capacity: 6, booked: 0, open: true });
    expect(await slot('kuyakusho', day(0), '12:00')).toMatchObject({ capacity: 4 });
    expect(await slot('kuyakusho', day(2), '17:00')).toMatchObject({ capacity: 4 });
    expect(await slot('kuyakusho', day(2), '18:30')).toMatchObject({ capacity: 4, open: true });
    expect(await slot('kuyakusho', day(0), '16:30')).toMatchObject({ capacity: 6 });
    expect(await slot('kuyakusho', day(0), '17:00')).toBeUndefined();
    expect(await slot('toyosu', day(2), '18:30')).toMatchObject({ capacity: 3 });
    expect(await slot('oshima', day(1), '09:00')).toMatchObject({ capacity: 3 });
    expect(await slot('kuyakusho', day(5), '09:00')).toEqual({ capacity: 6, booked: 0, open: true });
    expect(await slot('kuyakusho', day(5), '11:30')).toBeDefined();
    // The ward's own calendar (without the special opening) has no Saturday slots.
    expect(new SlotsService(new WardCalendar(ward.calendar, VENUES), repo).horizon('2026-11-26')).toEqual({ from: '2026-11-26', to: '2027-02-23' });
  });

  it('running the generation again makes nothing twice', async () => {
    const before = (await sys.sql<{ n: number }>(`select count(*)::int n from slot where starts_at >= ? and starts_at < ?`, [new Date(`${week.from}T00:00:00+09:00`), new Date(`${addDays(week.to, 1)}T00:00:00+09:00`)]))[0].n;
    expect(await slots.generate(week)).toEqual({ from: week.from, to: week.to, inserted: 0, opened: 0, closed: 0 });
    expect(await Promise.all([slots.generate(week), slots.generate(week)])).toEqual([
      { from: week.from, to: week.to, inserted: 0, opened: 0, closed: 0 },
      { from: week.from, to: week.to, inserted: 0, opened: 0, closed: 0 },
    ]);
    const after = (await sys.sql<{ n: number }>(`select count(*)::int n from slot where starts_at >= ? and starts_at < ?`, [new Date(`${week.from}T00:00:00+09:00`), new Date(`${addDays(week.to, 1)}T00:00:00+09:00`)]))[0].n;
    expect(after).toBe(before);
  });

  it('lowering a capacity below what is booked keeps every booking and flags the slot for the office', async () => {
    const cards = await book('toyosu', day(1), '10:00', 3);
    const lowered = await slots.setSlotCapacity('toyosu', new Date(`${day(1)}T10:00:00+09:00`), 2);
    expect(lowered).toMatchObject({ capacity: 2, booked: 3, free: 0, open: true, overCapacity: true });
    expect((await sys.sql(`select card_id from booking where card_id = any(?::text[]) and status = 'booked'`, [`{${cards.join(',')}}`])).length).toBe(3);
    const { overCapacity } = await slots.attention('toyosu');
    expect(overCapacity.map((s) => s.startsAt)).toContain(`${day(1)}T10:00:00+09:00`);
    // A day's capacity: every slot of the day, the booked one included, and kept by the next generation.
    await slots.setDayCapacity('toyosu', day(1), 1, 'test-office');
    expect(await slot('toyosu', day(1), '10:00')).toEqual({ capacity: 1, booked: 3, open: true });
    expect(await slot('toyosu', day(1), '15:00')).toMatchObject({ capacity: 1 });
    await slots.generate(week);
    expect(await slot('toyosu', day(1), '15:00')).toMatchObject({ capacity: 1 });
    // Back to the configured capacities: 4 places, 3 booked, no longer flagged.
    await slots.setDayCapacity('toyosu', day(1), null, 'test-office');
    expect(await slot('toyosu', day(1), '10:00')).toEqual({ capacity: 4, booked: 3, open: true });
    expect((await slots.attention('toyosu')).overCapacity.map((s) => s.startsAt)).not.toContain(`${day(1)}T10:00:00+09:00`);
  });

  it('a day closed after bookings were made closes its slots, lists the bookings to move, and stays closed', async () => {
    const cards = await book('oshima', day(3), '13:00', 2);
    const r = await slots.closeDay('oshima', day(3), 'test-office');
    expect(r.closed).toBe(17);
    expect(await count('oshima', day(3), true)).toBe(0);
    expect(await slot('oshima', day(3), '13:00')).toEqual({ capacity: 3, booked: 2, open: false });
    const { toMove } = await slots.attention('oshima');
    expect(toMove.filter((b) => cards.includes(b.cardId))).toEqual(cards.map((cardId) => ({ cardId, venueId: 'oshima', startsAt: `${day(3)}T13:00:00+09:00` })).sort((a, b) => a.cardId.localeCompare(b.cardId)));
    expect((await repo.list('oshima', day(3), day(3)))[8]).toMatchObject({ open: false, free: 0 });
    // The hourly generation keeps the office's closure.
    expect(await slots.generate(week)).toMatchObject({ inserted: 0, opened: 0, closed: 0 });
    // Opened again: the slots take bookings, nothing to move.
    expect((await slots.openDay('oshima', day(3), null, 'test-office')).opened).toBe(17);
    expect((await slots.attention('oshima')).toMove.filter((b) => cards.includes(b.cardId))).toEqual([]);
  });

  it('a closure the ward adds to the calendar after generation closes the day\'s slots at the next generation', async () => {
    const cards = await book('kuyakusho', day(4), '09:30', 1);
    const closedCfg: CalendarConfig = structuredClone(special);
    closedCfg.venues.kuyakusho!.dated = [...(closedCfg.venues.kuyakusho!.dated ?? []), { date: day(4), open: false, why: '庁舎の停電' }];
    const r = await new SlotsService(new WardCalendar(closedCfg, VENUES), repo).generate(week);
    expect(r).toMatchObject({ inserted: 0, opened: 0, closed: 17 });
    expect((await slots.attention('kuyakusho')).toMove.filter((b) => cards.includes(b.cardId))).toEqual([{ cardId: cards[0], venueId: 'kuyakusho', startsAt: `${day(4)}T09:30:00+09:00` }]);
    // And the calendar's hours again open them.
    expect(await slots.generate(week)).toMatchObject({ inserted: 0, opened: 17, closed: 0 });
  });

  it('npm run cli -- slots generate generates a range once', async () => {
    const next = day(7); // the Monday after the week: 8:30–17:00 unless a holiday
    const cli = () => promisify(execFile)(process.execPath, ['dist/src/cli.js', 'slots', 'generate', '--from', next, '--to', next], { env: { ...process.env, DATABASE_URL: process.env.DATABASE_URL } });
    await sys.sql(`delete from slot where starts_at >= ? and starts_at < ?`, [new Date(`${next}T00:00:00+09:00`), new Date(`${addDays(next, 1)}T00:00:00+09:00`)]);
    const expected = VENUES.reduce((n, v) => n + (specialCalendar.venueOpening(v, next).open ? 17 : 0), 0);
    expect((await cli()).stdout.trim()).toBe(`slots ${next}..${next}: ${expected} new, 0 opened, 0 closed`);
    expect((await cli()).stdout.trim()).toBe(`slots ${next}..${next}: 0 new, 0 opened, 0 closed`);
    await expect(promisify(execFile)(process.execPath, ['dist/src/cli.js', 'slots', 'generate', '--from', next, '--to', '2099-01-01'], { env: process.env })).rejects.toThrow(/at most 400 days/);
  });

  it('the API generates at its start and then every SLOT_GENERATION_MINUTES; 0 leaves it to another process', async () => {
    // A calendar without venues: a real generation over the horizon that touches no slot of other files.
    const noVenues = new WardCalendar({ ...special, venues: {} }, []);
    class Counted extends SlotsService {
      runs = 0;
      override async generate(opts?: Parameters<SlotsService['generate']>[0]) {
        this.runs++;
        return super.generate(opts);
      }
      get interval() {
        return (this as unknown as { timer?: NodeJS.Timeout & { _idleTimeout?: number } }).timer;
      }
    }
    const hourly = new Counted(noVenues, repo, { SLOT_GENERATION_MINUTES: 60 });
    await hourly.onApplicationBootstrap();
    expect([hourly.runs, hourly.interval?.hasRef(), hourly.interval?._idleTimeout]).toEqual([1, false, 3_600_000]);
    hourly.onApplicationShutdown();
    const none = new Counted(noVenues, repo, { SLOT_GENERATION_MINUTES: 0 });
    await none.onApplicationBootstrap();
    expect([none.runs, none.interval]).toEqual([0, undefined]);
    // The CLI's service (no process configuration) never generates on its own either.
    const cli = new Counted(noVenues, repo);
    await cli.onApplicationBootstrap();
    expect(cli.runs).toBe(0);
  });

  it('GET /api/venues/{venueId}/slots answers a bounded range and refuses the rest', async () => {
    const token = await sys.token('callcenter');
    const ok = await sys.http('GET', `/api/venues/kuyakusho/slots?from=${day(2)}&to=${day(2)}`, { token });
    expect(ok.status).toBe(200);
    expect(ok.json.slots).toHaveLength(21);
    expect(ok.json.slots[0]).toEqual({ venueId: 'kuyakusho', startsAt: `${day(2)}T08:30:00+09:00`, endsAt: `${day(2)}T09:00:00+09:00`, capacity: 6, booked: 0, free: 6, open: true, overCapacity: false });
    expect((await sys.http('GET', `/api/venues/kuyakusho/slots?from=${day(0)}&to=${addDays(day(0), 93)}`, { token })).json.error.code).toBe('VALIDATION_FAILED');
    expect((await sys.http('GET', `/api/venues/kuyakusho/slots?from=${day(2)}&to=${day(1)}`, { token })).status).toBe(400);
    expect((await sys.http('GET', `/api/venues/kuyakusho/slots?from=0000-01-01&to=0000-01-02`, { token })).status).toBe(400);
    expect((await sys.http('GET', `/api/venues/kuyakusho/slots`, { token })).status).toBe(400);
    const unknown = await sys.http('GET', `/api/venues/nowhere/slots?from=${day(2)}&to=${day(2)}`, { token });
    expect([unknown.status, unknown.json.error.code]).toEqual([404, 'UNKNOWN_VENUE']);
    expect((await sys.http('GET', `/api/venues/Bad%20Id/slots?from=${day(2)}&to=${day(2)}`, { token })).status).toBe(400);
    expect((await sys.http('GET', `/api/venues/kuyakusho/slots?from=${day(2)}&to=${day(2)}`, { token: await sys.token('admin') })).status).toBe(403);
    const doc = await sys.http('GET', '/api/docs-json');
    expect(doc.json.paths['/api/venues/{venueId}/slots'].get.parameters.map((p: { name: string }) => p.name).sort()).toEqual(['from', 'to', 'venueId']);
  });

  describe('the /slots page in Chromium', () => {
    let browser: Browser;
    let page: Page;
    beforeAll(async () => {
      browser = await launchBrowser();
    });
    afterAll(async () => {
      await browser?.close();
    });

    it('shows a day\'s slots, changes capacities, closes and opens the day with a confirmation, lists over-capacity slots and bookings to move (without JavaScript)', async () => {
      const cards = await book('kuyakusho', day(1), '11:00', 2);
      const office = await sys.webUser('office');
      page = await (await browser.newContext({ locale: 'ja-JP', javaScriptEnabled: false })).newPage();
      await signIn(page, sys.baseUrl, office);
      // axe runs in the page's JavaScript: the same pages are checked in a second context that has it.
      const axePage = await (await browser.newContext({ locale: 'ja-JP' })).newPage();
      await signIn(axePage, sys.baseUrl, office);
      const axe = async () => {
        await axePage.goto(page.url());
        return accessibilityViolations(axePage);
      };
      await page.getByRole('link', { name: '予約枠' }).click();
      await page.getByLabel('会場', { exact: true }).selectOption('kuyakusho');
      await page.getByLabel('日付', { exact: true }).fill(day(1));
      await page.getByRole('button', { name: '表示' }).click();
      const table = page.getByRole('table', { name: /の予約枠（17枠）/ });
      await table.waitFor();
      expect(await table.getByRole('row').nth(6).textContent()).toMatch(/11:00〜11:30\s*6\s*2\s*4\s*受付中/);
      expect(await axe()).toEqual([]);
      await screenshot(page, 'slots-day');

      // One slot below what is booked: kept, flagged.
      await page.getByLabel('11:00の枠の定員').fill('1');
      await page.getByRole('button', { name: /^変更\s*（11:00の枠）$/ }).click();
      await page.getByText('枠の定員を変更しました。').waitFor();
      expect(await table.getByRole('row').nth(6).textContent()).toMatch(/11:00〜11:30\s*1\s*2\s*0\s*定員超過/);
      const over = page.getByRole('table', { name: /定員超過の枠/ });
      expect(await over.textContent()).toContain(`${Number(day(1).slice(5, 7))}月${Number(day(1).slice(8))}日（火） 11:00〜11:30`);

      // A bad capacity is refused beside its field, nothing changes.
      await page.getByLabel('1枠あたりの定員（空欄: 設定どおり）').fill('2000');
      await page.getByRole('button', { name: '定員を変更' }).click();
      await page.getByRole('alert').getByText('定員は0から1000までの数で入力してください').waitFor();
      expect(await page.getByLabel('1枠あたりの定員（空欄: 設定どおり）').getAttribute('aria-invalid')).toBe('true');
      expect(await slot('kuyakusho', day(1), '09:00')).toMatchObject({ capacity: 6 });
      await page.getByLabel('1枠あたりの定員（空欄: 設定どおり）').fill('5');
      await page.getByRole('button', { name: '定員を変更' }).click();
      await page.getByText('この日のすべての枠の定員を変更しました。').waitFor();
      expect(await slot('kuyakusho', day(1), '09:00')).toMatchObject({ capacity: 5 });

      // Closing needs the confirmation.
      await page.getByRole('button', { name: '休業にする' }).click();
      await page.getByRole('alert').getByText('確認のチェックを入れてください').waitFor();
      expect(await count('kuyakusho', day(1), true)).toBe(17);
      await page.getByLabel(/を休業にします$/).check();
      await page.getByRole('button', { name: '休業にする' }).click();
      await page.getByText('この日を休業にしました。').waitFor();
      expect(await count('kuyakusho', day(1), true)).toBe(0);
      expect(await page.getByRole('definition').first().textContent()).toContain('休業（事務センターが休業に設定）');
      const move = page.getByRole('table', { name: /移動が必要な予約/ });
      for (const cardId of cards) expect(await move.getByRole('link', { name: cardId }).getAttribute('href')).toBe(`/cards/${cardId}`);
      expect(await axe()).toEqual([]);
      await screenshot(page, 'slots-closed');

      // Opened again as the calendar says.
      await page.getByLabel(/を開庁にします$/).check();
      await page.getByRole('button', { name: '開庁にする' }).click();
      await page.getByText('この日を開庁にしました。').waitFor();
      expect(await count('kuyakusho', day(1), true)).toBe(17);
      // This day's bookings no longer need moving (other test files' closed slots may still be listed).
      for (const cardId of cards) expect(await page.getByRole('link', { name: cardId }).count()).toBe(0);
      const log = await sys.sql<{ detail: string }>(`select detail from access_log where detail like ? order by id`, [`slots kuyakusho ${day(1)}%`]);
      expect(log.map((l) => l.detail)).toEqual([`slots kuyakusho ${day(1)} 11:00 capacity 1`, `slots kuyakusho ${day(1)} day capacity 5`, `slots kuyakusho ${day(1)} closed`, `slots kuyakusho ${day(1)} opened as the calendar`]);
    });

    it('opens a Saturday the calendar closes with the hours given, on a phone-sized screen with JavaScript; other roles may not', async () => {
      const context = await browser.newContext({ locale: 'ja-JP', viewport: { width: 390, height: 844 } });
      page = await context.newPage();
      await signIn(page, sys.baseUrl, await sys.webUser('ward'));
      await page.goto(`${sys.baseUrl}/slots?venue=toyosu&date=${day(5)}`);
      await page.getByText('休業日のため予約枠はありません。').waitFor();
      await page.getByLabel('開始').fill('10:00');
      await page.getByLabel('終了').fill('09:00');
      await page.getByLabel(/を開庁にします$/).check();
      await page.getByRole('button', { name: '開庁にする' }).click();
      await page.getByRole('alert').getByText('終了時刻は開始時刻より後にしてください').waitFor();
      expect(await page.getByLabel('終了').getAttribute('aria-invalid')).toBe('true');
      expect(await accessibilityViolations(page)).toEqual([]);
      await page.getByLabel('終了').fill('12:00');
      await page.getByLabel(/を開庁にします$/).check();
      await page.getByRole('button', { name: '開庁にする' }).click();
      await page.getByText('この日を開庁にしました。').waitFor();
      expect(await count('toyosu', day(5), true)).toBe(4);
      expect(await page.evaluate<number>('document.scrollingElement.scrollWidth')).toBeLessThanOrEqual(390);
      expect(await accessibilityViolations(page)).toEqual([]);
      await screenshot(page, 'slots-phone');

      const venue = await (await browser.newContext({ locale: 'ja-JP' })).newPage();
      await signIn(venue, sys.baseUrl, await sys.webUser('venue'));
      const refused = await venue.goto(`${sys.baseUrl}/slots`);
      expect(refused?.status()).toBe(403);
      expect(await venue.getByRole('link', { name: '予約枠' }).count()).toBe(0);
    });
  });
});
