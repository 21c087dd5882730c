import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import type { StaffRole } from '../../workflows/card-state-machine.js';
import { AuthErrorCode, AuthException, RedirectException } from './auth.exception.js';
import { AuthService } from './auth.service.js';
import { ALLOW_KEY, PUBLIC_KEY, SESSION_ONLY_KEY } from './auth.types.js';
import { safeEqual } from './secrets.js';
import { MFA_ROLES, WebAuthService } from './web-auth.service.js';
import { cookieNames } from './web-cookies.js';

const SAFE_METHODS = ['GET', 'HEAD', 'OPTIONS'];

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
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    const req = ctx.switchToHttp().getRequest<Request & { user?: unknown; web?: unknown }>();
    const isPublic = this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets);
    const isApi = req.path.startsWith('/api/');
    if (isPublic) {
      // Pages still show who is signed in.
      if (!isApi) req.web = await this.webAuth.resume(req.cookies?.[cookieNames(this.config).session]);
      return true;
    }
    let role: StaffRole;
    if (isApi) {
      const user = await this.auth.authenticate(req.headers.authorization);
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
}
