import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { CookieOptions } from 'express';
import type { AppConfig } from '../config/app-config.js';
import { safeEqual } from './secrets.js';

/**
 * Session cookies are `__Host-` cookies (Secure, HttpOnly, SameSite=Lax, path /). Plain-HTTP
 * loopback development (never production: see `devCookies` in app-config.ts) uses the same cookie
 * without `Secure` under a development name, since not every browser keeps Secure cookies on
 * http://localhost.
 */
export function cookieNames(config: Pick<AppConfig, 'devCookies'>) {
  return config.devCookies ? { session: 'kc_dev_session', loginCsrf: 'kc_dev_login_csrf' } : { session: '__Host-kc_session', loginCsrf: '__Host-kc_login_csrf' };
}

export function cookieOptions(config: Pick<AppConfig, 'devCookies'>): CookieOptions {
  return { httpOnly: true, sameSite: 'lax', secure: !config.devCookies, path: '/' };
}

/** A login form token lives this long (then the form says it expired). */
const LOGIN_CSRF_TTL_MS = 2 * 3_600_000;

const loginCsrfKey = (dataKey: Buffer) => Buffer.from(hkdfSync('sha256', dataKey, Buffer.alloc(0), 'koto-card login csrf v1', 32));

/**
 * The sign-in form's token (double submit: the same value in a cookie and in the form), signed
 * with a key derived from the server's DATA_KEY and dated, so that nobody but the server can make
 * a valid pair.
 */
export function mintLoginCsrf(dataKey: Buffer, now = Date.now()): string {
  const body = `${now.toString(36)}.${randomBytes(18).toString('base64url')}`;
  return `${body}.${createHmac('sha256', loginCsrfKey(dataKey)).update(body).digest('base64url')}`;
}

export function checkLoginCsrf(dataKey: Buffer, formToken: unknown, cookieToken: unknown, now = Date.now()): boolean {
  if (typeof formToken !== 'string' || typeof cookieToken !== 'string' || formToken.length > 200 || !safeEqual(formToken, cookieToken)) return false;
  const parts = formToken.split('.');
  if (parts.length !== 3) return false;
  const body = `${parts[0]}.${parts[1]}`;
  const mac = createHmac('sha256', loginCsrfKey(dataKey)).update(body).digest('base64url');
  const issued = parseInt(parts[0], 36);
  return safeEqual(parts[2], mac) && Number.isFinite(issued) && issued <= now && now - issued < LOGIN_CSRF_TTL_MS;
}
