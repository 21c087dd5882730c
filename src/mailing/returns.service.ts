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
import { DomainException } from '../common/errors.js';
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

@Injectable()
export class ReturnsService {
  constructor(
    private readonly em: EntityManager,
    private readonly cards: CardsService,
  ) {}

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
