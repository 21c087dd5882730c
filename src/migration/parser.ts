/**
 * Reads the previous vendor's export through its mapping: decodes it (CP932/Shift_JIS or
 * UTF-8, with the line ends the mapping names), parses it with csv-parse, and turns every data row
 * into a record ready to import, or a refusal naming the field and the reason. Pure: the checks
 * that need the database (a card or booking number already known, a slot to claim) are the
 * service's. A row holding an individual number anywhere is refused first, and the number is never
 * part of the answer (not even the card id of that row).
 */
import iconv from 'iconv-lite';
import jaconvModule from 'jaconv';
import { parse } from 'csv-parse/sync';
import { containsMyNumber } from '../common/my-number.js';
import type { EraTable } from '../printing/japanese-era.js';
import { residentSchema } from '../cards/card.dto.js';
import type { CardAction, CardStateName, Route } from '../../workflows/card-state-machine.js';
import { parseLegacyDate } from './dates.js';
import { type GaijiTable, type HandwritingItem, applyGaiji } from './gaiji.js';
import { type ColumnRef, DATE_FIELDS, type DateField, type Field, type Mapping } from './mapping.js';

type Jaconv = (typeof jaconvModule)['default'];
const jaconv: Jaconv = (jaconvModule as unknown as { default?: Jaconv }).default ?? (jaconvModule as unknown as Jaconv);

/** The largest export read (the hand-over's 17,000 rows are a few MB). */
export const MAX_EXPORT_BYTES = 64 * 1024 * 1024;
export const MAX_EXPORT_ROWS = 200_000;

/** Japanese names of the fields, as the dry run reports them. */
export const FIELD_LABELS: Record<Field | 'row', string> = {
  row: '行',
  cardId: 'カード番号',
  name: '氏名',
  nameKana: '氏名カナ',
  birthDate: '生年月日',
  postalCode: '郵便番号',
  address: '住所',
  status: '状態コード',
  route: '交付方式コード',
  venue: '会場コード',
  sex: '性別コード',
  phone: '電話番号',
  receivedOn: '受領日',
  noticeMailedOn: '通知書発送日',
  renoticedOn: '再通知発送日',
  issuedOn: '交付日',
  expiresOn: '有効期限',
  bookingNumber: '予約番号',
  bookingDate: '予約日',
  bookingTime: '予約時刻',
};

export interface LegacyRecord {
  /** The data row (1 = the first row after the header). */
  row: number;
  cardId: string;
  route: Route;
  venueId: string;
  state: CardStateName;
  oldStatus: string;
  implies: CardAction[];
  resident: { name: string; nameKana: string; birthDate: string; postalCode: string; address: string; phone?: string; nameCategory: 'legal' };
  sex?: string;
  /** Card dates, ISO. */
  dates: Partial<Record<Exclude<DateField, 'birthDate' | 'bookingDate'>, string>>;
  /** The card dates as the export wrote them, by field (the birth date is personal data: not kept here). */
  oldDates: Record<string, string>;
  bookingNumber?: string;
  /** The booked slot's start (ISO instant) when the export holds a booking date and time. */
  bookingStartsAt?: string;
  handwriting: HandwritingItem[];
}

export type RowOutcome =
  | { row: number; cardId: string; ok: true; record: LegacyRecord }
  | { row: number; cardId?: string; ok: false; field: Field | 'row'; reason: string };

export interface ParseReport {
  vendor: string;
  fileErrors: string[];
  rows: RowOutcome[];
}

/** Why a row is refused: the field it names and the reason, in Japanese. */
export class RowRefusal extends Error {
  constructor(
    readonly field: Field | 'row',
    readonly reason: string,
  ) {
    super(reason);
  }
}

export const MY_NUMBER_REASON = '個人番号と思われる12桁の番号が含まれています。この行は取り込まず、値は保存も表示もしません';

/** Which states each route's cards can be in. */
const ROUTE_STATES: Record<'pickup' | 'mailed' | 'express', readonly CardStateName[]> = {
  pickup: ['received', 'inspected', 'shipped_to_venue', 'at_venue', 'notice_mailed', 'notice_returned', 'reserved', 'no_show', 'documents_missing', 'issued', 'on_hold', 'removed', 'renotice_approved', 'renoticed', 'expired', 'discarded'],
  mailed: ['received', 'inspected', 'handed_to_ward', 'mailed_by_ward', 'delivered', 'on_hold', 'removed', 'expired', 'discarded'],
  express: ['received', 'mailed_by_jlis', 'delivered', 'on_hold', 'removed', 'expired', 'discarded'],
};
const routeStates = (r: Route) => ROUTE_STATES[r === 'pickup' ? 'pickup' : r === 'express' ? 'express' : 'mailed'];

/** Text as stored: half-width kana to full-width, NFC, trimmed. */
export function normaliseText(s: string): string {
  return jaconv.toZenKana(s).normalize('NFC').trim();
}

/** Decodes the export as its mapping says; answers the text or why it cannot. */
export function decodeExport(bytes: Uint8Array, mapping: Mapping): { text: string } | { error: string } {
  if (bytes.length > MAX_EXPORT_BYTES) return { error: `ファイルが大きすぎます（${MAX_EXPORT_BYTES / 1024 / 1024} MBまで）` };
  let text: string;
  if (mapping.encoding === 'utf-8') {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes).replace(/^\uFEFF/, '');
    } catch {
      return { error: 'マッピングはUTF-8ですが、ファイルはUTF-8として読めません（Shift_JISではありませんか）' };
    }
  } else {
    text = iconv.decode(Buffer.from(bytes), 'cp932');
  }
  const crlf = (text.match(/\r\n/g) ?? []).length;
  const lf = (text.match(/\n/g) ?? []).length - crlf;
  if (mapping.lineEnding === 'crlf' && lf > 0 && crlf === 0) return { error: 'マッピングの改行コードはCRLFですが、ファイルはLFです' };
  if (mapping.lineEnding === 'lf' && crlf > 0 && lf === 0) return { error: 'マッピングの改行コードはLFですが、ファイルはCRLFです' };
  return { text };
}

/** The booked slot's start from a date and a time (HH:MM or HHMM) in Asia/Tokyo. */
function slotStart(dateIso: string, time: string): string | undefined {
  const m = /^(\d{1,2}):?(\d{2})$/.exec(time.normalize('NFKC').trim());
  if (!m || Number(m[1]) > 23 || Number(m[2]) > 59) return undefined;
  return new Date(`${dateIso}T${m[1].padStart(2, '0')}:${m[2]}:00+09:00`).toISOString();
}

export interface ParseContext {
  mapping: Mapping;
  gaiji: GaijiTable;
  eras: EraTable;
  venueForPostalCode(postalCode: string): string | undefined;
  venueIds: readonly string[];
}

/** Parses the whole export: every data row has an outcome, or the file has errors and no rows. */
export function parseExport(bytes: Uint8Array, ctx: ParseContext): ParseReport {
  const { mapping } = ctx;
  const report: ParseReport = { vendor: mapping.vendor, fileErrors: [], rows: [] };
  const decoded = decodeExport(bytes, mapping);
  if ('error' in decoded) {
    report.fileErrors.push(decoded.error);
    return report;
  }
  let records: string[][];
  try {
    records = parse(decoded.text, {
      delimiter: mapping.delimiter,
      record_delimiter: mapping.lineEnding === 'crlf' ? '\r\n' : '\n',
      relax_column_count: true,
      skip_empty_lines: true,
      bom: true,
      to: MAX_EXPORT_ROWS + 2,
    });
  } catch (e) {
    report.fileErrors.push(`CSVとして読めません: ${(e as Error).message.slice(0, 200)}`);
    return report;
  }
  const header = mapping.header ? (records.shift() ?? []).map((h) => h.normalize('NFC').trim()) : [];
  if (records.length > MAX_EXPORT_ROWS) {
    report.fileErrors.push(`行が多すぎます（${MAX_EXPORT_ROWS.toLocaleString('ja-JP')}行まで）。ファイルを分けてください`);
    return report;
  }
  const index = (ref: ColumnRef, field: string): number => {
    if (typeof ref === 'number') return ref - 1;
    const i = header.indexOf(ref.normalize('NFC'));
    if (i < 0) report.fileErrors.push(`列「${ref}」（${FIELD_LABELS[field as Field] ?? field}）が見出し行にありません`);
    return i;
  };
  const columns = new Map<Field, number[]>();
  for (const [field, ref] of Object.entries(mapping.columns) as [Field, ColumnRef | [ColumnRef, ColumnRef] | undefined][]) {
    if (ref === undefined) continue;
    columns.set(field, (Array.isArray(ref) ? ref : [ref]).map((r) => index(r, field)));
  }
  if (report.fileErrors.length) return report;

  const seenCards = new Map<string, number>();
  const seenNumbers = new Map<string, number>();
  records.forEach((cells, i) => {
    const row = i + 1;
    report.rows.push(parseRow(row, cells, columns, ctx, seenCards, seenNumbers));
  });
  return report;
}

function parseRow(
  row: number,
  cells: string[],
  columns: Map<Field, number[]>,
  ctx: ParseContext,
  seenCards: Map<string, number>,
  seenNumbers: Map<string, number>,
): RowOutcome {
  // An individual number anywhere in the row (mapped or not): refused before anything is read,
  // and nothing of the row (not even its card id) is reported.
  const holder = cells.findIndex((c) => containsMyNumber(c));
  if (holder >= 0) {
    const field = [...columns.entries()].find(([, ix]) => ix.includes(holder))?.[0] ?? 'row';
    return { row, ok: false, field, reason: MY_NUMBER_REASON };
  }
  const raw = (f: Field): string | undefined => {
    const ix = columns.get(f);
    if (!ix) return undefined;
    const parts = ix.map((n) => (cells[n] ?? '').trim()).filter((s) => s.length > 0);
    return parts.length ? parts.join('\u3000') : '';
  };
  const cardIdRaw = normaliseText(raw('cardId') ?? '').normalize('NFKC');
  const cardId = /^[A-Za-z0-9][A-Za-z0-9-]{0,31}$/.test(cardIdRaw) ? cardIdRaw : undefined;
  try {
    const bad = cells.findIndex((c) => c.includes('\uFFFD'));
    if (bad >= 0) {
      const field = [...columns.entries()].find(([, ix]) => ix.includes(bad))?.[0] ?? 'row';
      throw new RowRefusal(field, `${bad + 1}列目に文字として読めないバイトがあります（文字化け）`);
    }
    if (!cardIdRaw) throw new RowRefusal('cardId', 'カード番号がありません');
    if (!cardId) throw new RowRefusal('cardId', 'カード番号は英数字とハイフン32文字までです');
    const first = seenCards.get(cardId);
    if (first !== undefined) throw new RowRefusal('cardId', `カード番号が${first}行目と重複しています`);
    seenCards.set(cardId, row);

    const handwriting: HandwritingItem[] = [];
    const text = (f: Field, required: string | undefined): string | undefined => {
      const v = normaliseText(raw(f) ?? '');
      if (!v) {
        if (required) throw new RowRefusal(f, required);
        return undefined;
      }
      const g = applyGaiji(v, f, ctx.gaiji);
      handwriting.push(...g.items);
      return g.text;
    };
    const name = text('name', '氏名がありません')!;
    const kanaText = normaliseText(raw('nameKana') ?? '');
    if (!kanaText) throw new RowRefusal('nameKana', '氏名カナがありません');
    const nameKana = jaconv.toKatakana(kanaText.normalize('NFKC'));
    const date = (f: DateField, required?: string): string | undefined => {
      const v = (raw(f) ?? '').trim();
      if (!v) {
        if (required) throw new RowRefusal(f, required);
        return undefined;
      }
      const r = parseLegacyDate(v, ctx.mapping.dates[f]!, ctx.eras);
      if (!r.ok) throw new RowRefusal(f, `日付が正しくありません: ${r.reason}`);
      return r.iso;
    };
    const birthDate = date('birthDate', '生年月日がありません')!;
    const postalRaw = (raw('postalCode') ?? '').normalize('NFKC').replace(/[-ー−‐〒\s]/g, '');
    if (!postalRaw) throw new RowRefusal('postalCode', '郵便番号がありません');
    if (!/^\d{7}$/.test(postalRaw)) throw new RowRefusal('postalCode', '郵便番号は7桁の数字です');
    const postalCode = `${postalRaw.slice(0, 3)}-${postalRaw.slice(3)}`;
    const allocated = ctx.venueForPostalCode(postalCode);
    if (!allocated) throw new RowRefusal('postalCode', `区外の住所です（郵便番号 ${postalCode} は区の割当表にありません）`);
    const address = text('address', '住所がありません')!;

    const code = (f: 'status' | 'route' | 'venue' | 'sex'): string | undefined => {
      const v = (raw(f) ?? '').normalize('NFKC').trim();
      return v === '' ? undefined : v;
    };
    const oldStatus = code('status');
    if (!oldStatus) throw new RowRefusal('status', '状態コードがありません');
    const status = Object.hasOwn(ctx.mapping.codes.status, oldStatus) ? ctx.mapping.codes.status[oldStatus] : undefined;
    if (!status) throw new RowRefusal('status', `不明な状態コード「${oldStatus}」です（マッピングにありません）`);
    let route: Route = ctx.mapping.defaultRoute;
    if (columns.has('route')) {
      const c = code('route');
      const mapped = c !== undefined && ctx.mapping.codes.route && Object.hasOwn(ctx.mapping.codes.route, c) ? ctx.mapping.codes.route[c] : undefined;
      if (!mapped) throw new RowRefusal('route', c === undefined ? '交付方式コードがありません' : `不明な交付方式コード「${c}」です`);
      route = mapped;
    }
    let venueId = allocated;
    if (columns.has('venue')) {
      const c = code('venue');
      if (c !== undefined) {
        const mapped = ctx.mapping.codes.venue && Object.hasOwn(ctx.mapping.codes.venue, c) ? ctx.mapping.codes.venue[c] : undefined;
        if (!mapped) throw new RowRefusal('venue', `不明な会場コード「${c}」です`);
        if (!ctx.venueIds.includes(mapped)) throw new RowRefusal('venue', `会場コード「${c}」の行き先「${mapped}」は区の会場ではありません`);
        venueId = mapped;
      }
    }
    let sex: string | undefined;
    if (columns.has('sex')) {
      const c = code('sex');
      const mapped = c !== undefined && ctx.mapping.codes.sex && Object.hasOwn(ctx.mapping.codes.sex, c) ? ctx.mapping.codes.sex[c] : undefined;
      if (!mapped) throw new RowRefusal('sex', c === undefined ? '性別コードがありません' : `不明な性別コード「${c}」です`);
      sex = mapped;
    }
    if (!routeStates(route).includes(status.state)) throw new RowRefusal('status', `状態コード「${oldStatus}」（${status.state}）はこの交付方式（${route}）のカードにはありえません`);

    const phoneRaw = (raw('phone') ?? '').normalize('NFKC').trim();
    const phone = phoneRaw === '' ? undefined : phoneRaw;

    const dates: LegacyRecord['dates'] = {};
    const oldDates: Record<string, string> = {};
    for (const f of DATE_FIELDS) {
      if (f === 'birthDate' || !columns.has(f)) continue;
      const v = (raw(f) ?? '').trim();
      if (v) oldDates[f] = v;
      const iso = date(f);
      if (iso && f !== 'bookingDate') dates[f] = iso;
    }
    if (status.state === 'issued' && !dates.issuedOn) throw new RowRefusal('issuedOn', '交付済のカードに交付日がありません');

    let bookingNumber: string | undefined;
    const numberRaw = (raw('bookingNumber') ?? '').normalize('NFKC').replace(/[\s-]/g, '').toUpperCase();
    if (numberRaw) {
      if (!/^[0-9A-Z]{1,20}$/.test(numberRaw)) throw new RowRefusal('bookingNumber', '予約番号は英数字20文字までです');
      const seen = seenNumbers.get(numberRaw);
      if (seen !== undefined) throw new RowRefusal('bookingNumber', `予約番号が${seen}行目と重複しています`);
      seenNumbers.set(numberRaw, row);
      bookingNumber = numberRaw;
    }
    let bookingStartsAt: string | undefined;
    const bookingDate = date('bookingDate');
    if (bookingDate) {
      const time = (raw('bookingTime') ?? '').trim();
      bookingStartsAt = slotStart(bookingDate, time);
      if (!bookingStartsAt) throw new RowRefusal('bookingTime', time ? `予約時刻「${time}」は時刻（例 10:30）ではありません` : '予約時刻がありません');
    }
    if (status.state === 'reserved') {
      if (!bookingNumber) throw new RowRefusal('bookingNumber', '予約済のカードに予約番号がありません');
      if (!bookingStartsAt) throw new RowRefusal('bookingDate', '予約済のカードに予約日がありません');
    }

    const resident = { name, nameKana, birthDate, postalCode, address, phone, nameCategory: 'legal' as const };
    const checked = residentSchema.safeParse(resident);
    if (!checked.success) {
      const issue = checked.error.issues[0];
      const f = String(issue.path[0]) as Field;
      throw new RowRefusal(Object.hasOwn(FIELD_LABELS, f) ? f : 'row', `${FIELD_LABELS[f] ?? f}が正しくありません（${issue.message}）`);
    }
    return {
      row,
      cardId,
      ok: true,
      record: { row, cardId, route, venueId, state: status.state, oldStatus, implies: status.implies, resident, sex, dates, oldDates, bookingNumber, bookingStartsAt, handwriting },
    };
  } catch (e) {
    if (!(e instanceof RowRefusal)) throw e;
    return { row, cardId, ok: false, field: e.field, reason: e.reason };
  }
}
