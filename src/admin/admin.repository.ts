import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import type { StaffRole } from '../../workflows/card-state-machine.js';
import type { WebUserRow } from '../auth/web-auth.repository.js';

/** A user as the admin pages show them: never the password hash or the second-factor secret. */
export interface AdminUserRow extends Omit<WebUserRow, 'password_hash' | 'totp_secret'> {
  created_at: Date;
  has_password: boolean;
  last_sign_in_at: Date | null;
}

export interface AdminTokenRow {
  id: string;
  name: string;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

/** Raw queries may return timestamps as text; the pages format dates. */
const date = (v: unknown) => (v === null || v === undefined ? null : v instanceof Date ? v : new Date(String(v)));

// Unlocks and second-factor checks are recorded as successful attempts too; they are not sign-ins.
const USER_COLUMNS = `u.id, u.username, u.display_name, u.role, u.venue_id, u.all_venues, u.created_at, u.disabled_at, u.locked_at, u.totp_enabled_at,
  u.password_hash is not null as has_password,
  (select max(a.at) from login_attempt a where a.user_id = u.id and a.success and a.ip is distinct from 'unlock' and a.ip is distinct from 'totp') as last_sign_in_at`;

function toUser(r: Record<string, any>): AdminUserRow {
  return {
    ...(r as AdminUserRow),
    created_at: date(r.created_at)!,
    disabled_at: date(r.disabled_at),
    locked_at: date(r.locked_at),
    totp_enabled_at: date(r.totp_enabled_at),
    last_sign_in_at: date(r.last_sign_in_at),
  };
}

/** The reads and writes of user administration; credentials are written only as hashes. */
@Injectable()
export class AdminRepository {
  constructor(private readonly em: EntityManager) {}

  private run<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.em.fork().execute<T[]>(sql, params);
  }

  async users(): Promise<AdminUserRow[]> {
    return (await this.run<Record<string, any>>(`select ${USER_COLUMNS} from app_user u order by u.username`)).map(toUser);
  }

  async user(id: string): Promise<AdminUserRow | undefined> {
    const row = (await this.run<Record<string, any>>(`select ${USER_COLUMNS} from app_user u where u.id = ?`, [id]))[0];
    return row && toUser(row);
  }

  /** Inserts the user with its password hash in one statement; undefined if the name is taken. */
  async insertUser(u: { username: string; displayName: string; role: StaffRole; venueId: string | null; passwordHash: string }): Promise<string | undefined> {
    const rows = await this.run<{ id: string }>(
      `insert into app_user (username, display_name, role, venue_id, password_hash) values (?, ?, ?, ?, ?) on conflict (username) do nothing returning id`,
      [u.username, u.displayName, u.role, u.venueId, u.passwordHash],
    );
    return rows[0]?.id;
  }

  async updateProfile(id: string, p: { displayName: string; role: StaffRole; venueId: string | null; allVenues: boolean }): Promise<void> {
    await this.run(`update app_user set display_name = ?, role = ?, venue_id = ?, all_venues = ? where id = ?`, [p.displayName, p.role, p.venueId, p.allVenues, id]);
  }

  async setPassword(id: string, hash: string): Promise<void> {
    await this.run(`update app_user set password_hash = ? where id = ?`, [hash, id]);
  }

  async setDisabled(id: string, disabled: boolean): Promise<void> {
    await this.run(`update app_user set disabled_at = ${disabled ? 'coalesce(disabled_at, now())' : 'null'} where id = ?`, [id]);
  }

  /** Forgets the second factor and its recovery codes: the user enrols again at the next sign-in. */
  async resetTotp(id: string): Promise<void> {
    await this.em.fork().transactional(async (tx) => {
      await tx.execute(`update app_user set totp_secret = null, totp_enabled_at = null where id = ?`, [id]);
      await tx.execute(`delete from recovery_code where user_id = ?`, [id]);
    });
  }

  /** Ends the user's open sessions, except `keep` (the administrator's own, when changing themselves). */
  async endSessions(userId: string, keep?: string): Promise<number> {
    const rows = await this.run(`update web_session set ended_at = now() where user_id = ? and ended_at is null and id <> ? returning id`, [userId, keep ?? '']);
    return rows.length;
  }

  async tokens(userId: string): Promise<AdminTokenRow[]> {
    const rows = await this.run<Record<string, any>>(`select id, name, created_at, last_used_at, revoked_at from api_token where user_id = ? order by created_at desc`, [userId]);
    return rows.map((r) => ({ ...(r as AdminTokenRow), created_at: date(r.created_at)!, last_used_at: date(r.last_used_at), revoked_at: date(r.revoked_at) }));
  }

  /** Revokes one of the user's tokens; the token's name, or undefined if there was no such live token. */
  async revokeToken(userId: string, tokenId: string): Promise<string | undefined> {
    const rows = await this.run<{ name: string }>(`update api_token set revoked_at = now() where id = ? and user_id = ? and revoked_at is null returning name`, [tokenId, userId]);
    return rows[0]?.name;
  }
}
