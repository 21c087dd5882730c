import type { CookieOptions } from 'express';
import type { AppConfig } from '../config/app-config.js';

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
