/**
 * Read your own registration: `POST /api/cards` answers once every card of the request can be read,
 * or 202 with the cards still pending (never `created` for a card that answers 404); the form and
 * the CSV upload show their result only when the cards they link to can be opened.
 */
import { safeRandomUUID } from '../src/common/my-number.js';
import type { Browser } from 'playwright-core';
import { APP_CONFIG } from '../src/config/config.module.js';
import type { AppConfig } from '../src/config/app-config.js';
import { launchBrowser, signIn } from './support/browser.js';
import { TestSystem, aCard } from './support/test-system.js';

/** Runs `fn` over `items`, `width` at a time. */
async function inPool<T, R>(items: T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

/** A card id of a letter and 10 hex digits: never 12 digits in a row, which the My Number guard would refuse. */
const newId = () => `B${safeRandomUUID().replace(/-/g, '').slice(0, 10).toUpperCase()}`;
const card = () => aCard({ cardId: newId() });

describe('registration answers when its cards can be read', () => {
  let sys: TestSystem;
  let office: string;

  beforeAll(async () => {
    sys = await TestSystem.start();
    office = await sys.token('office');
  });
  afterAll(async () => {
    await sys?.stop();
  });

  const readable = async (ids: string[]) => (await sys.sql<{ n: number }>(`select count(*)::int n from card where card_id = any(?::text[])`, [`{${ids.join(',')}}`]))[0].n;

  it('a single card: the answer is followed at once by GET → 200, for each of 20 registered side by side', async () => {
    const cards = Array.from({ length: 20 }, card);
    const statuses = await Promise.all(
      cards.map(async (card) => {
        const res = await sys.http('POST', '/api/cards', { token: office, body: card });
        const get = await sys.http('GET', `/api/cards/${card.cardId}`, { token: office });
        return [res.status, res.json.status, get.status, get.json?.card?.state];
      }),
    );
    expect(statuses).toEqual(cards.map(() => [200, 'created', 200, 'received']));
  });

  it('a batch of 1,000: every card is readable when the answer comes', async () => {
    const cards = Array.from({ length: 1000 }, card);
    const ids = cards.map((c) => c.cardId);
    const started = Date.now();
    // The longest wait allowed: on a machine shared by parallel test runs, 1,000 first tasks can take a minute.
    // Readable cards every 2 s while the request runs: where the time goes, printed beside the answer's.
    const timeline: string[] = [];
    let answered = false;
    const sampling = (async () => {
      while (!answered) {
        await new Promise((r) => setTimeout(r, 2000));
        timeline.push(`${Math.round((Date.now() - started) / 1000)}s:${await readable(ids)}`);
      }
    })();
    const res = await sys.http('POST', '/api/cards?wait=120', { token: office, body: { cards } });
    const answeredMs = Date.now() - started;
    answered = true;
    await sampling;
    const looked = Date.now();
    const atAnswer = await readable(ids);
    console.log(`registration readback: batch of 1,000 answered in ${answeredMs} ms; ${atAnswer} of 1,000 readable at the answer (one look: ${Date.now() - looked} ms); readable while waiting: ${timeline.join(' ')}`);
    expect(res.status).toBe(200);
    expect(res.json.pending).toBeUndefined();
    expect(res.json.results.filter((r: { status: string }) => r.status !== 'created')).toEqual([]);
    expect(atAnswer).toBe(1000);
    const gets = await inPool(ids, 16, async (id) => (await sys.http('GET', `/api/cards/${id}`, { token: office })).status);
    expect(gets.filter((s) => s !== 200)).toEqual([]);
  }, 300_000);

  it('answers 202 with the cards still pending when they cannot be read in time, and 200 when asked again', async () => {
    const one = card();
    const other = card();
    await sys.cardWorker!.stop();
    let restarted = false;
    try {
      const single = await sys.http('POST', '/api/cards?wait=0', { token: office, body: one });
      expect([single.status, single.json]).toEqual([202, { cardId: one.cardId, status: 'pending' }]);
      const batch = await sys.http('POST', '/api/cards?wait=1', { token: office, body: { cards: [one, other] } });
      expect(batch.status).toBe(202);
      expect(batch.json).toEqual({
        results: [
          { cardId: one.cardId, status: 'pending' },
          { cardId: other.cardId, status: 'pending' },
        ],
        pending: [one.cardId, other.cardId],
      });
      // Readable (the registration's statement wrote it), but no workflow takes actions yet: pending.
      expect((await sys.http('GET', `/api/cards/${one.cardId}`, { token: office })).status).toBe(200);
      await sys.startWorker();
      restarted = true;
      // The same request again registers nothing twice and waits until the cards can be read.
      const again = await sys.http('POST', '/api/cards', { token: office, body: { cards: [one, other] } });
      expect([again.status, again.json]).toEqual([
        200,
        {
          results: [
            { cardId: one.cardId, status: 'exists' },
            { cardId: other.cardId, status: 'exists' },
          ],
        },
      ]);
      expect((await sys.http('GET', `/api/cards/${other.cardId}`, { token: office })).status).toBe(200);
    } finally {
      if (!restarted) await sys.startWorker();
    }
  }, 60_000);

  it('refuses a wait that is not whole seconds 0..120, and unknown query parameters', async () => {
    for (const q of ['wait=abc', 'wait=121', 'wait=-1', 'wait=1.5', 'later=1']) {
      const res = await sys.http('POST', `/api/cards?${q}`, { token: office, body: card() });
      expect([q, res.status, res.json.error.code]).toEqual([q, 400, 'VALIDATION_FAILED']);
    }
  });

  describe('registration pages', () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await launchBrowser();
    });
    afterAll(async () => {
      await browser?.close();
    });

    const signedIn = async () => {
      const page = await (await browser.newContext({ locale: 'ja-JP' })).newPage();
      await signIn(page, sys.baseUrl, await sys.webUser('office'));
      return page;
    };
    const HEADER = 'card_id,route,name,name_kana,birth_date,postal_code,address,phone,nationality';
    const csv = (ids: string[]) => Buffer.from(`${[HEADER, ...ids.map((id) => `${id},pickup,登録 花子,トウロク ハナコ,1985-05-05,135-0016,江東区東陽4-11-28,03-3647-9111,`)].join('\r\n')}\r\n`, 'utf8');
    const commit = async (page: Awaited<ReturnType<typeof signedIn>>, ids: string[]) => {
      await page.goto(`${sys.baseUrl}/register`);
      const form = page.getByRole('form', { name: 'CSVファイルでまとめて登録' });
      await form.getByLabel('CSVファイル').setInputFiles({ name: 'cards.csv', mimeType: 'text/csv', buffer: csv(ids) });
      const response = page.waitForResponse((r) => r.url().endsWith('/register/csv') && r.request().method() === 'POST');
      await form.getByRole('button', { name: '登録する', exact: true }).click();
      return (await response).status();
    };

    it('the CSV result links to every new card, and each link opens at once', async () => {
      const page = await signedIn();
      const ids = Array.from({ length: 50 }, newId);
      expect(await commit(page, ids)).toBe(200);
      await page.getByRole('heading', { name: 'カード登録の結果' }).waitFor();
      const links = await page.getByRole('table', { name: /新しく登録したカード/ }).getByRole('link').all();
      const hrefs = await Promise.all(links.map((l) => l.getAttribute('href')));
      expect(hrefs.sort()).toEqual(ids.map((id) => `/cards/${id}`).sort());
      const opened = await inPool(hrefs, 8, async (href) => (await page.request.get(`${sys.baseUrl}${href}`)).status());
      expect(opened).toEqual(ids.map(() => 200));
      await links[0].click();
      await page.getByRole('heading', { name: /^カード B/ }).waitFor();
    }, 120_000);

    it('the form opens the new card at once; cards that cannot be opened yet are listed without links and not called registered', async () => {
      const page = await signedIn();
      const id = newId();
      await page.goto(`${sys.baseUrl}/register`);
      const single = page.getByRole('form', { name: '1件ずつ登録' });
      await single.locator('#f-card_id').fill(id);
      await single.locator('#f-name').fill('即時 花子');
      await single.locator('#f-name_kana').fill('ソクジ ハナコ');
      await single.locator('#f-birth_date').fill('1985-05-05');
      await single.locator('#f-postal_code').fill('1350016');
      await single.locator('#f-address').fill('江東区東陽4-11-28');
      await single.getByRole('button', { name: 'このカードを登録する' }).click();
      await page.waitForURL(new RegExp(`/cards/${id}$`));
      await page.getByRole('heading', { name: `カード ${id}` }).waitFor();

      const config = sys.app.get<AppConfig>(APP_CONFIG);
      const wait = config.REGISTRATION_WAIT_SECONDS;
      await sys.cardWorker!.stop();
      try {
        config.REGISTRATION_WAIT_SECONDS = 1;
        const ids = [newId(), newId()];
        expect(await commit(page, ids)).toBe(202);
        expect(await page.getByRole('status').textContent()).toContain('新しく登録 0件、既に登録済み 0件、受け付けたがまだ開けない 2件');
        const pending = page.getByRole('table', { name: /まだ開けないカード/ });
        expect((await pending.locator('tbody td').allTextContents()).sort()).toEqual([...ids].sort());
        expect(await pending.getByRole('link').count()).toBe(0);

        // The form says so too, instead of opening a card page that would not be found.
        const late = newId();
        await page.goto(`${sys.baseUrl}/register`);
        await single.locator('#f-card_id').fill(late);
        await single.locator('#f-name').fill('遅延 花子');
        await single.locator('#f-name_kana').fill('チエン ハナコ');
        await single.locator('#f-birth_date').fill('1985-05-05');
        await single.locator('#f-postal_code').fill('1350016');
        await single.locator('#f-address').fill('江東区東陽4-11-28');
        const response = page.waitForResponse((r) => r.url().endsWith('/register') && r.request().method() === 'POST');
        await single.getByRole('button', { name: 'このカードを登録する' }).click();
        expect((await response).status()).toBe(202);
        const notice = page.getByRole('status').filter({ hasText: late });
        expect(await notice.textContent()).toContain(`カード番号 ${late} の登録を受け付けましたが、カードはまだ開けません`);
        expect(await page.getByRole('link', { name: new RegExp(late) }).count()).toBe(0);
      } finally {
        config.REGISTRATION_WAIT_SECONDS = wait;
        await sys.startWorker();
      }
    }, 120_000);
  });
});
