import { SetMetadata, createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { StaffRole } from '../../workflows/card-state-machine.js';

export interface AuthUser {
  id: string;
  username: string;
  role: StaffRole;
  venueId?: string;
  /** Venue staff widened by the ward to every venue. */
  allVenues?: boolean;
}

export const ALLOW_KEY = 'auth:allow';
export const PUBLIC_KEY = 'auth:public';
export const SESSION_ONLY_KEY = 'auth:session-only';

/** The roles that may call a route. A route with neither `@Allow` nor `@Public` is refused to everyone. */
export const Allow = (...roles: StaffRole[]) => SetMetadata(ALLOW_KEY, roles);
export const Public = () => SetMetadata(PUBLIC_KEY, true);
/** A web route for a signed-in user whose second factor may still be pending (the TOTP pages). */
export const SessionOnly = () => SetMetadata(SESSION_ONLY_KEY, true);

export const CurrentUser = createParamDecorator((_: unknown, ctx: ExecutionContext): AuthUser => ctx.switchToHttp().getRequest().user);
