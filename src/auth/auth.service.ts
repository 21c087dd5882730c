import { createHash, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { STAFF_ROLES, type StaffRole } from '../../workflows/card-state-machine.js';
import { AuthErrorCode, AuthException } from './auth.exception.js';
import type { AuthUser } from './auth.types.js';
import { UsersRepository } from './users.repository.js';

const TOKEN_PREFIX = 'kct_';

/** Tokens carry 256 random bits, so a plain SHA-256 is enough to store them safely (no slow hash needed). */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

@Injectable()
export class AuthService {
  constructor(private readonly users: UsersRepository) {}

  async authenticate(authorization: string | undefined): Promise<AuthUser> {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!match) throw new AuthException(AuthErrorCode.UNAUTHENTICATED, 'a bearer token is required (Authorization: Bearer <token>)');
    const user = match[1].startsWith(TOKEN_PREFIX) ? await this.users.findByTokenHash(hashToken(match[1])) : undefined;
    if (!user) throw new AuthException(AuthErrorCode.UNAUTHENTICATED, 'the token is unknown, revoked, or its user is disabled');
    return user;
  }

  async createUser(input: { username: string; displayName?: string; role: string; venueId?: string }): Promise<AuthUser> {
    if (!(STAFF_ROLES as readonly string[]).includes(input.role)) {
      throw new AuthException(AuthErrorCode.FORBIDDEN, `unknown role ${input.role}: one of ${STAFF_ROLES.join(', ')}`);
    }
    const inserted = await this.users.insert({ username: input.username, displayName: input.displayName ?? input.username, role: input.role as StaffRole, venueId: input.venueId });
    if (!inserted) throw new AuthException(AuthErrorCode.USER_EXISTS, `user ${input.username} exists already`);
    return (await this.users.findByUsername(input.username))!;
  }

  /** Creates a token for the user and returns it: the only time it is ever shown. */
  async createToken(username: string, name = 'api'): Promise<{ id: string; token: string; user: AuthUser }> {
    const user = await this.users.findByUsername(username);
    if (!user) throw new AuthException(AuthErrorCode.USER_NOT_FOUND, `no user ${username}`);
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const id = await this.users.insertToken(user.id, name, hashToken(token));
    return { id, token, user };
  }

  async revokeToken(id: string): Promise<void> {
    if (!(await this.users.revokeToken(id))) throw new AuthException(AuthErrorCode.USER_NOT_FOUND, `no active token ${id}`);
  }
}
