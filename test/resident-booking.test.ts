/**
 * The residents' booking pages in real Chromium: sign-in with the booking number and date of birth,
 * booking, changing and cancelling in Japanese (without JavaScript) and in Chinese, on a 390 px
 * screen without sideways scrolling; the language switcher and Accept-Language; one resident never
 * reaching another's data; sign-in throttling and the booking number's lock as the call center sees
 * it; accessibility (axe, WCAG 2.2 A/AA).
 */
import { safeRandomUUID } from '../src/common/my-number.js';
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import { tokyoDate } from '../src/calendar/business-days.js';
import { formatDay, formatTime } from '../src/resident/resident-i18n.js';
import type { Language } from '../src/resident/resident-config.js';
import { accessibilityViolations, launchBrowser, screenshot, signIn } from './support/browser.js';
import { TestSystem, aCard, bookableStart } from './support/test-system.js';

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe("residents' booking pages in Chromium", () => {
  let sys: TestSystem;
  let browser: Browser;
  let office: string;
  let venue: string;
  const people = {
    ja: aCard({}, { name: '予約 花子', nameKana: 'ヨヤク ハナコ', birthDate: '1985-06-15' }),
    zh: aCard({}, { name: 'WANG XIAOMEI', nameKana: 'ワン シャオメイ', birthDate: '1990-02-03' }),
    other: aCard({}, { name: '他人 次郎', nameKana: 'タニン ジロウ', birthDate: '1970-11-30' }),
    locked: aCard({}, { name: '施錠 三郎', nameKana: 'セジョウ サブロウ', birthDate: '1960-01-20' }),
  };
  const numbers: Record<keyof typeof people, string> = { ja: '', zh: '', other: '', locked: '' };
  // Slots for this file only (minutes past the hour no other file uses).
  // Beyond the calendar's 90-day horizon, so that the venue's own slots (which other test files
  // book too) do not crowd the nearest free slots a refusal lists.
  const slotA = bookableStart(70, '10:10');
  const slotB = bookableStart(71, '14:10');
  const slotToyosu = bookableStart(72, '10:10');
  const slotC = bookableStart(73, '11:10');
  const slotFull = bookableStart(73, '15:10');

  beforeAll(async () => {
    // Small limits, so that the throttle (3 failures per number, 6 per address, in 30 s) and the lock (5) show quickly.
    process.env.RESIDENT_CONFIG_JSON = JSON.stringify({ throttle: { perAddress: 6, perBookingNumber: 3, windowSeconds: 30 }, lock: { afterFailures: 5, withinHours: 1, minutes: 30 } });
    sys = await TestSystem.start();
    browser = await launchBrowser();
    office = await sys.token('office');
    venue = await sys.token('venue');
    const cards = Object.values(people);
    expect((await sys.http('POST', '/api/cards', { token: office, body: { cards } })).status).toBe(200);
    const act = async (id: string, token: string, action: string) => {
      const res = await sys.http('POST', `/api/cards/${id}/actions/${action}`, { token, body: {}, headers: { 'idempotency-key': safeRandomUUID() } });
      if (res.status !== 200) throw new Error(`${action}: ${res.status} ${res.text}`);
    };
    await Promise.all(
      cards.map(async (c) => {
        await act(c.cardId, office, 'inspect');
        await act(c.cardId, office, 'ship_to_venue');
        await act(c.cardId, venue, 'receive_at_venue');
        await act(c.cardId, office, 'mail_notice');
      }),
    );
    for (const [k, c] of Object.entries(people)) {
      numbers[k as keyof typeof people] = (await sys.sql<{ number: string }>(`select number from booking_number where card_id = ?`, [c.cardId]))[0].number;
    }
    for (const s of [slotA, slotB, slotC]) await sys.slot('kuyakusho', s, 30 * 60_000, 3);
    await sys.slot('toyosu', slotToyosu, 30 * 60_000, 3);
    await sys.slot('kuyakusho', slotFull, 30 * 60_000, 1);
  });
  afterAll(async () => {
    delete process.env.RESIDENT_CONFIG_JSON;
    await browser?.close();
    await sys?.stop();
  }, 120_000);

  let address = 10;
  /** A browser of its own, from its own client address (the throttles count per address). */
  const newPage = async (opts: BrowserContextOptions = {}) =>
    (await browser.newContext({ locale: 'ja-JP', viewport: { width: 390, height: 844 }, extraHTTPHeaders: { 'x-forwarded-for': `198.51.100.${address++}` }, ...opts })).newPage();

  const found: Record<string, string[]> = {};
  const widths: Record<string, number> = {};
  /** Records the page's axe violations and width; the tests assert them all at the end of each flow. */
  async function check(page: Page, name: string) {
    found[name] = await accessibilityViolations(page);
    widths[name] = await page.evaluate<number>('document.scrollingElement.scrollWidth');
  }

  async function residentSignIn(page: Page, number: string, birthDate: string, labels = { number: '予約番号', birth: '生年月日', submit: 'ログイン' }) {
    await page.goto(`${sys.baseUrl}/booking`);
    await page.getByLabel(labels.number).fill(number);
    await page.getByLabel(labels.birth).fill(birthDate);
    await page.getByRole('button', { name: labels.submit }).click();
  }

  /** From the venue page: a venue, then the day (moving month by month), then the time; stops on the confirm page. */
  async function choose(page: Page, venueName: string, start: Date, lang: Language, labels: { next: string; nextMonth: string; toConfirm: string }, checks = false) {
    if (checks) await check(page, `${lang}-venues`);
    await page.getByLabel(new RegExp(escape(venueName))).check();
    await page.getByRole('button', { name: labels.next }).click();
    if (checks) await check(page, `${lang}-calendar`);
    const day = page.getByRole('link', { name: new RegExp(escape(formatDay(tokyoDate(start), lang))) });
    for (let i = 0; i < 3 && !(await day.count()); i++) await page.getByRole('link', { name: new RegExp(escape(labels.nextMonth)) }).click();
    await day.click();
    if (checks) await check(page, `${lang}-day`);
    await page.getByLabel(new RegExp(`^${escape(formatTime(start, lang))}`)).check();
    await page.getByRole('button', { name: labels.toConfirm }).click();
  }

  const events = (cardId: string) => sys.sql<{ type: string; channel: string; actor_role: string }>(`select type, channel, actor_role from card_event where card_id = ? order by seq`, [cardId]);
  const booked = async (cardId: string) => {
    const row = (await sys.sql<{ venue_id: string; starts_at: string }>(`select venue_id, starts_at from booking where card_id = ? and status = 'booked'`, [cardId]))[0];
    return row && { venue_id: row.venue_id, starts_at: new Date(row.starts_at).toISOString() };
  };
  const slotBooked = async (venueId: string, at: Date) => (await sys.sql<{ booked: number }>(`select booked from slot where venue_id = ? and starts_at = ?`, [venueId, at.toISOString()]))[0].booked;

  // axe and the page width are measured with JavaScript on (the Chinese flow and the isolation test): axe runs in the page.
  it('books, changes and cancels in Japanese on a 390 px screen without JavaScript', async () => {
    const page = await newPage({ javaScriptEnabled: false });
    await page.goto(`${sys.baseUrl}/booking`);
    expect(await page.getAttribute('html', 'lang')).toBe('ja');
    // Full-width digits are forgiven.
    await residentSignIn(page, numbers.ja.replace(/[0-9]/g, (d) => String.fromCharCode(d.charCodeAt(0) + 0xfee0)), people.ja.resident.birthDate as string);
    await page.getByText('カードの準備ができています。').waitFor();
    await page.getByText(numbers.ja).first().waitFor();
    await screenshot(page, 'resident-home');

    await page.getByRole('link', { name: '受取の予約をする' }).click();
    await page.getByLabel(/江東区役所/).check();
    await page.getByRole('button', { name: '日にちを選ぶ' }).click();
    await screenshot(page, 'resident-calendar');
    // Days before the earliest bookable day are shown as such, not as links.
    await page.getByText('受付前').first().waitFor();
    await page.goto(`${sys.baseUrl}/booking/venues`);
    await choose(page, '江東区役所', slotA, 'ja', { next: '日にちを選ぶ', nextMonth: '次の月', toConfirm: '確認へ進む' });
    await page.getByRole('heading', { name: '予約内容の確認' }).waitFor();
    await page.getByRole('button', { name: '予約する' }).click();
    await page.getByText('予約しました。').waitFor();
    await screenshot(page, 'resident-confirmation');
    const confirmation = await page.locator('main').innerText();
    for (const text of [numbers.ja, '江東区役所 2階', '江東区東陽4-11-28', formatDay(slotA.toISOString(), 'ja'), formatTime(slotA, 'ja'), '本人確認書類']) expect(confirmation).toContain(text);
    expect(await booked(people.ja.cardId)).toMatchObject({ venue_id: 'kuyakusho', starts_at: slotA.toISOString() });
    expect(await slotBooked('kuyakusho', slotA)).toBe(1);

    // Change: the same flow, with the booking before and after.
    await page.getByRole('link', { name: '予約の状況に戻る' }).click();
    await page.getByRole('link', { name: '予約を変更する' }).click();
    await choose(page, '江東区役所', slotB, 'ja', { next: '日にちを選ぶ', nextMonth: '次の月', toConfirm: '確認へ進む' });
    await page.getByRole('heading', { name: '予約変更の確認' }).waitFor();
    await page.getByRole('heading', { name: '変更前' }).waitFor();
    await page.getByRole('button', { name: '変更する' }).click();
    await page.getByText('予約を変更しました。').waitFor();
    expect(await booked(people.ja.cardId)).toMatchObject({ starts_at: slotB.toISOString() });
    expect([await slotBooked('kuyakusho', slotA), await slotBooked('kuyakusho', slotB)]).toEqual([0, 1]);
    expect(await page.locator('main').innerText()).toContain(numbers.ja);

    // Cancel, after a confirmation page.
    await page.getByRole('link', { name: '予約の状況に戻る' }).click();
    await page.getByRole('link', { name: '予約を取り消す' }).click();
    await page.getByText('次の予約を取り消します。よろしいですか？').waitFor();
    await page.getByRole('button', { name: '予約を取り消す' }).click();
    await page.getByText('予約を取り消しました。').waitFor();
    expect(await booked(people.ja.cardId)).toBeUndefined();
    expect(await slotBooked('kuyakusho', slotB)).toBe(0);
    await page.getByRole('link', { name: '受取の予約をする' }).waitFor();

    // Every resident action is recorded as the resident, on the residents' channel.
    const mine = (await events(people.ja.cardId)).filter((e) => ['reserve', 'cancel_reservation'].includes(e.type));
    expect(mine.length).toBeGreaterThanOrEqual(3);
    for (const e of mine) expect(e).toMatchObject({ channel: 'resident-web', actor_role: 'resident' });

    // Signing out ends the session on the server.
    const cookie = (await page.context().cookies()).find((c) => c.name.includes('resident'))!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
    await page.getByRole('button', { name: 'ログアウト' }).click();
    await page.getByText('ログアウトしました。').waitFor();
    const reuse = await fetch(`${sys.baseUrl}/booking/home`, { headers: { cookie: `${cookie.name}=${cookie.value}` }, redirect: 'manual' });
    expect(reuse.status).toBe(303);
  }, 400_000);

  it('books in Chinese chosen by the browser, at another venue, changes and cancels; the switcher changes the language and is remembered', async () => {
    const page = await newPage({ locale: 'zh-CN' });
    await page.goto(`${sys.baseUrl}/booking`);
    expect(await page.getAttribute('html', 'lang')).toBe('zh-Hans');
    await page.getByRole('heading', { name: '领取预约 登录' }).waitFor();
    await check(page, 'sign-in-zh');
    await residentSignIn(page, numbers.zh, people.zh.resident.birthDate as string, { number: '预约号码', birth: '出生日期', submit: '登录' });
    await page.getByText('您的卡已准备好。').waitFor();
    await check(page, 'home-zh');
    await page.getByRole('link', { name: '预约领取时间' }).click();
    await choose(page, '丰洲市民中心', slotToyosu, 'zh', { next: '选择日期', nextMonth: '下个月', toConfirm: '前往确认' }, true);
    await page.getByRole('heading', { name: '确认预约内容' }).waitFor();
    await check(page, 'confirm-zh');
    await page.getByRole('button', { name: '预约', exact: true }).click();
    await page.getByText('预约成功。').waitFor();
    const text = await page.locator('main').innerText();
    for (const t of [numbers.zh, '丰洲市民中心 11楼', '江东区丰洲2-2-18', '本人身份证明文件']) expect(text).toContain(t);
    expect(await booked(people.zh.cardId)).toMatchObject({ venue_id: 'toyosu', starts_at: slotToyosu.toISOString() });
    await check(page, 'confirmation-zh');

    // The switcher: Korean, remembered on the next page; English the same way.
    await page.getByRole('link', { name: '한국어' }).click();
    expect(await page.getAttribute('html', 'lang')).toBe('ko');
    await page.getByRole('heading', { name: '예약 확인표' }).waitFor();
    await page.goto(`${sys.baseUrl}/booking/home`);
    await page.getByRole('heading', { name: '예약 현황' }).waitFor();
    await page.getByRole('link', { name: 'English' }).click();
    await page.getByRole('heading', { level: 1, name: 'Your booking', exact: true }).waitFor();
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    await page.getByRole('link', { name: '简体中文' }).click();

    // Change back to the city hall: the chosen time fills up meanwhile, the refusal (in Chinese) offers the nearest free times.
    await page.getByRole('link', { name: '更改预约' }).click();
    await choose(page, '江东区政府', slotFull, 'zh', { next: '选择日期', nextMonth: '下个月', toConfirm: '前往确认' });
    await sys.sql(`update slot set booked = capacity where venue_id = 'kuyakusho' and starts_at = ?`, [slotFull.toISOString()]);
    await page.getByRole('button', { name: '更改', exact: true }).click();
    await page.getByText('您选择的时间已满。请选择其他时间。').waitFor();
    await page.getByRole('heading', { name: '附近有空位的时间' }).waitFor();
    expect(await booked(people.zh.cardId)).toMatchObject({ venue_id: 'toyosu' });
    await page.getByRole('link', { name: new RegExp(`${escape(formatDay(slotC.toISOString(), 'zh'))} ${escape(formatTime(slotC, 'zh'))}–`) }).click();
    await page.getByRole('button', { name: '更改', exact: true }).click();
    await page.getByText('预约已更改。').waitFor();
    expect(await booked(people.zh.cardId)).toMatchObject({ venue_id: 'kuyakusho', starts_at: slotC.toISOString() });
    await page.getByRole('link', { name: '返回预约状况' }).click();
    await page.getByRole('link', { name: '取消预约' }).click();
    await check(page, 'cancel-zh');
    await page.getByRole('button', { name: '取消预约' }).click();
    await page.getByText('已取消预约。').waitFor();
    expect(await booked(people.zh.cardId)).toBeUndefined();
    for (const e of (await events(people.zh.cardId)).filter((x) => ['reserve', 'cancel_reservation'].includes(x.type))) expect(e.channel).toBe('resident-web');

    expect(Object.entries(found).filter(([, v]) => v.length)).toEqual([]);
    expect(Object.keys(widths).length).toBeGreaterThanOrEqual(8);
    for (const [name, w] of Object.entries(widths)) expect([name, w <= 390]).toEqual([name, true]);
  }, 400_000);

  it("never shows one resident another's data: another's number, tampered fields, other URLs", async () => {
    // The other resident has a booking.
    const page0 = await newPage();
    await residentSignIn(page0, numbers.other, people.other.resident.birthDate as string);
    await page0.getByRole('link', { name: '受取の予約をする' }).click();
    await choose(page0, '江東区役所', slotC, 'ja', { next: '日にちを選ぶ', nextMonth: '次の月', toConfirm: '確認へ進む' });
    await page0.getByRole('button', { name: '予約する' }).click();
    await page0.getByText('予約しました。').waitFor();
    const othersBooking = await booked(people.other.cardId);

    // Another's number with one's own birth date is refused.
    const page = await newPage();
    await residentSignIn(page, numbers.other, people.ja.resident.birthDate as string);
    await page.getByText('予約番号または生年月日が違います。').waitFor();
    await check(page, 'sign-in-ja-error');
    await residentSignIn(page, numbers.ja, people.ja.resident.birthDate as string);
    await page.getByRole('heading', { name: '予約の状況' }).waitFor();
    await check(page, 'home-ja');

    // URLs naming the other card, and forms with its id or number, reach only one's own card.
    for (const path of [`/booking/home?cardId=${people.other.cardId}`, `/booking/confirmation?cardId=${people.other.cardId}&bookingNumber=${numbers.other}`, `/booking/cancel?card=${people.other.cardId}`]) {
      await page.goto(sys.baseUrl + path);
      const text = await page.locator('body').innerText();
      expect(text).not.toContain(numbers.other);
      expect(text).not.toContain(people.other.cardId);
    }
    const csrf = await page.locator('input[name=_csrf]').first().getAttribute('value');
    const cancel = await page.request.post(`${sys.baseUrl}/booking/cancel`, { form: { _csrf: csrf!, key: safeRandomUUID(), cardId: people.other.cardId, bookingNumber: numbers.other }, maxRedirects: 0 });
    expect(cancel.status()).toBeLessThan(500);
    expect(await booked(people.other.cardId)).toEqual(othersBooking);
    const book = await page.request.post(`${sys.baseUrl}/booking/book`, {
      form: { _csrf: csrf!, key: safeRandomUUID(), venue: 'kuyakusho', start: slotA.toISOString(), cardId: people.other.cardId, bookingNumber: numbers.other },
      maxRedirects: 0,
    });
    expect(book.status()).toBe(303);
    expect(await booked(people.other.cardId)).toEqual(othersBooking);
    expect(await booked(people.ja.cardId)).toMatchObject({ starts_at: slotA.toISOString() });
    // A form without the session's CSRF token changes nothing.
    const forged = await page.request.post(`${sys.baseUrl}/booking/cancel`, { form: { _csrf: 'forged', key: safeRandomUUID() }, maxRedirects: 0 });
    expect(forged.status()).toBe(403);
    expect(await booked(people.ja.cardId)).toMatchObject({ starts_at: slotA.toISOString() });
    // Without a session, no page but sign-in opens.
    const anonymous = await fetch(`${sys.baseUrl}/booking/confirmation`, { redirect: 'manual' });
    expect([anonymous.status, anonymous.headers.get('location')]).toEqual([303, '/booking']);
    await page.goto(`${sys.baseUrl}/booking/confirmation`);
    await page.getByText(numbers.ja).first().waitFor();
    await check(page, 'confirmation-ja');
    for (const name of ['sign-in-ja-error', 'home-ja', 'confirmation-ja']) expect([name, found[name], widths[name] <= 390]).toEqual([name, [], true]);
  }, 400_000);

  it('throttles sign-in per booking number and per address, locks the number after more failures, and the call center sees the lock', async () => {
    const wrong = '1999-09-09';
    /** A sign-in form post from the page's own address, with the form's token (as the form sends it). */
    const post = async (page: Page, bookingNumber: string, birthDate: string) => {
      if (!page.url().includes('/booking')) await page.goto(`${sys.baseUrl}/booking`);
      // Double submit: the form's token is the cookie's (each answer with the form sets a new one).
      const csrf = (await page.context().cookies()).find((c) => c.name.endsWith('resident_csrf'))!.value;
      const res = await page.request.post(`${sys.baseUrl}/booking/sign-in`, { form: { _csrf: csrf, bookingNumber, birthDate }, maxRedirects: 0 });
      return { status: res.status(), text: await res.text(), retryAfter: res.headers()['retry-after'] };
    };
    // Three failures for one number, from three addresses: the third says until when (in the window of 30 s).
    const windowStart = Date.now();
    const first = [await post(await newPage(), numbers.locked, wrong), await post(await newPage(), numbers.locked, wrong)];
    expect(first.map((r) => r.status)).toEqual([401, 401]);
    const page3 = await newPage();
    await residentSignIn(page3, numbers.locked, wrong);
    await page3.getByText(/しばらく受け付けを止めています。.*\d{2}:\d{2}以降/).waitFor();
    // While throttled, even the right birth date is not checked.
    expect((await post(await newPage(), numbers.locked, people.locked.resident.birthDate as string)).status).toBe(429);
    // After the window, two more failures lock the number: even the right birth date is refused.
    await new Promise((r) => setTimeout(r, Math.max(0, windowStart + 31_000 - Date.now())));
    expect((await post(await newPage(), numbers.locked, wrong)).status).toBe(401);
    const page = await newPage();
    await residentSignIn(page, numbers.locked, wrong);
    await page.getByText(/この予約番号は、入力の誤りが続いたため.*\d{2}:\d{2}までロックされています/).waitFor();
    const right = await newPage();
    await residentSignIn(right, numbers.locked, people.locked.resident.birthDate as string);
    await right.getByText(/までロックされています/).waitFor();
    const until = (await sys.sql<{ locked_until: string }>(`select locked_until from booking_number_lock where booking_number = ?`, [numbers.locked]))[0].locked_until;
    expect(new Date(until).getTime()).toBeGreaterThan(Date.now() + 25 * 60_000);

    // The call center sees the lock on the card page; another card shows none.
    const callcenter = await newPage({ viewport: { width: 1280, height: 900 } });
    await signIn(callcenter, sys.baseUrl, await sys.webUser('callcenter'));
    await callcenter.goto(`${sys.baseUrl}/cards/${people.locked.cardId}`);
    await callcenter.getByText(/予約番号ロック中 〜\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}/).waitFor();
    await callcenter.goto(`${sys.baseUrl}/cards/${people.ja.cardId}`);
    await callcenter.getByRole('heading', { name: `カード ${people.ja.cardId}` }).waitFor();
    expect(await callcenter.getByText('予約番号ロック中').count()).toBe(0);

    // One address that keeps failing (any numbers) is refused for a while (429, Retry-After), even with a right pair.
    const guesser = await newPage();
    const tries = [];
    for (let i = 0; i < 6; i++) tries.push(await post(guesser, String(1_000_000_000 + i), wrong));
    expect(tries.map((r) => r.status)).toEqual([401, 401, 401, 401, 401, 429]);
    expect(Number(tries[5].retryAfter)).toBeGreaterThan(0);
    expect(tries[5].text).toContain('しばらく受け付けを止めています');
    expect((await post(guesser, numbers.ja, people.ja.resident.birthDate as string)).status).toBe(429);
    // Without the form's token nothing is checked.
    const res = await guesser.request.post(`${sys.baseUrl}/booking/sign-in`, { form: { bookingNumber: numbers.ja, birthDate: people.ja.resident.birthDate as string }, maxRedirects: 0 });
    expect(res.status()).toBe(403);
    // Another address signs in with the same pair.
    const fine = await newPage();
    await residentSignIn(fine, numbers.ja, people.ja.resident.birthDate as string);
    await fine.getByRole('heading', { name: '予約の状況' }).waitFor();
  }, 400_000);
});
