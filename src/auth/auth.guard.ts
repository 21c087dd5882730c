import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import type { StaffRole } from '../../workflows/card-state-machine.js';
import { AuthErrorCode, AuthException, RedirectException } from './auth.exception.js';
import { AuthService } from './auth.service.js';
import { ALLOW_KEY, PUBLIC_KEY, SESSION_ONLY_KEY } from './auth.types.js';
import { safeEqual } from './secrets.js';
import { ThrottleService } from './throttle.service.js';
import { MFA_ROLES, WebAuthService } from './web-auth.service.js';
import { cookieNames } from './web-cookies.js';

const SAFE_METHODS = ['GET', 'HEAD', 'OPTIONS'];

/**
 * A state-changing page request must come from this site: `Origin` (when sent) names this host,
 * and `Sec-Fetch-Site` (when sent) is same-origin or none (typed by the user).
 */
export function sameSite(req: Request, publicUrl: string): boolean {
  const fetchSite = req.headers['sec-fetch-site'];
  if (typeof fetchSite === 'string' && !['same-origin', 'none'].includes(fetchSite)) return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  const own = [new URL(publicUrl).origin, `${req.protocol}://${req.headers.host ?? ''}`];
  return own.includes(url.origin);
}

/**
 * The one access-control check for every route, API and pages alike: deny by default, allow the
 * roles a route names. The API authenticates bearer tokens; pages authenticate the session cookie,
 * require the second factor where the role needs one, and check the CSRF token of every
 * state-changing form.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: AuthService,
    private readonly webAuth: WebAuthService,
    private readonly throttle: ThrottleService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    const req = ctx.switchToHttp().getRequest<Request & { user?: unknown; web?: unknown }>();
    const isPublic = this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets);
    const isApi = req.path.startsWith('/api/');
    // Pages authenticate with a cookie, so a form posted from another site is refused outright.
    if (!isApi && !SAFE_METHODS.includes(req.method) && !sameSite(req, this.config.publicUrl)) {
      throw new AuthException(AuthErrorCode.CROSS_SITE, 'ほかのサイトから送られた操作は受け付けません。このシステムの画面を開き直してから操作してください。');
    }
    if (isPublic) {
      // Pages still show who is signed in.
      if (!isApi) req.web = await this.webAuth.resume(req.cookies?.[cookieNames(this.config).session]);
      return true;
    }
    let role: StaffRole;
    if (isApi) {
      const user = await this.authenticateToken(req, ctx.switchToHttp().getResponse<Response>());
      req.user = user;
      role = user.role;
    } else {
      const web = await this.webAuth.resume(req.cookies?.[cookieNames(this.config).session]);
      if (!web) throw new RedirectException(`/login${req.method === 'GET' ? `?next=${encodeURIComponent(req.originalUrl)}` : ''}`);
      req.user = web.user;
      req.web = web;
      role = web.user.role;
      if (!SAFE_METHODS.includes(req.method)) {
        const sent = (req.body?._csrf ?? req.headers['x-csrf-token']) as string | undefined;
        if (typeof sent !== 'string' || !safeEqual(sent, web.session.csrf_token)) {
          throw new AuthException(AuthErrorCode.CSRF, 'the form expired or did not come from this site; reload the page and try again');
        }
      }
      const sessionOnly = this.reflector.getAllAndOverride<boolean>(SESSION_ONLY_KEY, targets);
      if (sessionOnly) return true;
      if (MFA_ROLES.includes(role) && !web.session.mfa_verified) throw new RedirectException('/login/totp');
    }
    const allowed = this.reflector.getAllAndOverride<StaffRole[] | undefined>(ALLOW_KEY, targets) ?? [];
    if (!allowed.includes(role)) throw new AuthException(AuthErrorCode.FORBIDDEN, `role ${role} may not use this ${isApi ? 'endpoint' : 'page'}`);
    return true;
  }

  /**
   * A known token passes (256 random bits cannot be guessed); unknown tokens are counted by
   * address, and an address over the limit is answered 429 with Retry-After.
   */
  private async authenticateToken(req: Request, res: Response) {
    try {
      return await this.auth.authenticate(req.headers.authorization);
    } catch (e) {
      if (!(e instanceof AuthException) || !/^Bearer\s+\S/i.test(req.headers.authorization ?? '')) throw e;
      const wait = (await this.throttle.tokenWait(req.ip)) || (await this.throttle.tokenFailed(req.ip));
      if (wait > 0) {
        res.setHeader('Retry-After', String(wait));
        throw new AuthException(AuthErrorCode.TOO_MANY_REQUESTS, `too many unknown tokens from this address; try again in ${wait} seconds`, { retryAfterSeconds: wait });
      }
      throw e;
    }
  }
}
