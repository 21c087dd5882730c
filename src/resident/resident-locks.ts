/**
 * Booking numbers locked after too many failed sign-ins on the residents' pages. Global, so that
 * the staff card page can show the call center that a resident's number is locked and until when.
 */
import { Global, Injectable, Module } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';

@Injectable()
export class ResidentLockRepository {
  constructor(private readonly em: EntityManager) {}

  /** Until when the number is locked, or undefined when it is not. */
  async lockedUntil(bookingNumber: string | null | undefined): Promise<Date | undefined> {
    if (!bookingNumber) return undefined;
    const rows = await this.em.fork().execute<{ locked_until: string | Date }[]>(`select locked_until from booking_number_lock where booking_number = ? and locked_until > now()`, [bookingNumber]);
    return rows[0] ? new Date(rows[0].locked_until) : undefined;
  }

  /** Until when the card's booking number is locked, or undefined. */
  async lockedUntilForCard(cardId: string): Promise<Date | undefined> {
    const rows = await this.em
      .fork()
      .execute<{ locked_until: string | Date }[]>(
        `select l.locked_until from booking_number_lock l join booking_number bn on bn.number = l.booking_number where bn.card_id = ? and l.locked_until > now()`,
        [cardId],
      );
    return rows[0] ? new Date(rows[0].locked_until) : undefined;
  }

  async lock(bookingNumber: string, until: Date, failures: number): Promise<void> {
    await this.em
      .fork()
      .execute(
        `insert into booking_number_lock (booking_number, locked_at, locked_until, failures) values (?, now(), ?, ?)
         on conflict (booking_number) do update set locked_at = now(), locked_until = excluded.locked_until, failures = excluded.failures`,
        [bookingNumber, until, failures],
      );
  }
}

@Global()
@Module({ providers: [ResidentLockRepository], exports: [ResidentLockRepository] })
export class ResidentLocksModule {}
