/**
 * Where a card is kept at its venue: a storage place (shelf, box, drawer) set when the card
 * is received at the venue and changeable from the venue's pages. PostgreSQL only, not part of the
 * card's workflow: moving a card to another shelf is no event in its story.
 */
import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';

/** A storage place as typed at the counter: trimmed, 1..50 characters, no control or format characters. */
export const storagePlaceSchema = z
  .string({ error: '保管場所を入力してください' })
  .trim()
  .min(1, '保管場所を入力してください')
  .max(50, '保管場所は50文字以内で入力してください')
  .regex(/^[^\p{Cc}\p{Cf}]*$/u, '保管場所に制御文字は使えません');

@Injectable()
export class CardStorageRepository {
  constructor(private readonly em: EntityManager) {}

  /** Sets (or moves) the card's storage place at `venueId`. */
  async set(cardId: string, venueId: string, place: string, userName: string): Promise<void> {
    await this.em.fork().execute(
      `insert into card_storage (card_id, venue_id, place, updated_by) values (?, ?, ?, ?)
       on conflict (card_id) do update set venue_id = excluded.venue_id, place = excluded.place, updated_by = excluded.updated_by, updated_at = now()`,
      [cardId, venueId, place, userName],
    );
  }

  /** The card's storage place, if it has one (at any venue). */
  async get(cardId: string): Promise<{ venueId: string; place: string; updatedBy: string; updatedAt: Date } | undefined> {
    const [row] = await this.em.fork().execute<{ venue_id: string; place: string; updated_by: string; updated_at: Date }[]>(
      `select venue_id, place, updated_by, updated_at from card_storage where card_id = ?`,
      [cardId],
    );
    return row ? { venueId: row.venue_id, place: row.place, updatedBy: row.updated_by, updatedAt: new Date(row.updated_at) } : undefined;
  }
}
