/**
 * Sign-in for the staff web pages (OWASP ASVS 4.0.3 L2, chapters 2–3): argon2id passwords,
 * server-side sessions with a fresh token at sign-in, 30-minute idle and 12-hour absolute
 * timeouts, a lock after 100 failures in an hour, and TOTP with recovery codes for the ward and
 * administrators.
 */
import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { generate, generateSecret, generateURI, verify as verifyTotp } from 'otplib';
import QRCode from 'qrcode';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import type { StaffRole } from '../../workflows/card-state-machine.js';
import type { AuthUser } from './auth.types.js';
import { decoyHash, decrypt, encrypt, hashPassword, sha256, verifyPassword } from './secrets.js';
import { type SessionRow, WebAuthRepository, type WebUserRow } from './web-auth.repository.js';

export const IDLE_TIMEOUT_MS = 30 * 60_000;
export const ABSOLUTE_TIMEOUT_MS = 12 * 3_600_000;
export const LOCK_AFTER_FAILURES = 100;
const LOCK_WINDOW_MS = 3_600_000;
/** Roles whose sign-in needs a second factor. */
export const MFA_ROLES: readonly StaffRole[] = ['ward', 'admin'];

export type SignInResult =
  | { ok: true; token: string; session: SessionRow; user: WebUserRow; next: 'done' | 'totp' | 'totp-setup' }
  | { ok: false; reason: 'invalid' | 'locked' };

export interface WebSessionContext {
  session: SessionRow;
  user: AuthUser;
  displayName: string;
}

const toAuthUser = (u: WebUserRow): AuthUser => ({ id: u.id, username: u.username, role: u.role, venueId: u.venue_id ?? undefined, allVenues: u.all_venues });

@Injectable()
export class WebAuthService {
  constructor(
    private readonly repo: WebAuthRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async signIn(username: string, password: string, ip?: string, userAgent?: string): Promise<SignInResult> {
    const user = await this.repo.userByName(username);
    if (!user || user.disabled_at) {
      await verifyPassword(await decoyHash(), password);
      await this.repo.recordAttempt(null, username.slice(0, 100), false, ip);
      return { ok: false, reason: 'invalid' };
    }
    if (user.locked_at) {
      await this.repo.recordAttempt(user.id, username, false, ip);
      return { ok: false, reason: 'locked' };
    }
    if (!(await verifyPassword(user.password_hash, password))) {
      await this.repo.recordAttempt(user.id, username, false, ip);
      if ((await this.repo.failuresSince(user.id, new Date(Date.now() - LOCK_WINDOW_MS))) >= LOCK_AFTER_FAILURES) {
        await this.repo.lock(user.id);
        return { ok: false, reason: 'locked' };
      }
      return { ok: false, reason: 'invalid' };
    }
    await this.repo.recordAttempt(user.id, username, true, ip);
    const needsMfa = MFA_ROLES.includes(user.role);
    const { token, session } = await this.newSession(user.id, !needsMfa, ip, userAgent);
    return { ok: true, token, session, user, next: !needsMfa ? 'done' : user.totp_enabled_at ? 'totp' : 'totp-setup' };
  }

  private async newSession(userId: string, mfaVerified: boolean, ip?: string, userAgent?: string) {
    const token = randomBytes(32).toString('base64url');
    const id = sha256(token);
    await this.repo.insertSession({ id, userId, csrfToken: randomBytes(24).toString('base64url'), mfaVerified, expiresAt: new Date(Date.now() + ABSOLUTE_TIMEOUT_MS), ip, userAgent });
    return { token, session: (await this.repo.session(id))! };
  }

  /** The live session behind a cookie token, or undefined; ends sessions that timed out. */
  async resume(token: string | undefined): Promise<WebSessionContext | undefined> {
    if (!token) return undefined;
    const session = await this.repo.session(sha256(token));
    if (!session || session.ended_at) return undefined;
    const now = Date.now();
    if (now >= session.expires_at.getTime() || now - session.last_seen_at.getTime() >= IDLE_TIMEOUT_MS) {
      await this.repo.endSession(session.id);
      return undefined;
    }
    const user = await this.repo.userById(session.user_id);
    if (!user || user.disabled_at || user.locked_at) return undefined;
    // Idle time counts from the last request; writing at most once a minute keeps reads cheap.
    if (now - session.last_seen_at.getTime() > 60_000) await this.repo.touch(session.id);
    return { session, user: toAuthUser(user), displayName: user.display_name };
  }

  signOut(sessionId: string): Promise<boolean> {
    return this.repo.endSession(sessionId);
  }

  endOwnSession(userId: string, sessionId: string): Promise<boolean> {
    return this.repo.endSession(sessionId, userId);
  }

  activeSessions(userId: string) {
    return this.repo.activeSessions(userId);
  }

  /** Checks a TOTP code or a recovery code for the session's user; marks the session verified. */
  async verifySecondFactor(ctx: { session: SessionRow }, code: string): Promise<boolean> {
    const user = await this.repo.userById(ctx.session.user_id);
    if (!user?.totp_secret || !user.totp_enabled_at) return false;
    const clean = code.replace(/\s/g, '');
    let ok = false;
    if (/^\d{6}$/.test(clean)) {
      ok = (await verifyTotp({ secret: decrypt(this.config.dataKey, user.totp_secret), token: clean, epochTolerance: 30 })).valid;
    } else if (/^[a-z0-9-]{8,20}$/i.test(clean)) {
      ok = await this.repo.useRecoveryCode(user.id, sha256(clean.toLowerCase().replace(/-/g, '')));
    }
    await this.repo.recordAttempt(user.id, user.username, ok, 'totp');
    if (ok) await this.repo.setMfaVerified(ctx.session.id);
    return ok;
  }

  /** Starts enrolment: a new secret (kept encrypted, not yet enabled) and its QR code. */
  async beginTotpSetup(userId: string): Promise<{ secret: string; qrSvg: string; uri: string }> {
    const user = (await this.repo.userById(userId))!;
    const secret = generateSecret();
    await this.repo.setTotp(userId, encrypt(this.config.dataKey, secret), false);
    const uri = generateURI({ issuer: '個人番号カード交付 進捗管理', label: user.username, secret });
    return { secret, uri, qrSvg: await QRCode.toString(uri, { type: 'svg', margin: 1, width: 200 }) };
  }

  /** Confirms enrolment with a first code; returns the recovery codes (shown once) or undefined. */
  async confirmTotpSetup(ctx: { session: SessionRow }, code: string): Promise<string[] | undefined> {
    const user = await this.repo.userById(ctx.session.user_id);
    if (!user?.totp_secret || user.totp_enabled_at) return undefined;
    const valid = (await verifyTotp({ secret: decrypt(this.config.dataKey, user.totp_secret), token: code.replace(/\s/g, ''), epochTolerance: 30 })).valid;
    if (!valid) return undefined;
    await this.repo.setTotp(user.id, user.totp_secret, true);
    const codes = Array.from({ length: 10 }, () => randomBytes(5).toString('hex'));
    await this.repo.replaceRecoveryCodes(user.id, codes.map((c) => sha256(c)));
    await this.repo.setMfaVerified(ctx.session.id);
    return codes.map((c) => `${c.slice(0, 5)}-${c.slice(5)}`);
  }

  async setPassword(username: string, password: string): Promise<void> {
    const user = await this.repo.userByName(username);
    if (!user) throw new Error(`no user ${username}`);
    await this.repo.setPassword(user.id, await hashPassword(password));
  }

  /** For demo users and tests: enables TOTP with a known secret. */
  async enableTotpWithSecret(username: string, secret: string): Promise<void> {
    const user = await this.repo.userByName(username);
    if (!user) throw new Error(`no user ${username}`);
    await this.repo.setTotp(user.id, encrypt(this.config.dataKey, secret), true);
  }

  async unlock(username: string): Promise<void> {
    const user = await this.repo.userByName(username);
    if (!user) throw new Error(`no user ${username}`);
    await this.repo.unlock(user.id);
  }

  static generateSecret = generateSecret;
  static totp = (secret: string) => generate({ secret });
}
