/** CSV export of a search: the whole result, streamed page by page in constant memory. */
import { once } from 'node:events';
import { Injectable } from '@nestjs/common';
import { TZDate } from '@date-fns/tz';
import { stringify } from 'csv-stringify/sync';
import type { Response } from 'express';
import iconv from 'iconv-lite';
import type { z } from 'zod';
import { ROUTE_LABELS, STATE_LABELS } from '../../workflows/card-state-machine.js';
import type { exportQuerySchema } from './card.dto.js';
import { type CardView, CardsRepository } from './cards.repository.js';
import type { VenueScope } from './venue-scope.js';

const PAGE = 2000;

const HEADER = [
  'card_id', 'route', 'route_label', 'state', 'state_label', 'venue_id', 'late', 'proposals', 'received_at', 'notice_mailed_at',
  'renoticed_at', 'issued_at', 'expires_on', 'booking_number', 'name', 'name_kana', 'birth_date', 'postal_code', 'address', 'phone',
];

/** Instants in the ward's time zone, as office staff read them. */
const tokyo = (iso: string | null) => (iso ? new TZDate(iso, 'Asia/Tokyo').toISOString() : '');

function row(c: CardView): string[] {
  return [
    c.cardId, c.route, ROUTE_LABELS[c.route], c.state, STATE_LABELS[c.state], c.venueId ?? '', c.late ? '1' : '0', c.proposals.join(' '),
    tokyo(c.receivedAt), tokyo(c.noticeMailedAt), tokyo(c.renoticedAt), tokyo(c.issuedAt), c.expiresOn ?? '', c.bookingNumber ?? '',
    c.resident.name, c.resident.nameKana, c.resident.birthDate, c.resident.postalCode, c.resident.address, c.resident.phone ?? '',
  ];
}

@Injectable()
export class CardExportService {
  constructor(private readonly cards: CardsRepository) {}

  /**
   * Writes the CSV to `res` one page at a time, waiting for the client; returns the number of cards
   * written. `onPage` gets each page's card ids before the page is sent (the access log's record).
   */
  async stream(scope: VenueScope, q: z.infer<typeof exportQuerySchema>, res: Response, onPage?: (cardIds: string[]) => Promise<void>): Promise<number> {
    const { encoding, ...filters } = q;
    const sjis = encoding === 'sjis';
    res.setHeader('Content-Type', `text/csv; charset=${sjis ? 'Shift_JIS' : 'UTF-8'}`);
    res.setHeader('Content-Disposition', 'attachment; filename="cards.csv"');
    const closed = once(res, 'close');
    // Shift_JIS as Windows writes it (cp932), where characters it lacks become '?'; UTF-8 with a BOM so that Excel reads it.
    const send = async (text: string) => {
      const ok = res.write(sjis ? iconv.encode(text, 'cp932') : text);
      if (!ok) await Promise.race([once(res, 'drain'), closed]);
    };
    const toCsv = (records: string[][]) => stringify(records, { record_delimiter: 'windows' });
    await send((sjis ? '' : '\uFEFF') + toCsv([HEADER]));
    let count = 0;
    let cursor: string | undefined;
    do {
      const page = await this.cards.search(scope, { ...filters, limit: PAGE, cursor });
      if (page.items.length > 0) await onPage?.(page.items.map((c) => c.cardId));
      if (page.items.length > 0) await send(toCsv(page.items.map(row)));
      count += page.items.length;
      cursor = page.nextCursor ?? undefined;
    } while (cursor && !res.destroyed);
    res.end();
    return count;
  }
}
