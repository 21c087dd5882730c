/** Real Chromium for the page tests: Debian's `chromium` (no browser download), driven by playwright-core. */
import { existsSync, mkdirSync } from 'node:fs';
import { type Browser, type Page, chromium } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';
import { WebAuthService } from '../../src/auth/web-auth.service.js';

export const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url).pathname;

/**
 * How long a page step may wait. The whole suite shares two cores with the API fuzzer, PostgreSQL,
 * Temporal and other files' servers, so a step that takes 1 s alone can take tens of seconds
 * under load: Playwright's 30 s default made a sign-in fail now and then.
 */
const PAGE_STEP_TIMEOUT_MS = 90_000;

export async function launchBrowser(): Promise<Browser> {
  const executablePath = process.env.CHROMIUM_PATH ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p));
  if (!executablePath) throw new Error('no Chromium: install Debian\'s chromium (.ci/run does) or set CHROMIUM_PATH');
  const browser = await chromium.launch({
    executablePath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'],
  });
  // Every context of every test file gets the same step timeout.
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (...args: Parameters<Browser['newContext']>) => {
    const context = await newContext(...args);
    context.setDefaultTimeout(PAGE_STEP_TIMEOUT_MS);
    context.setDefaultNavigationTimeout(PAGE_STEP_TIMEOUT_MS);
    return context;
  };
  return browser;
}

/** Each TOTP time step is accepted once per user: a later sign-in with the same secret uses the next step (or waits for it). */
const usedSteps = new Map<string, number>();
export async function totpCode(secret: string): Promise<string> {
  for (;;) {
    const now = Math.floor(Date.now() / 30_000);
    const step = Math.max(now, (usedSteps.get(secret) ?? -1) + 1);
    if (step <= now + 1) {
      usedSteps.set(secret, step);
      return WebAuthService.totp(secret, step);
    }
    await new Promise((r) => setTimeout(r, 30_000 - (Date.now() % 30_000) + 50));
  }
}

/**
 * Fills and sends the sign-in form until the browser leaves it for `next`. Twice in the full suite
 * (two cores, a dozen servers) a sign-in never left the form within 90 s, and no run alone shows
 * it: a second try is made after 45 s, and what the page showed is written to stderr so that the
 * cause can be found.
 */
export async function submitSignIn(page: Page, baseUrl: string, user: { username: string; password: string }, next: (url: URL) => boolean): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await page.goto(`${baseUrl}/login`);
    await page.getByLabel('ユーザー名').fill(user.username);
    await page.getByLabel('パスワード').fill(user.password);
    await page.getByRole('button', { name: 'ログイン' }).click();
    try {
      await page.waitForURL(next, { timeout: attempt === 1 ? 45_000 : 90_000 });
      return;
    } catch (e) {
      if (attempt > 1) throw e;
      const shown = await page.locator('main').textContent({ timeout: 5_000 }).catch(() => '(no page)');
      process.stderr.write(`[browser] sign-in of ${user.username} did not leave ${page.url()} within 45 s; the page showed: ${String(shown).replace(/\s+/g, ' ').slice(0, 300)}\n`);
    }
  }
}

export async function signIn(page: Page, baseUrl: string, user: { username: string; password: string; totpSecret?: string }): Promise<void> {
  await submitSignIn(page, baseUrl, user, (url) => (user.totpSecret ? /\/login\/totp/.test(url.pathname) : !url.pathname.startsWith('/login')));
  if (user.totpSecret) {
    await page.getByLabel('確認コード').fill(await totpCode(user.totpSecret));
    await page.getByRole('button', { name: '確認' }).click();
  }
  await page.waitForURL((url) => !url.pathname.startsWith('/login'));
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: `${ARTIFACTS}${name}.png`, fullPage: true });
}

/** WCAG 2.2 A and AA violations on the page, as `id: target` strings. */
export async function accessibilityViolations(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa']).analyze();
  return result.violations.flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(' ')} — ${n.failureSummary?.split('\n')[1]?.trim() ?? ''}`));
}
