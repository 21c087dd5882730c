/**
 * User administration: users, roles, passwords, second factors, locks and API tokens. Every change
 * is written to the access log (what changed, never a password or a token).
 */
import { Inject, Injectable } from '@nestjs/common';
import { AccessLogService } from '../audit/access-log.service.js';
import { AuthService } from '../auth/auth.service.js';
import type { AuthUser } from '../auth/auth.types.js';
import { hashPassword } from '../auth/secrets.js';
import { WebAuthService } from '../auth/web-auth.service.js';
import { WARD_CONFIG } from '../config/config.module.js';
import type { WardConfig } from '../config/ward-config.js';
import type { NewUserInput, ProfileInput } from './admin.dto.js';
import { AdminErrorCode, AdminException } from './admin.exception.js';
import { AdminRepository, type AdminTokenRow, type AdminUserRow } from './admin.repository.js';

/** The administrator acting, and where from (for the access log). */
export interface AdminActor {
  user: AuthUser;
  sessionId: string;
  ip?: string;
  requestId?: string;
}

@Injectable()
export class AdminService {
  constructor(
    private readonly repo: AdminRepository,
    private readonly auth: AuthService,
    private readonly webAuth: WebAuthService,
    private readonly accessLog: AccessLogService,
    @Inject(WARD_CONFIG) private readonly ward: WardConfig,
  ) {}

  venueName(id: string | null): string {
    return id ? (this.ward.venues.find((v) => v.id === id)?.name ?? id) : '';
  }

  users(): Promise<AdminUserRow[]> {
    return this.repo.users();
  }

  async user(id: string): Promise<AdminUserRow> {
    const user = await this.repo.user(id);
    if (!user) throw new AdminException(AdminErrorCode.USER_NOT_FOUND, '利用者が見つかりません。');
    return user;
  }

  tokens(userId: string): Promise<AdminTokenRow[]> {
    return this.repo.tokens(userId);
  }

  async create(actor: AdminActor, input: NewUserInput): Promise<string> {
    const id = await this.repo.insertUser({ ...input, passwordHash: await hashPassword(input.password) });
    if (!id) throw new AdminException(AdminErrorCode.USERNAME_TAKEN, `ユーザー名 ${input.username} は既に使われています。`, { field: 'username' });
    await this.log(actor, `created user ${input.username} (role ${input.role}${input.venueId ? `, venue ${input.venueId}` : ''}) with an initial password`);
    return id;
  }

  /** Changes role, venue and display name; returns whether anything changed. */
  async updateProfile(actor: AdminActor, id: string, input: ProfileInput): Promise<boolean> {
    const user = await this.user(id);
    if (user.id === actor.user.id && input.role !== user.role) {
      throw new AdminException(AdminErrorCode.SELF_CHANGE_REFUSED, 'ご自身の役割は変更できません。管理者がいなくなるのを防ぐためです。必要なら別の管理者に依頼してください。');
    }
    const changes: string[] = [];
    if (input.role !== user.role) changes.push(`role ${user.role} -> ${input.role}`);
    if (input.venueId !== user.venue_id) changes.push(`venue ${user.venue_id ?? '-'} -> ${input.venueId ?? '-'}`);
    if (input.allVenues !== user.all_venues) changes.push(`all venues ${user.all_venues} -> ${input.allVenues}`);
    if (input.displayName !== user.display_name) changes.push(`display name "${user.display_name}" -> "${input.displayName}"`);
    if (!changes.length) return false;
    await this.repo.updateProfile(id, input);
    // A session opened under the old role may lack the second factor the new role needs.
    const ended = input.role !== user.role ? await this.repo.endSessions(id) : 0;
    await this.log(actor, `changed user ${user.username}: ${changes.join(', ')}${ended ? `; ended ${ended} sessions` : ''}`);
    return true;
  }

  async setPassword(actor: AdminActor, id: string, password: string): Promise<void> {
    const user = await this.user(id);
    await this.repo.setPassword(id, await hashPassword(password));
    // Whoever knew the old password is signed out; an administrator keeps the session they work in.
    const ended = await this.repo.endSessions(id, this.ownSession(actor, id));
    await this.log(actor, `set a new password for ${user.username}; ended ${ended} sessions`);
  }

  async setDisabled(actor: AdminActor, id: string, disabled: boolean): Promise<void> {
    const user = await this.user(id);
    if (disabled && user.id === actor.user.id) {
      throw new AdminException(AdminErrorCode.SELF_CHANGE_REFUSED, 'ご自身を無効にすることはできません。必要なら別の管理者に依頼してください。');
    }
    await this.repo.setDisabled(id, disabled);
    // Sessions and tokens of a disabled user are refused at once (resume and token lookups check
    // disabled_at); ending the sessions too keeps them dead after the user is enabled again.
    const ended = disabled ? await this.repo.endSessions(id) : 0;
    await this.log(actor, disabled ? `disabled user ${user.username}; ended ${ended} sessions` : `enabled user ${user.username}`);
  }

  async unlock(actor: AdminActor, id: string): Promise<void> {
    const user = await this.user(id);
    await this.webAuth.unlock(user.username);
    await this.log(actor, `unlocked user ${user.username}`);
  }

  async resetTotp(actor: AdminActor, id: string): Promise<void> {
    const user = await this.user(id);
    await this.repo.resetTotp(id);
    const ended = await this.repo.endSessions(id, this.ownSession(actor, id));
    await this.log(actor, `reset the second factor (TOTP) of ${user.username}; ended ${ended} sessions`);
  }

  /** A new API token: returned once, stored only as its SHA-256. */
  async createToken(actor: AdminActor, id: string, name: string): Promise<{ id: string; token: string; user: AdminUserRow }> {
    const user = await this.user(id);
    const created = await this.auth.createToken(user.username, name);
    await this.log(actor, `created API token ${created.id} "${name}" for ${user.username}`);
    return { id: created.id, token: created.token, user };
  }

  async revokeToken(actor: AdminActor, id: string, tokenId: string): Promise<void> {
    const user = await this.user(id);
    const name = await this.repo.revokeToken(id, tokenId);
    if (name === undefined) throw new AdminException(AdminErrorCode.TOKEN_NOT_FOUND, 'このAPIトークンは見つからないか、既に失効しています。');
    await this.log(actor, `revoked API token ${tokenId} "${name}" of ${user.username}`);
  }

  private ownSession(actor: AdminActor, id: string): string | undefined {
    return actor.user.id === id ? actor.sessionId : undefined;
  }

  private log(actor: AdminActor, detail: string): Promise<void> {
    return this.accessLog.record({ user: actor.user, kind: 'change', cardIds: [], detail: `admin: ${detail}`, channel: 'web', ip: actor.ip, requestId: actor.requestId });
  }
}
