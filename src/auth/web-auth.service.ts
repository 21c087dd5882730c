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

export type SecondFactorResult = { ok: true; token: string; session: SessionRow } | { ok: false; reason: 'invalid' | 'locked' };

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

  /** The time step a code matches (checked against `totp_last_step`), or undefined. */
  private async totpStep(sealedSecret: string, code: string): Promise<number | undefined> {
    if (!/^\d{6}$/.test(code)) return undefined;
    const r = await verifyTotp({ secret: decrypt(this.config.dataKey, sealedSecret), token: code, epochTolerance: 30 });
    if (!r.valid) return undefined;
    const epoch = 'epoch' in r && typeof r.epoch === 'number' ? r.epoch : Math.floor(Date.now() / 1000) + r.delta * 30;
    return Math.floor(epoch / 30);
  }

  /**
   * Checks a TOTP code (each time step once per user) or a recovery code for the session's user.
   * A failure counts towards the account lock like a wrong password. On success the session is
   * replaced by a new, verified one (a new token: the password-only token dies).
   */
  async verifySecondFactor(ctx: { session: SessionRow }, code: string, ip?: string, userAgent?: string): Promise<SecondFactorResult> {
    const user = await this.repo.userById(ctx.session.user_id);
    if (!user?.totp_secret || !user.totp_enabled_at) return { ok: false, reason: 'invalid' };
    const clean = code.replace(/\s/g, '');
    let ok = false;
    if (/^\d{6}$/.test(clean)) {
      const step = await this.totpStep(user.totp_secret, clean);
      ok = step !== undefined && (await this.repo.useTotpStep(user.id, step));
    } else if (/^[a-z0-9-]{8,20}$/i.test(clean)) {
      ok = await this.repo.useRecoveryCode(user.id, sha256(clean.toLowerCase().replace(/-/g, '')));
    }
    await this.repo.recordAttempt(user.id, user.username, ok, 'totp');
    if (!ok) {
      if ((await this.repo.failuresSince(user.id, new Date(Date.now() - LOCK_WINDOW_MS))) >= LOCK_AFTER_FAILURES) {
        await this.repo.lock(user.id);
        await this.repo.endSession(ctx.session.id);
        return { ok: false, reason: 'locked' };
      }
      return { ok: false, reason: 'invalid' };
    }
    return { ok: true, ...(await this.rotate(ctx.session, ip, userAgent)) };
  }

  /** A new verified session in place of a password-only one. */
  private async rotate(old: SessionRow, ip?: string, userAgent?: string) {
    await this.repo.endSession(old.id);
    return this.newSession(old.user_id, true, ip, userAgent);
  }

  /**
   * Who may enrol: a user with no second factor (first sign-in, or after an administrator's
   * reset), or a user who has given the current factor in this session (re-enrolment, which also
   * asks for a current code when confirming).
   */
  async enrolment(ctx: { session: SessionRow }): Promise<'first' | 'again' | 'refused'> {
    const user = await this.repo.userById(ctx.session.user_id);
    if (!user) return 'refused';
    if (!user.totp_enabled_at) return 'first';
    return ctx.session.mfa_verified ? 'again' : 'refused';
  }

  /**
   * A new secret and its QR code, changing nothing: the secret travels sealed (and bound to the
   * session) in the form until a code confirms it.
   */
  async prepareTotpSetup(ctx: { session: SessionRow }): Promise<{ secret: string; qrSvg: string; uri: string; sealed: string }> {
    const user = (await this.repo.userById(ctx.session.user_id))!;
    const secret = generateSecret();
    const uri = generateURI({ issuer: '個人番号カード交付 進捗管理', label: user.username, secret });
    const sealed = encrypt(this.config.dataKey, `totp-setup|${ctx.session.id}|${Date.now()}|${secret}`);
    return { secret, uri, sealed, qrSvg: await QRCode.toString(uri, { type: 'svg', margin: 1, width: 200 }) };
  }

  /**
   * Confirms enrolment with a first code of the new secret (and, for re-enrolment, a code of the
   * current one); returns the recovery codes (shown once) and the new session's token.
   */
  async confirmTotpSetup(
    ctx: { session: SessionRow },
    input: { sealed: string; code: string; currentCode?: string },
    ip?: string,
    userAgent?: string,
  ): Promise<{ ok: true; codes: string[]; token: string } | { ok: false; reason: 'refused' | 'invalid' | 'current' }> {
    const mode = await this.enrolment(ctx);
    if (mode === 'refused') return { ok: false, reason: 'refused' };
    let secret: string | undefined;
    try {
      const [tag, sessionId, at, value] = decrypt(this.config.dataKey, input.sealed).split('|');
      if (tag === 'totp-setup' && sessionId === ctx.session.id && Date.now() - Number(at) < 30 * 60_000) secret = value;
    } catch {
      secret = undefined;
    }
    if (!secret) return { ok: false, reason: 'invalid' };
    const user = (await this.repo.userById(ctx.session.user_id))!;
    if (mode === 'again') {
      const step = user.totp_secret ? await this.totpStep(user.totp_secret, (input.currentCode ?? '').replace(/\s/g, '')) : undefined;
      const current = step !== undefined && (await this.repo.useTotpStep(user.id, step));
      await this.repo.recordAttempt(user.id, user.username, current, 'totp');
      if (!current) return { ok: false, reason: 'current' };
    }
    const sealedSecret = encrypt(this.config.dataKey, secret);
    const step = await this.totpStep(sealedSecret, input.code.replace(/\s/g, ''));
    if (step === undefined) return { ok: false, reason: 'invalid' };
    await this.repo.setTotp(user.id, sealedSecret, true, step);
    const codes = Array.from({ length: 10 }, () => randomBytes(5).toString('hex'));
    await this.repo.replaceRecoveryCodes(user.id, codes.map((c) => sha256(c)));
    const { token } = await this.rotate(ctx.session, ip, userAgent);
    return { ok: true, token, codes: codes.map((c) => `${c.slice(0, 5)}-${c.slice(5)}`) };
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
  /** The code of the current time step, or of `step` (for tests that sign in twice within 30 s). */
  static totp = (secret: string, step?: number) => generate({ secret, ...(step === undefined ? {} : { epoch: step * 30 }) });
}
