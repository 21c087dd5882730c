/**
 * Sign-in security over HTTP: the second factor cannot be skipped or replaced with the password
 * alone, codes are accepted once and count towards the lock, the session token changes after the
 * second factor, throttles by address (and by address and account) answer 429 with Retry-After
 * before one address can lock anyone out, the sign-in form's CSRF pair cannot be forged,
 * cross-site form posts are refused, and the response headers (no-store, HSTS, the API docs' CSP).
 */
import { safeRandomUUID } from '../src/common/my-number.js';
import { createHash, randomInt } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { createApp } from '../src/app.factory.js';
import { LOCK_AFTER_FAILURES, WebAuthService } from '../src/auth/web-auth.service.js';
import { launchBrowser, totpCode } from './support/browser.js';
import { TestSystem } from './support/test-system.js';

/** A browser without a browser: a cookie jar, one client address (X-Forwarded-For from loopback is trusted) and manual redirects. */
class WebClient {
  readonly jar = new Map<string, string>();
  constructor(
    private readonly baseUrl: string,
    readonly address = randomAddress(),
  ) {}

  async send(method: string, path: string, form?: Record<string, string>, headers: Record<string, string> = {}) {
    const res = await fetch(this.baseUrl + path, {
      method,
      redirect: 'manual',
      headers: {
        'x-forwarded-for': this.address,
        ...(this.jar.size ? { cookie: [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ') } : {}),
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        ...headers,
      },
      body: form ? new URLSearchParams(form) : undefined,
    });
    for (const c of res.headers.getSetCookie()) {
      const pair = c.split(';')[0];
      const name = pair.slice(0, pair.indexOf('='));
      const value = pair.slice(pair.indexOf('=') + 1);
      if (!value || /expires=Thu, 01 Jan 1970/i.test(c)) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    return { status: res.status, location: res.headers.get('location') ?? '', headers: res.headers, text: await res.text() };
  }

  get session() {
    return this.jar.get('kc_dev_session');
  }

  /** The CSRF token of the form on a page. */
  async csrf(path: string): Promise<string> {
    const page = await this.send('GET', path);
    expect(page.status).toBe(200);
    return /name="_csrf" value="([^"]+)"/.exec(page.text)![1];
  }

  async password(user: { username: string; password: string }) {
    return this.send('POST', '/login', { _csrf: await this.csrf('/login'), username: user.username, password: user.password, next: '/' });
  }

  async code(code: string) {
    return this.send('POST', '/login/totp?next=%2F', { _csrf: await this.csrf('/login/totp'), code });
  }
}

/** A client address of its own (no two clients in this file share one). */
const randomAddress = () => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;

const sessionId = (token: string) => createHash('sha256').update(token).digest('hex');

describe('sign-in security over HTTP', () => {
  let sys: TestSystem;
  let browser: Browser | undefined;
  const client = () => new WebClient(sys.baseUrl);
  const userRow = async (username: string) =>
    (await sys.sql<{ id: string; totp_secret: string | null; totp_enabled_at: Date | null; locked_at: Date | null }>(`select id, totp_secret, totp_enabled_at, locked_at from app_user where username = ?`, [username]))[0];

  beforeAll(async () => {
    sys = await TestSystem.start();
  });
  afterAll(async () => {
    await browser?.close();
    await sys?.stop();
  });

  describe('the second factor (items 1 and 2)', () => {
    it('a password-only session reaches nothing but the second-factor step and sign-out, and cannot replace the factor', async () => {
      const ward = await sys.webUser('ward');
      const before = await userRow(ward.username);
      const c = client();
      expect((await c.password(ward)).location).toBe('/login/totp?next=%2F');
      const csrf = await c.csrf('/login/totp');
      for (const path of ['/', '/cards', '/cards.csv', '/worklists/discard', '/access-log', '/account/sessions', '/admin/users', '/qa', '/login/totp-setup', '/login/totp-setup?next=%2Fcards']) {
        const res = await c.send('GET', path);
        expect([path, res.status, res.location.replace(/\?.*/, '')]).toEqual([path, 303, '/login/totp']);
      }
      for (const [path, form] of [
        ['/login/totp-setup', { _csrf: csrf, code: '123456', setup: 'x' }],
        ['/login/totp-setup?next=%2F', { _csrf: csrf, code: '', current: '' }],
        [`/account/sessions/${sessionId(c.session!)}/end`, { _csrf: csrf }],
        ['/admin/users', { _csrf: csrf, username: 'x', role: 'admin' }],
      ] as const) {
        const res = await c.send('POST', path, form);
        expect([path, res.status === 403 || (res.status === 303 && res.location.startsWith('/login/totp'))]).toEqual([path, true]);
      }
      const after = await userRow(ward.username);
      expect(after.totp_secret).toBe(before.totp_secret);
      expect(after.totp_enabled_at).toEqual(before.totp_enabled_at);
      // The second-factor step and sign-out still work.
      expect((await c.send('GET', '/login/totp')).status).toBe(200);
      const token = c.session!;
      expect((await c.send('POST', '/logout', { _csrf: csrf })).location).toBe('/login');
      expect((await sys.sql(`select ended_at from web_session where id = ?`, [sessionId(token)]))[0].ended_at).not.toBeNull();
    });

    it('enrols a user without a factor; showing the form changes nothing; re-enrolment needs the current code', async () => {
      const ward = await sys.webUser('ward', { totp: false });
      const c = client();
      expect((await c.password(ward)).location).toBe('/login/totp-setup?next=%2F');
      for (let i = 0; i < 2; i++) expect((await c.send('GET', '/login/totp-setup')).status).toBe(200);
      expect((await userRow(ward.username)).totp_secret).toBeNull();
      const form = (await c.send('GET', '/login/totp-setup')).text;
      const secret = /<code>([A-Z2-7]+)<\/code>/.exec(form)![1];
      const field = (name: string) => new RegExp(`name="${name}" value="([^"]+)"`).exec(form)![1];
      const passwordOnly = c.session!;
      const done = await c.send('POST', '/login/totp-setup?next=%2F', { _csrf: field('_csrf'), setup: field('setup'), code: await totpCode(secret) });
      expect(done.status).toBe(200);
      expect(done.text).toContain('リカバリーコード');
      expect((await userRow(ward.username)).totp_enabled_at).not.toBeNull();
      // Enrolment completes the second factor with a new token.
      expect(c.session).not.toBe(passwordOnly);
      expect((await c.send('GET', '/cards')).status).toBe(200);

      // Again, from the verified session (linked from the sessions page): the current code is required.
      expect((await c.send('GET', '/account/sessions')).text).toContain('href="/login/totp-setup?next=%2Faccount%2Fsessions"');
      const again = (await c.send('GET', '/login/totp-setup')).text;
      expect(again).toContain('現在の確認コード');
      const newSecret = /<code>([A-Z2-7]+)<\/code>/.exec(again)![1];
      const f = (name: string) => new RegExp(`name="${name}" value="([^"]+)"`).exec(again)![1];
      const sealedBefore = (await userRow(ward.username)).totp_secret;
      const refused = await c.send('POST', '/login/totp-setup', { _csrf: f('_csrf'), setup: f('setup'), code: await WebAuthService.totp(newSecret), current: '000000' });
      expect(refused.status).toBe(400);
      expect(refused.text).toContain('現在の確認コードが違います');
      expect((await userRow(ward.username)).totp_secret).toBe(sealedBefore);
      const changed = await c.send('POST', '/login/totp-setup', { _csrf: f('_csrf'), setup: f('setup'), code: await WebAuthService.totp(newSecret), current: await totpCode(secret) });
      expect(changed.status).toBe(200);
      expect((await userRow(ward.username)).totp_secret).not.toBe(sealedBefore);
    });

    it('accepts a code once, rotates the session token after the second factor, and counts wrong codes towards the lock', async () => {
      const ward = await sys.webUser('ward');
      const first = client();
      await first.password(ward);
      const passwordOnly = first.session!;
      const code = await totpCode(ward.totpSecret!);
      const ok = await first.code(code);
      expect([ok.status, ok.location]).toEqual([303, '/']);
      expect(first.session).toBeDefined();
      expect(first.session).not.toBe(passwordOnly);
      expect((await first.send('GET', '/cards')).status).toBe(200);
      // The password-only token died with the rotation.
      const old = await fetch(`${sys.baseUrl}/cards`, { headers: { cookie: `kc_dev_session=${passwordOnly}` }, redirect: 'manual' });
      expect([old.status, old.headers.get('location')]).toEqual([303, '/login?next=%2Fcards']);

      // The same code, seen by someone else a moment later, is refused.
      const second = client();
      await second.password(ward);
      const replay = await second.code(code);
      expect(replay.status).toBe(401);
      expect(replay.text).toContain('確認コードが違います');
      const failures = await sys.sql<{ n: number }>(`select count(*)::int n from login_attempt a join app_user u on u.id = a.user_id where u.username = ? and not a.success`, [ward.username]);
      expect(failures[0].n).toBe(1);

      // Wrong codes count like wrong passwords: the one that reaches the limit locks the account and ends the session.
      const { id } = await userRow(ward.username);
      await sys.sql(`insert into login_attempt (user_id, username, success, ip) select ?, ?, false, '192.0.2.1' from generate_series(1, ?)`, [id, ward.username, LOCK_AFTER_FAILURES - 2]);
      const pending = second.session!;
      const locked = await second.code('000000');
      expect(locked.status).toBe(423);
      expect(locked.text).toContain('user unlock');
      expect((await userRow(ward.username)).locked_at).not.toBeNull();
      expect((await sys.sql(`select ended_at from web_session where id = ?`, [sessionId(pending)]))[0].ended_at).not.toBeNull();
      expect((await first.send('GET', '/cards')).status).toBe(303);
    });
  });

  describe('throttling (item 3)', () => {
    it('throttles one address hammering an account (429, Retry-After) before the account locks; the right password from elsewhere signs in', async () => {
      const admin = await sys.webUser('admin');
      const attacker = client();
      const statuses: number[] = [];
      let throttled: Awaited<ReturnType<WebClient['send']>> | undefined;
      for (let i = 0; i < LOCK_AFTER_FAILURES + 20; i++) {
        const res = await attacker.password({ username: admin.username, password: `guess-${i}` });
        statuses.push(res.status);
        if (res.status === 429) throttled ??= res;
      }
      // The default: 10 failures per address and account in 15 minutes.
      expect(statuses.slice(0, 9)).toEqual(Array(9).fill(401));
      expect(new Set(statuses.slice(9))).toEqual(new Set([429]));
      const retryAfter = Number(throttled!.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(900);
      expect(throttled!.text).toMatch(/\d{2}:\d{2}（約\d+分後）以降にもう一度お試しください/);
      // Even the right password waits at that address.
      expect((await attacker.password(admin)).status).toBe(429);
      expect((await userRow(admin.username)).locked_at).toBeNull();

      const colleague = client();
      expect((await colleague.password(admin)).location).toBe('/login/totp?next=%2F');
      expect((await colleague.code(await totpCode(admin.totpSecret!))).location).toBe('/');
      expect((await colleague.send('GET', '/admin/users')).status).toBe(200);
    });

    it('throttles wrong second-factor codes by address and account', async () => {
      const ward = await sys.webUser('ward');
      const c = client();
      await c.password(ward);
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) statuses.push((await c.code('000000')).status);
      expect(statuses).toEqual([...Array(9).fill(401), 429, 429, 429]);
      const right = await c.code(await totpCode(ward.totpSecret!));
      expect(right.status).toBe(429);
      expect(Number(right.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(right.text).toContain('以降にもう一度お試しください');
      expect((await userRow(ward.username)).locked_at).toBeNull();
    });

    it('throttles one address trying many accounts', async () => {
      const c = client();
      const statuses: number[] = [];
      for (let i = 0; i < 31; i++) statuses.push((await c.password({ username: `nobody-${safeRandomUUID().slice(0, 8)}`, password: 'x' })).status);
      expect(statuses.slice(0, 29)).toEqual(Array(29).fill(401));
      expect(statuses.slice(29)).toEqual([429, 429]);
    });

    it('throttles unknown API tokens by address with the JSON error shape; known tokens still work', async () => {
      const headers = { 'x-forwarded-for': randomAddress() };
      const statuses: number[] = [];
      let last: Awaited<ReturnType<TestSystem['http']>> | undefined;
      for (let i = 0; i < 32; i++) {
        last = await sys.http('GET', '/api/cards', { token: `kct_${safeRandomUUID()}`, headers });
        statuses.push(last.status);
      }
      expect(statuses.slice(0, 29)).toEqual(Array(29).fill(401));
      expect(statuses.slice(29)).toEqual([429, 429, 429]);
      expect(last!.json.error.code).toBe('TOO_MANY_REQUESTS');
      expect(last!.json.requestId).toEqual(expect.any(String));
      expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await sys.http('GET', '/api/cards', { token: await sys.token('office'), headers })).status).toBe(200);
    });
  });

  describe('sessions and headers (item 10)', () => {
    it('refuses a sign-in form token the server did not make', async () => {
      const office = await sys.webUser('office');
      const forged = new WebClient(sys.baseUrl);
      forged.jar.set('kc_dev_login_csrf', 'attacker-chosen-token');
      const res = await forged.send('POST', '/login', { _csrf: 'attacker-chosen-token', username: office.username, password: office.password });
      expect(res.status).toBe(403);
      // Same shape as a real one, signed with another key.
      const real = new WebClient(sys.baseUrl);
      const token = await real.csrf('/login');
      const [issued, nonce] = token.split('.');
      const shaped = `${issued}.${nonce}.${Buffer.alloc(32, 1).toString('base64url')}`;
      forged.jar.set('kc_dev_login_csrf', shaped);
      expect((await forged.send('POST', '/login', { _csrf: shaped, username: office.username, password: office.password })).status).toBe(403);
      expect(forged.session).toBeUndefined();
      // Fields are bounded: an overlong name is a bad request, not a sign-in attempt.
      const long = await real.send('POST', '/login', { _csrf: token, username: 'x'.repeat(101), password: 'x' });
      expect(long.status).toBe(400);
      // The server's own pair signs in.
      expect((await real.send('POST', '/login', { _csrf: token, username: office.username, password: office.password })).location).toBe('/');
    });

    it('refuses state-changing page requests from another site, in Japanese', async () => {
      const office = await sys.webUser('office');
      const c = client();
      await c.password(office);
      const csrf = await c.csrf('/account/sessions');
      const other = client();
      await other.password(office);
      const end = `/account/sessions/${sessionId(other.session!)}/end`;
      for (const headers of [{ origin: 'https://evil.example' }, { origin: 'null' }, { 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }] as Record<string, string>[]) {
        const res = await c.send('POST', end, { _csrf: csrf }, headers);
        expect([headers, res.status]).toEqual([headers, 403]);
        expect(res.text).toContain('ほかのサイトから送られた操作は受け付けません');
      }
      expect((await other.send('GET', '/cards')).status).toBe(200);
      const login = await client().send('POST', '/login', { username: office.username, password: office.password }, { origin: 'https://evil.example' });
      expect(login.status).toBe(403);
      // The same request from this site goes through.
      const own = await c.send('POST', end, { _csrf: csrf }, { origin: sys.baseUrl, 'sec-fetch-site': 'same-origin' });
      expect([own.status, own.location]).toEqual([303, '/account/sessions']);
      expect((await other.send('GET', '/cards')).status).toBe(303);
    });

    it('marks pages, card JSON and exports no-store; assets may be cached', async () => {
      const token = await sys.token('office');
      const c = client();
      await c.password(await sys.webUser('office'));
      const responses = {
        login: (await client().send('GET', '/login')).headers,
        cardsPage: (await c.send('GET', '/cards')).headers,
        cardsExport: (await c.send('GET', '/cards.csv')).headers,
        apiCards: (await sys.http('GET', '/api/cards', { token })).headers,
        apiCsv: (await sys.http('GET', '/api/cards.csv', { token })).headers,
        apiCard: (await sys.http('GET', '/api/cards/NOSUCHCARD', { token })).headers,
      };
      for (const [name, headers] of Object.entries(responses)) expect([name, headers.get('cache-control')]).toEqual([name, 'no-store']);
      expect((await fetch(`${sys.baseUrl}/assets/app.css`)).headers.get('cache-control')).toMatch(/max-age=3600/);
      // Not production: no HSTS over plain HTTP.
      expect(responses.login.get('strict-transport-security')).toBeNull();
    });

    it('sends HSTS in production', async () => {
      const saved = { NODE_ENV: process.env.NODE_ENV, DATA_KEY: process.env.DATA_KEY, PUBLIC_URL: process.env.PUBLIC_URL };
      Object.assign(process.env, { NODE_ENV: 'production', DATA_KEY: Buffer.alloc(32, 7).toString('base64'), PUBLIC_URL: 'https://cards.example.jp' });
      const app = await createApp();
      try {
        await app.listen(0, '127.0.0.1');
        const { port } = app.getHttpServer().address() as { port: number };
        for (const path of ['/login', '/api/health', '/api/docs']) {
          const res = await fetch(`http://127.0.0.1:${port}${path}`, { redirect: 'manual' });
          expect([path, res.headers.get('strict-transport-security')]).toEqual([path, 'max-age=31536000; includeSubDomains']);
        }
      } finally {
        await app.close();
        for (const [k, v] of Object.entries(saved)) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
      }
    });

    it('gives /api/docs a CSP and frame protection under which Swagger UI still works', async () => {
      const res = await fetch(`${sys.baseUrl}/api/docs`);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      browser = await launchBrowser();
      const page = await (await browser.newContext()).newPage();
      const violations: string[] = [];
      page.on('console', (m) => {
        if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
      });
      await page.goto(`${sys.baseUrl}/api/docs`);
      await page.locator('.opblock').first().waitFor();
      expect(violations).toEqual([]);
    });
  });
});
