/** CSV export of a search: the whole result, streamed page by page in constant memory. */
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { Injectable } from '@nestjs/common';
import { TZDate } from '@date-fns/tz';
import { stringify } from 'csv-stringify';
import type { Response } from 'express';
import iconv from 'iconv-lite';
import { ROUTE_LABELS, STATE_LABELS } from '../../workflows/card-state-machine.js';
import type { z } from 'zod';
import type { exportQuerySchema } from './card.dto.js';
import { type CardView, CardsRepository } from './cards.repository.js';

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

  /** Writes the CSV to `res`, waiting for the client at each page; returns the number of cards written. */
  async stream(q: z.infer<typeof exportQuerySchema>, res: Response): Promise<number> {
    const { encoding, ...filters } = q;
    const sjis = encoding === 'sjis';
    res.setHeader('Content-Type', `text/csv; charset=${sjis ? 'Shift_JIS' : 'UTF-8'}`);
    res.setHeader('Content-Disposition', `attachment; filename="cards.csv"`);
    const csv = stringify({ record_delimiter: 'windows', quoted_match: /[",\r\n]/ });
    // Shift_JIS as Windows writes it (cp932); characters it lacks become '?'. UTF-8 gets a BOM so Excel reads it.
    const out = sjis ? csv.pipe(iconv.encodeStream('cp932')) : csv;
    if (!sjis) res.write('\uFEFF');
    out.pipe(res);
    const closed = once(res, 'close');
    const write = async (record: string[]) => {
      // Wait for the client to catch up, unless it has gone away.
      if (!csv.write(record)) await Promise.race([once(csv, 'drain'), closed]);
    };
    let count = 0;
    try {
      await write(HEADER);
      let cursor: string | undefined;
      do {
        const page = await this.cards.search({ ...filters, limit: PAGE, cursor });
        for (const c of page.items) await write(row(c));
        count += page.items.length;
        cursor = page.nextCursor ?? undefined;
      } while (cursor && !res.destroyed);
    } finally {
      csv.end();
      await finished(res).catch(() => undefined);
    }
    return count;
  }
}
