import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { StaffRole } from '../../workflows/card-state-machine.js';
import { AuthErrorCode, AuthException } from './auth.exception.js';
import { AuthService } from './auth.service.js';
import { ALLOW_KEY, PUBLIC_KEY } from './auth.types.js';

/** The one access-control check for every route: deny by default, allow the roles a route names. */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: AuthService,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;
    const req = ctx.switchToHttp().getRequest();
    const user = await this.auth.authenticate(req.headers.authorization);
    req.user = user;
    const allowed = this.reflector.getAllAndOverride<StaffRole[] | undefined>(ALLOW_KEY, targets) ?? [];
    if (!allowed.includes(user.role)) {
      throw new AuthException(AuthErrorCode.FORBIDDEN, `role ${user.role} may not use this endpoint`);
    }
    return true;
  }
}
