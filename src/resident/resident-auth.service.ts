/**
 * Residents sign in without an account: the booking number printed on their notice and their date
 * of birth. Sessions are server-side (`resident_session`, keyed by the SHA-256 of the cookie
 * token, bound to one card), with a short idle timeout. Failures are throttled per address and per
 * booking number (rate-limiter-flexible on the staff throttles' PostgreSQL store), and a number
 * that keeps failing is locked for a configured period, visible to the call center.
 */
import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import type { RateLimiterPostgres } from 'rate-limiter-flexible';
import { sha256 } from '../auth/secrets.js';
import { ThrottleService } from '../auth/throttle.service.js';
import { RESIDENT_CONFIG } from './resident.tokens.js';
import type { ResidentConfig } from './resident-config.js';
import { ResidentLockRepository } from './resident-locks.js';

export interface ResidentSession {
  id: string;
  cardId: string;
  bookingNumber: string;
  csrfToken: string;
}

export type ResidentSignIn =
  | { ok: true; token: string; session: ResidentSession }
  | { ok: false; reason: 'invalid' }
  | { ok: false; reason: 'throttled' | 'locked'; until: Date };

@Injectable()
export class ResidentAuthService {
  private readonly byAddress: RateLimiterPostgres;
  private readonly byNumber: RateLimiterPostgres;
  private readonly towardsLock: RateLimiterPostgres;

  constructor(
    private readonly em: EntityManager,
    private readonly locks: ResidentLockRepository,
    throttle: ThrottleService,
    @Inject(RESIDENT_CONFIG) private readonly config: ResidentConfig,
  ) {
    const window = config.throttle.windowSeconds;
    this.byAddress = throttle.limiter('resident-addr', config.throttle.perAddress, window);
    this.byNumber = throttle.limiter('resident-number', config.throttle.perBookingNumber, window);
    this.towardsLock = throttle.limiter('resident-lock', config.lock.afterFailures, config.lock.withinHours * 3600);
  }

  private static address = (ip: string | undefined) => (ip ?? 'unknown').slice(0, 64);

  async signIn(bookingNumber: string, birthDate: string, ip: string | undefined): Promise<ResidentSignIn> {
    const address = ResidentAuthService.address(ip);
    const locked = await this.locks.lockedUntil(bookingNumber);
    if (locked) return { ok: false, reason: 'locked', until: locked };
    const wait = Math.max(await ThrottleService.wait(this.byAddress, address), await ThrottleService.wait(this.byNumber, bookingNumber));
    if (wait > 0) return { ok: false, reason: 'throttled', until: new Date(Date.now() + wait * 1000) };
    const [card] = await this.em
      .fork()
      .execute<{ card_id: string }[]>(
        `select bn.card_id from booking_number bn join card_resident r on r.card_id = bn.card_id join card c on c.card_id = bn.card_id
         where bn.number = ? and r.birth_date = ?::date`,
        [bookingNumber, birthDate],
      );
    if (!card) {
      const [a, n] = await Promise.all([ThrottleService.fail(this.byAddress, address), ThrottleService.fail(this.byNumber, bookingNumber)]);
      const towards = await this.towardsLock.penalty(bookingNumber, 1);
      if (towards.consumedPoints >= this.config.lock.afterFailures) {
        const until = new Date(Date.now() + this.config.lock.minutes * 60_000);
        await this.locks.lock(bookingNumber, until, towards.consumedPoints);
        // Counting starts again once the lock ends.
        await this.towardsLock.delete(bookingNumber);
        return { ok: false, reason: 'locked', until };
      }
      const blocked = Math.max(a, n);
      return blocked > 0 ? { ok: false, reason: 'throttled', until: new Date(Date.now() + blocked * 1000) } : { ok: false, reason: 'invalid' };
    }
    await Promise.all([this.byNumber.delete(bookingNumber), this.towardsLock.delete(bookingNumber)]);
    const token = randomBytes(32).toString('base64url');
    const session: ResidentSession = { id: sha256(token), cardId: card.card_id, bookingNumber, csrfToken: randomBytes(24).toString('base64url') };
    await this.em
      .fork()
      .execute(`insert into resident_session (id, card_id, booking_number, csrf_token, expires_at) values (?, ?, ?, ?, now() + make_interval(hours => ?))`, [
        session.id,
        session.cardId,
        session.bookingNumber,
        session.csrfToken,
        this.config.session.maxHours,
      ]);
    return { ok: true, token, session };
  }

  /** The live session behind a cookie token; `expired` when there was one that timed out. */
  async resume(token: string | undefined): Promise<ResidentSession | 'expired' | undefined> {
    if (!token || token.length > 100) return undefined;
    const [row] = await this.em
      .fork()
      .execute<{ id: string; card_id: string; booking_number: string; csrf_token: string; idle: boolean; too_old: boolean; ended: boolean; touch: boolean }[]>(
        `select id, card_id, booking_number, csrf_token, ended_at is not null ended, now() >= expires_at too_old,
                now() - last_seen_at >= make_interval(mins => ?) idle, now() - last_seen_at > interval '1 minute' touch
           from resident_session where id = ?`,
        [this.config.session.idleMinutes, sha256(token)],
      );
    if (!row || row.ended) return undefined;
    if (row.idle || row.too_old) {
      await this.end(row.id);
      return 'expired';
    }
    // Idle time counts from the last request; writing at most once a minute keeps reads cheap.
    if (row.touch) await this.em.fork().execute(`update resident_session set last_seen_at = now() where id = ?`, [row.id]);
    return { id: row.id, cardId: row.card_id, bookingNumber: row.booking_number, csrfToken: row.csrf_token };
  }

  async end(id: string): Promise<void> {
    await this.em.fork().execute(`update resident_session set ended_at = now() where id = ? and ended_at is null`, [id]);
  }
}
