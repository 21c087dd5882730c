/**
 * Throttles by client address (and by address and account) for sign-in, the second factor and API
 * tokens, with rate-limiter-flexible's PostgreSQL store so that every API process shares the
 * counts. Only failures are counted; an address that reaches a limit is refused (429 with
 * `Retry-After`) until its window ends. The numbers are in ARCHITECTURE.md ("Sign-in throttling").
 */
import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import pg from 'pg';
import { RateLimiterPostgres, type RateLimiterRes } from 'rate-limiter-flexible';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import { sha256 } from './secrets.js';

/** Seconds to wait before the next attempt, or 0 when the attempt may go ahead. */
export type Wait = number;

@Injectable()
export class ThrottleService implements OnModuleDestroy {
  private readonly logger = new Logger('throttle');
  private readonly pool: pg.Pool;
  private readonly byAddress: RateLimiterPostgres;
  private readonly byAddressAccount: RateLimiterPostgres;
  private readonly tokenByAddress: RateLimiterPostgres;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: 3 });
    this.pool.on('error', (err) => this.logger.warn(`idle throttle connection failed: ${err.name}`));
    const limiter = (keyPrefix: string, points: number) =>
      new RateLimiterPostgres({ storeClient: this.pool, tableName: 'rate_limit', tableCreated: true, clearExpiredByTimeout: true, keyPrefix, points, duration: config.THROTTLE_WINDOW_SECONDS });
    this.byAddress = limiter('signin-addr', config.THROTTLE_SIGNIN_PER_ADDRESS);
    this.byAddressAccount = limiter('signin-addr-user', config.THROTTLE_SIGNIN_PER_ADDRESS_ACCOUNT);
    this.tokenByAddress = limiter('token-addr', config.THROTTLE_TOKEN_PER_ADDRESS);
  }

  async onModuleDestroy(): Promise<void> {
    await this.pool.end();
  }

  private static address = (ip: string | undefined) => (ip ?? 'unknown').slice(0, 64);
  /** Usernames are typed by anyone: the key holds a hash, so its length is bounded. */
  private static account = (ip: string | undefined, username: string) => `${ThrottleService.address(ip)}|${sha256(username.toLowerCase()).slice(0, 32)}`;

  /** Another failure counter on the same store and pool (the residents' sign-in uses its own). */
  limiter(keyPrefix: string, points: number, durationSeconds: number): RateLimiterPostgres {
    return new RateLimiterPostgres({ storeClient: this.pool, tableName: 'rate_limit', tableCreated: true, clearExpiredByTimeout: true, keyPrefix, points, duration: durationSeconds });
  }

  static async wait(limiter: RateLimiterPostgres, key: string): Promise<Wait> {
    const res = await limiter.get(key);
    return res && res.consumedPoints >= limiter.points ? Math.max(1, Math.ceil(res.msBeforeNext / 1000)) : 0;
  }

  static async fail(limiter: RateLimiterPostgres, key: string): Promise<Wait> {
    const res: RateLimiterRes = await limiter.penalty(key, 1);
    return res.consumedPoints >= limiter.points ? Math.max(1, Math.ceil(res.msBeforeNext / 1000)) : 0;
  }

  /** Before checking a password or a second-factor code: how long this address must wait for this account. */
  async signInWait(ip: string | undefined, username: string): Promise<Wait> {
    const [a, b] = await Promise.all([ThrottleService.wait(this.byAddress, ThrottleService.address(ip)), ThrottleService.wait(this.byAddressAccount, ThrottleService.account(ip, username))]);
    return Math.max(a, b);
  }

  /** A wrong password or code: counted for the address and for the address with the account. */
  async signInFailed(ip: string | undefined, username: string): Promise<Wait> {
    const [a, b] = await Promise.all([ThrottleService.fail(this.byAddress, ThrottleService.address(ip)), ThrottleService.fail(this.byAddressAccount, ThrottleService.account(ip, username))]);
    return Math.max(a, b);
  }

  /** A complete sign-in clears the account's count at this address (the address's own count stays). */
  async signInSucceeded(ip: string | undefined, username: string): Promise<void> {
    await this.byAddressAccount.delete(ThrottleService.account(ip, username));
  }

  /** Before answering an unknown API token: how long this address must wait. */
  tokenWait(ip: string | undefined): Promise<Wait> {
    return ThrottleService.wait(this.tokenByAddress, ThrottleService.address(ip));
  }

  tokenFailed(ip: string | undefined): Promise<Wait> {
    return ThrottleService.fail(this.tokenByAddress, ThrottleService.address(ip));
  }
}

/** The time after which a throttled attempt may be made again, for the page's message (Asia/Tokyo). */
export function retryMessage(wait: Wait): string {
  const at = new Intl.DateTimeFormat('ja-JP', { timeZone: 'Asia/Tokyo', hour: '2-digit', minute: '2-digit' }).format(new Date(Date.now() + wait * 1000));
  return `ログインの失敗が続いたため、この端末からの試行を一時的に止めています。${at}（約${Math.ceil(wait / 60)}分後）以降にもう一度お試しください。`;
}
