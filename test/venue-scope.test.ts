/**
 * The venue scope on every read of the read model (issue 7, item 11): venue staff see only their
 * venue's figures and card ids on the dashboard; a filter for another venue is refused, saying so;
 * and the administrator's dashboard links only to pages the administrator may use.
 */
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, signIn } from './support/browser.js';
import { TestSystem, aCard, eventually } from './support/test-system.js';

describe('venue scope', () => {
  let sys: TestSystem;
  let browser: Browser;
  // Two cards of the venue under test (oshima) and two of another venue, all late.
  const own = [aCard(), aCard()];
  const other = [aCard({}, { postalCode: '135-0061' }), aCard({}, { postalCode: '135-0061' })];
  const all = [...own, ...other].map((c) => c.cardId);

  beforeAll(async () => {
    sys = await TestSystem.start();
    browser = await launchBrowser();
    const office = await sys.token('office');
    await sys.http('POST', '/api/cards', { token: office, body: { cards: [...own, ...other] } });
    await eventually(async () => (await sys.sql(`select count(*)::int n from card where card_id in (?, ?, ?, ?)`, all))[0].n === 4);
    // The read model as the timers and actions would leave it: late, one returned notice, mailed this week.
    await sys.sql(`update card set venue_id = 'oshima' where card_id in (?, ?)`, own.map((c) => c.cardId));
    await sys.sql(`update card set venue_id = 'toyosu', notice_mailed_at = now() where card_id in (?, ?)`, other.map((c) => c.cardId));
    await sys.sql(`update card set late = true where card_id in (?, ?, ?, ?)`, all);
    await sys.sql(`update card set state = 'notice_returned' where card_id = ?`, [other[0].cardId]);
  });
  afterAll(async () => {
    await browser?.close();
    await sys?.stop();
  });

  const newPage = async () => (await browser.newContext({ locale: 'ja-JP' })).newPage();
  const stat = async (page: Page, heading: string) => (await page.locator('section.panel', { has: page.getByRole('heading', { name: heading, exact: true }) }).locator('.stat').textContent())!.trim();

  it("shows venue staff only their venue's figures and card ids on the dashboard", async () => {
    const page = await newPage();
    await signIn(page, sys.baseUrl, await sys.webUser('venue', { venueId: 'oshima' }));
    await page.goto(`${sys.baseUrl}/`);
    const html = await page.content();
    for (const c of other) expect(html).not.toContain(c.cardId);
    for (const c of own) expect(html).toContain(c.cardId);
    expect(html).not.toContain('豊洲シビックセンター');
    const [expected] = await sys.sql<{ cards: number; late: number; returned: number; no_shows: number }>(
      `select count(*)::int cards, count(*) filter (where late)::int late, count(*) filter (where state = 'notice_returned')::int returned,
         count(*) filter (where state = 'no_show')::int no_shows from card where venue_id = 'oshima'`,
    );
    const [cityWide] = await sys.sql<{ late: number; returned: number }>(`select count(*) filter (where late)::int late, count(*) filter (where state = 'notice_returned')::int returned from card`);
    expect(cityWide.late).toBeGreaterThan(expected.late);
    expect(cityWide.returned).toBeGreaterThan(expected.returned);
    expect(await stat(page, 'カード総数')).toBe(String(expected.cards));
    expect(await stat(page, '通知書発送の期限超過')).toBe(String(expected.late));
    expect(await stat(page, '返戻・予約不来')).toBe(`${expected.returned} / ${expected.no_shows}`);
  });

  it('refuses a venue filter for another venue, saying it is not theirs (API and search page)', async () => {
    const token = await sys.token('venue', undefined, 'oshima');
    const refused = await sys.http('GET', '/api/cards?venue=toyosu', { token });
    expect(refused.status).toBe(403);
    expect(refused.json.error.code).toBe('VENUE_NOT_YOURS');
    expect(refused.json.error.message).toMatch(/toyosu is not yours/);
    const mine = await sys.http('GET', '/api/cards?venue=oshima&limit=100', { token });
    expect(mine.status).toBe(200);
    expect(mine.json.items.map((c: { cardId: string }) => c.cardId)).toEqual(expect.arrayContaining(own.map((c) => c.cardId)));

    const page = await newPage();
    await signIn(page, sys.baseUrl, await sys.webUser('venue', { venueId: 'oshima' }));
    const res = await page.goto(`${sys.baseUrl}/cards?venue=toyosu`);
    expect(res!.status()).toBe(403);
    await page.getByText('あなたの担当会場ではありません').first().waitFor();
    for (const c of other) expect(await page.content()).not.toContain(c.cardId);
    // The search form offers only the user's own venue.
    await page.goto(`${sys.baseUrl}/cards`);
    expect(await page.locator('#venue option').evaluateAll((os) => os.map((o) => o.getAttribute('value')))).toEqual(['', 'oshima']);
  });

  it("leads the administrator only to pages the administrator may use", async () => {
    const page = await newPage();
    await signIn(page, sys.baseUrl, await sys.webUser('admin'));
    await page.goto(`${sys.baseUrl}/`);
    await page.getByRole('heading', { name: /ダッシュボード/ }).waitFor();
    const links = await page.locator('a[href]').evaluateAll((as) => [...new Set(as.map((a) => (a as unknown as { href: string }).href))]);
    const followed = links.filter((href) => href.startsWith(sys.baseUrl) && !href.includes('#'));
    expect(followed.length).toBeGreaterThan(0);
    const statuses: [string, number][] = [];
    for (const href of followed) statuses.push([href.slice(sys.baseUrl.length), (await page.request.get(href, { maxRedirects: 0 })).status()]);
    expect(statuses.filter(([, status]) => status >= 400)).toEqual([]);
  });
});
