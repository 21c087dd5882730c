import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import type { StaffRole } from '../../workflows/card-state-machine.js';

export interface WebUserRow {
  id: string;
  username: string;
  display_name: string;
  role: StaffRole;
  venue_id: string | null;
  all_venues: boolean;
  password_hash: string | null;
  totp_secret: string | null;
  totp_enabled_at: Date | null;
  locked_at: Date | null;
  disabled_at: Date | null;
}

export interface SessionRow {
  id: string;
  user_id: string;
  csrf_token: string;
  mfa_verified: boolean;
  created_at: Date;
  last_seen_at: Date;
  expires_at: Date;
  ended_at: Date | null;
  ip: string | null;
  user_agent: string | null;
}

/** Raw queries return timestamps as text: sessions are compared in time, so make them dates. */
function toSession(r: Record<string, any>): SessionRow {
  const d = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string));
  return { ...r, created_at: d(r.created_at)!, last_seen_at: d(r.last_seen_at)!, expires_at: d(r.expires_at)!, ended_at: d(r.ended_at) } as SessionRow;
}

/** Every read and write of users' credentials, web sessions, sign-in attempts and recovery codes. */
@Injectable()
export class WebAuthRepository {
  constructor(private readonly em: EntityManager) {}

  private run<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.em.fork().execute<T[]>(sql, params);
  }

  async userByName(username: string): Promise<WebUserRow | undefined> {
    return (await this.run<WebUserRow>(`select * from app_user where username = ?`, [username]))[0];
  }

  async userById(id: string): Promise<WebUserRow | undefined> {
    return (await this.run<WebUserRow>(`select * from app_user where id = ?`, [id]))[0];
  }

  async recordAttempt(userId: string | null, username: string, success: boolean, ip: string | undefined): Promise<void> {
    await this.run(`insert into login_attempt (user_id, username, success, ip) values (?, ?, ?, ?)`, [userId, username, success, ip ?? null]);
  }

  /** Failed sign-ins since `since`; failures before an administrator's unlock no longer count. */
  async failuresSince(userId: string, since: Date): Promise<number> {
    const rows = await this.run<{ n: number }>(
      `select count(*)::int n from login_attempt where user_id = ? and success = false and at >= ?
         and at > coalesce((select max(at) from login_attempt where user_id = ? and success and ip = 'unlock'), '-infinity')`,
      [userId, since, userId],
    );
    return rows[0].n;
  }

  async lock(userId: string): Promise<void> {
    await this.run(`update app_user set locked_at = now() where id = ? and locked_at is null`, [userId]);
  }

  async unlock(userId: string): Promise<void> {
    await this.run(`update app_user set locked_at = null where id = ?`, [userId]);
    // The failures that caused the lock no longer count.
    await this.run(`insert into login_attempt (user_id, username, success, ip) select id, username, true, 'unlock' from app_user where id = ?`, [userId]);
  }

  async setPassword(userId: string, hash: string): Promise<void> {
    await this.run(`update app_user set password_hash = ? where id = ?`, [hash, userId]);
  }

  async setTotp(userId: string, sealedSecret: string | null, enabled: boolean, lastStep: number | null = null): Promise<void> {
    await this.run(`update app_user set totp_secret = ?, totp_enabled_at = ${enabled ? 'now()' : 'null'}, totp_last_step = ? where id = ?`, [sealedSecret, lastStep, userId]);
  }

  /** Records a TOTP time step as used; false if this user has used it (or a later one) already. */
  async useTotpStep(userId: string, step: number): Promise<boolean> {
    const rows = await this.run(`update app_user set totp_last_step = ? where id = ? and (totp_last_step is null or totp_last_step < ?) returning id`, [step, userId, step]);
    return rows.length > 0;
  }

  async replaceRecoveryCodes(userId: string, hashes: string[]): Promise<void> {
    await this.em.fork().transactional(async (tx) => {
      await tx.execute(`delete from recovery_code where user_id = ?`, [userId]);
      for (const h of hashes) await tx.execute(`insert into recovery_code (user_id, code_hash) values (?, ?)`, [userId, h]);
    });
  }

  /** Marks a recovery code used; true if it existed and was unused. */
  async useRecoveryCode(userId: string, hash: string): Promise<boolean> {
    const rows = await this.run(`update recovery_code set used_at = now() where user_id = ? and code_hash = ? and used_at is null returning id`, [userId, hash]);
    return rows.length > 0;
  }

  async insertSession(s: { id: string; userId: string; csrfToken: string; mfaVerified: boolean; expiresAt: Date; ip?: string; userAgent?: string }): Promise<void> {
    await this.run(`insert into web_session (id, user_id, csrf_token, mfa_verified, expires_at, ip, user_agent) values (?, ?, ?, ?, ?, ?, ?)`, [
      s.id,
      s.userId,
      s.csrfToken,
      s.mfaVerified,
      s.expiresAt,
      s.ip ?? null,
      s.userAgent?.slice(0, 300) ?? null,
    ]);
  }

  async session(id: string): Promise<SessionRow | undefined> {
    const row = (await this.run<SessionRow>(`select * from web_session where id = ?`, [id]))[0];
    return row && toSession(row);
  }

  async touch(id: string): Promise<void> {
    await this.run(`update web_session set last_seen_at = now() where id = ?`, [id]);
  }

  async setMfaVerified(id: string): Promise<void> {
    await this.run(`update web_session set mfa_verified = true where id = ?`, [id]);
  }

  async endSession(id: string, userId?: string): Promise<boolean> {
    const rows = await this.run(`update web_session set ended_at = now() where id = ? ${userId ? 'and user_id = ?' : ''} and ended_at is null returning id`, userId ? [id, userId] : [id]);
    return rows.length > 0;
  }

  async activeSessions(userId: string): Promise<SessionRow[]> {
    return (await this.run<SessionRow>(`select * from web_session where user_id = ? and ended_at is null and expires_at > now() order by created_at desc`, [userId])).map(toSession);
  }
}
