/**
 * Returned notices: the office types or scans each returned notice's booking number (or the
 * card number), one by one or as a list, with the reason on the return slip; each card records the
 * return. Scanning the same notice twice records it once (the action's idempotency key names the
 * mailing it returns).
 */
import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import type { AuthUser } from '../auth/auth.types.js';
import { CardsService } from '../cards/cards.service.js';
import { CommonException, DomainException } from '../common/errors.js';
import { addressKey } from '../callcenter/search-keys.js';
import { type CardStateName, STATE_LABELS } from '../../workflows/card-state-machine.js';
import { pageErrors } from '../web/messages.js';

export const RETURN_REASONS = ['宛所に尋ね当たりません', '転居先不明', '受取拒否', '保管期間経過', 'その他'] as const;

export type ReturnOutcome = 'recorded' | 'already' | 'not_found' | 'refused';

export interface ReturnResult {
  input: string;
  cardId?: string;
  outcome: ReturnOutcome;
  message?: string;
}

/** A scanned or typed line: a booking number (digits) or a card number; spaces and hyphens a scanner or a person adds are dropped. */
export const normaliseReturnLine = (line: string) => line.normalize('NFKC').replace(/[\s-]/g, '').toUpperCase();

export type CorrectionOutcome = { cardId: string; queued: boolean };

@Injectable()
export class ReturnsService {
  constructor(
    private readonly em: EntityManager,
    private readonly cards: CardsService,
  ) {}

  /**
   * A better address for a returned notice: the resident's address is corrected (the old and
   * new kept in `address_correction`), and a reissue task puts the notice into the next notice batch,
   * mailed again to the new address (the task is done when it is mailed). Only a card whose notice is
   * returned; the number is a booking or card number as on the returns form.
   */
  async correctAddress(number: string, postalCode: string, address: string, user: AuthUser): Promise<CorrectionOutcome> {
    const input = normaliseReturnLine(number);
    return this.em.fork().transactional(async (tx) => {
      const [row] = await tx.execute<{ card_id: string; state: string; postal_code: string; address: string }[]>(
        `select c.card_id, c.state, r.postal_code, r.address from card c join card_resident r on r.card_id = c.card_id
          where c.card_id = ? or c.booking_number = ? order by c.card_id = ? desc limit 1 for update of r`,
        [input, input, input],
      );
      if (!row) throw CommonException.validation([{ field: 'number', message: '該当するカードがありません' }]);
      if (row.state !== 'notice_returned') {
        throw CommonException.validation([{ field: 'number', message: `このカードの通知書は返戻されていません（${STATE_LABELS[row.state as CardStateName] ?? row.state}）` }]);
      }
      await tx.execute(
        `insert into address_correction (card_id, old_postal_code, old_address, new_postal_code, new_address, corrected_by) values (?, ?, ?, ?, ?, ?)`,
        [row.card_id, row.postal_code, row.address, postalCode, address, user.username],
      );
      await tx.execute(`update card_resident set postal_code = ?, address = ?, search_address = ? where card_id = ?`, [postalCode, address, addressKey(address), row.card_id]);
      const queued = await tx.execute(
        `insert into task (kind, card_id, venue_id, note, created_by) values ('reissue', ?, null, ?, ?)
         on conflict (kind, card_id) where status = 'open' and card_id is not null do nothing returning id`,
        [row.card_id, '住所訂正による再送（返戻）', user.username],
      );
      return { cardId: row.card_id, queued: queued.length > 0 };
    });
  }

  async record(lines: string[], reason: string, user: AuthUser): Promise<ReturnResult[]> {
    const results: ReturnResult[] = [];
    const seen = new Set<string>();
    for (const raw of lines) {
      const input = normaliseReturnLine(raw);
      if (!input || seen.has(input)) continue;
      seen.add(input);
      const [row] = await this.em
        .fork()
        .execute<{ card_id: string; state: string; notice_mailed_at: Date | null; renoticed_at: Date | null }[]>(
          `select card_id, state, notice_mailed_at, renoticed_at from card where card_id = ? or booking_number = ? order by card_id = ? desc limit 1`,
          [input, input, input],
        );
      if (!row) {
        results.push({ input, outcome: 'not_found' });
        continue;
      }
      if (row.state === 'notice_returned') {
        results.push({ input, cardId: row.card_id, outcome: 'already' });
        continue;
      }
      const mailing = row.state === 'renoticed' ? `r${new Date(row.renoticed_at ?? 0).getTime()}` : `n${new Date(row.notice_mailed_at ?? 0).getTime()}`;
      try {
        await this.cards.act(row.card_id, 'record_return', { reason }, user, `return-${row.card_id}-${mailing}`, 'web');
        results.push({ input, cardId: row.card_id, outcome: 'recorded' });
      } catch (e) {
        if (e instanceof DomainException) results.push({ input, cardId: row.card_id, outcome: 'refused', message: pageErrors(e.code, e.message, e.details)[0]?.message });
        else throw e;
      }
    }
    return results;
  }
}
