/**
 * CSV export of a search: the whole result, streamed page by page in constant memory.
 *
 * Two audiences: the API (`/api/cards.csv`) keeps stable English column keys and ISO instants; the
 * staff page (`/cards.csv`) writes Japanese headings and Asia/Tokyo times as staff read them. Both
 * neutralise formula cells (csvOptions). In Shift_JIS (cp932), a character it cannot hold becomes
 * 〓 (never a silent `?`), and the cards affected are counted (`X-Substituted-Cards`) and listed by
 * `substitutions()` (the companion download).
 */
import { once } from 'node:events';
import { Injectable } from '@nestjs/common';
import { TZDate } from '@date-fns/tz';
import { format } from 'date-fns';
import { stringify } from 'csv-stringify/sync';
import type { Response } from 'express';
import iconv from 'iconv-lite';
import type { z } from 'zod';
import { PROPOSAL_LABELS, ROUTE_LABELS, STATE_LABELS } from '../../workflows/card-state-machine.js';
import { csvOptions } from '../common/csv-cell.js';
import type { exportQuerySchema } from './card.dto.js';
import { type CardView, CardsRepository } from './cards.repository.js';
import type { VenueScope } from './venue-scope.js';

const PAGE = 2000;

export type ExportQuery = z.infer<typeof exportQuerySchema>;
export type ExportAudience = 'api' | 'staff';

/** The geta mark, which Shift_JIS documents use for a character that cannot be printed. */
export const SUBSTITUTE = '〓';

/** Column key (the API's header) → the staff page's Japanese heading. */
const COLUMNS = [
  ['card_id', 'カード番号'],
  ['route', '交付方式コード'],
  ['route_label', '交付方式'],
  ['state', '状態コード'],
  ['state_label', '状態'],
  ['venue_id', '交付会場'],
  ['late', '期限超過'],
  ['proposals', '提案'],
  ['received_at', '受付日時'],
  ['notice_mailed_at', '通知書発送日時'],
  ['renoticed_at', '再通知日時'],
  ['issued_at', '交付日時'],
  ['expires_on', '有効期限'],
  ['booking_number', '予約番号'],
  ['name', '氏名'],
  ['name_kana', '氏名（カナ）'],
  ['birth_date', '生年月日'],
  ['postal_code', '郵便番号'],
  ['address', '住所'],
  ['phone', '電話番号'],
] as const;

/** The columns where a resident's own text (which may hold characters outside Shift_JIS) goes. */
const TEXT_COLUMNS = new Set(['name', 'name_kana', 'address', 'phone']);

/** Instants in the ward's time zone: ISO with the offset for the API, "2026-11-26 10:30:00" for staff. */
const instant = (iso: string | null, audience: ExportAudience) =>
  iso ? (audience === 'api' ? new TZDate(iso, 'Asia/Tokyo').toISOString() : format(new TZDate(iso, 'Asia/Tokyo'), 'yyyy-MM-dd HH:mm:ss')) : '';

function row(c: CardView, audience: ExportAudience): string[] {
  const staff = audience === 'staff';
  return [
    c.cardId,
    c.route,
    ROUTE_LABELS[c.route],
    c.state,
    STATE_LABELS[c.state],
    c.venueId ?? '',
    staff ? (c.late ? '超過' : '') : c.late ? '1' : '0',
    staff ? c.proposals.map((p) => (PROPOSAL_LABELS as Record<string, string>)[p] ?? p).join('、') : c.proposals.join(' '),
    instant(c.receivedAt, audience),
    instant(c.noticeMailedAt, audience),
    instant(c.renoticedAt, audience),
    instant(c.issuedAt, audience),
    c.expiresOn ?? '',
    c.bookingNumber ?? '',
    c.resident.name,
    c.resident.nameKana,
    c.resident.birthDate,
    c.resident.postalCode,
    c.resident.address,
    c.resident.phone ?? '',
  ];
}

const sjisCache = new Map<string, boolean>();
/** Whether cp932 (Shift_JIS as Windows writes it) holds the character: iconv-lite writes '?' for one it lacks. */
function inSjis(ch: string): boolean {
  let ok = sjisCache.get(ch);
  if (ok === undefined) {
    const bytes = iconv.encode(ch, 'cp932');
    ok = !(bytes.length === 1 && bytes[0] === 0x3f);
    if (sjisCache.size < 10_000) sjisCache.set(ch, ok);
  }
  return ok;
}

/** The text with every character Shift_JIS cannot hold replaced by 〓, and the columns where that happened. */
export function toSjisText(text: string): { text: string; substituted: boolean } {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(text)) return { text, substituted: false };
  let out = '';
  let substituted = false;
  for (const ch of text) {
    if (ch.charCodeAt(0) < 0x80 || inSjis(ch)) out += ch;
    else {
      out += SUBSTITUTE;
      substituted = true;
    }
  }
  return { text: out, substituted };
}

/** The columns of a card's row whose text Shift_JIS cannot hold as is. */
function substitutedColumns(cells: string[]): string[] {
  return COLUMNS.filter(([key], i) => TEXT_COLUMNS.has(key) && toSjisText(cells[i]).substituted).map(([key]) => key);
}

/** What an export holds, for its file name: the filter keys (and values that are codes, never a name). */
export function exportFileName(q: ExportQuery, audience: ExportAudience, now = new Date()): { ascii: string; utf8: string } {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(q)) {
    if (value === undefined || key === 'encoding' || key === 'sort') continue;
    // Names and booking numbers are personal: the file name says they were filtered on, not what they were.
    const shown = key === 'nameKana' || key === 'bookingNumber' ? '' : Array.isArray(value) ? value.join('+') : String(value);
    parts.push(shown ? `${key}-${shown}` : key);
  }
  const filter = (parts.join('_') || 'all').replace(/[^A-Za-z0-9_+-]/g, '').slice(0, 80);
  const stamp = format(new TZDate(now, 'Asia/Tokyo'), 'yyyyMMdd-HHmm');
  const suffix = q.encoding === 'sjis' ? '-sjis' : '';
  return { ascii: `cards-${filter}-${stamp}${suffix}.csv`, utf8: `${audience === 'staff' ? 'カード一覧' : 'cards'}-${filter}-${stamp}${suffix}.csv` };
}

/** `attachment` with a plain ASCII name and its RFC 5987 `filename*` (UTF-8). */
export function contentDisposition(name: { ascii: string; utf8: string }): string {
  const encoded = encodeURIComponent(name.utf8).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${name.ascii}"; filename*=UTF-8''${encoded}`;
}

/** The companion of a Shift_JIS export: the cards whose text was written with 〓, and in which columns (UTF-8). */
export function sendSubstitutionList(res: Response, q: ExportQuery, found: { cardId: string; columns: string[] }[], audience: ExportAudience): void {
  const name = exportFileName(q, audience);
  const staff = audience === 'staff';
  const heading = staff ? ['カード番号', '〓に置き換えた列'] : ['card_id', 'columns'];
  const label = (key: string) => (staff ? (COLUMNS.find(([k]) => k === key)?.[1] ?? key) : key);
  res.setHeader('Content-Type', 'text/csv; charset=UTF-8');
  res.setHeader('Content-Disposition', contentDisposition({ ascii: name.ascii.replace(/\.csv$/, '-substituted.csv'), utf8: name.utf8.replace(/\.csv$/, staff ? '-置換一覧.csv' : '-substituted.csv') }));
  res.send(`\uFEFF${stringify([heading, ...found.map((f) => [f.cardId, f.columns.map(label).join(staff ? '、' : ' ')])], csvOptions)}`);
}

export interface ExportResult {
  count: number;
  /** Card ids whose text had characters Shift_JIS cannot hold (written as 〓). */
  substituted: string[];
}

@Injectable()
export class CardExportService {
  constructor(private readonly cards: CardsRepository) {}

  /** Every page of the result, in order (the filters were validated at the edge). */
  private async *pages(scope: VenueScope, filters: Omit<ExportQuery, 'encoding'>, first?: CardView[], firstCursor?: string | null): AsyncGenerator<CardView[]> {
    let cursor: string | undefined;
    if (first) {
      yield first;
      cursor = firstCursor ?? undefined;
      if (!cursor) return;
    }
    do {
      const page = await this.cards.search(scope, { ...filters, limit: PAGE, cursor });
      yield page.items;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }

  /** The cards of the result whose text Shift_JIS cannot hold, with the columns affected. */
  async substitutions(scope: VenueScope, q: ExportQuery): Promise<{ cardId: string; columns: string[] }[]> {
    const filters: Omit<ExportQuery, 'encoding'> = { ...q };
    delete (filters as Partial<ExportQuery>).encoding;
    const found: { cardId: string; columns: string[] }[] = [];
    for await (const items of this.pages(scope, filters)) {
      for (const c of items) {
        const columns = substitutedColumns(row(c, 'api'));
        if (columns.length) found.push({ cardId: c.cardId, columns });
      }
    }
    return found;
  }

  /**
   * Writes the CSV to `res` one page at a time, waiting for the client. The first page is read
   * before any header is sent, so that an error answers with the error shape rather than a cut file.
   * `onPage` gets each page's card ids before the page is sent (the access log's record).
   */
  async stream(
    scope: VenueScope,
    q: ExportQuery,
    res: Response,
    audience: ExportAudience = 'api',
    onPage?: (cardIds: string[]) => Promise<void>,
  ): Promise<ExportResult> {
    const { encoding, ...filters } = q;
    const sjis = encoding === 'sjis';
    const first = await this.cards.search(scope, { ...filters, limit: PAGE });
    const substituted = sjis ? (await this.substitutions(scope, q)).map((s) => s.cardId) : [];
    res.setHeader('Content-Type', `text/csv; charset=${sjis ? 'Shift_JIS' : 'UTF-8'}`);
    res.setHeader('Content-Disposition', contentDisposition(exportFileName(q, audience)));
    if (sjis) res.setHeader('X-Substituted-Cards', String(substituted.length));
    const closed = once(res, 'close');
    // Shift_JIS as Windows writes it (cp932), with 〓 for what it lacks; UTF-8 with a BOM so that Excel reads it.
    const send = async (text: string) => {
      const ok = res.write(sjis ? iconv.encode(toSjisText(text).text, 'cp932') : text);
      if (!ok) await Promise.race([once(res, 'drain'), closed]);
    };
    const toCsv = (records: string[][]) => stringify(records, csvOptions);
    await send((sjis ? '' : '\uFEFF') + toCsv([COLUMNS.map(([key, label]) => (audience === 'staff' ? label : key))]));
    let count = 0;
    for await (const items of this.pages(scope, filters, first.items, first.nextCursor)) {
      if (items.length > 0) await onPage?.(items.map((c) => c.cardId));
      if (items.length > 0) await send(toCsv(items.map((c) => row(c, audience))));
      count += items.length;
      if (res.destroyed) break;
    }
    res.end();
    return { count, substituted };
  }
}
