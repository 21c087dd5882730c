/**
 * The integrity check of a hand-over import: the old records (as each row was read at the
 * import: the old status code, the mapped state, route, venue, booking number, whether it was
 * booked, and a digest of the resident's data) against the system now (the read model and the
 * residents), row by row and in totals per state, venue, route and with or without a booking.
 * Every difference is listed; the report goes out as CSV and as an A4 PDF the ward signs.
 * No resident data is written: a resident difference says which card, not what.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { stringify } from 'csv-stringify/sync';
import { csvOptions } from '../common/csv-cell.js';
import type { WardConfig } from '../config/ward-config.js';
import { reportDocument, renderReportPdf } from '../printing/report-pdf.js';
import { ROUTE_LABELS, type Route, STATE_LABELS, type CardStateName } from '../../workflows/card-state-machine.js';
import type { Expected } from './migration.service.js';
import { residentDigest } from './migration.service.js';
import { FIELD_LABELS } from './parser.js';

export interface RowCheck {
  row: number;
  cardId: string | null;
  /** 一致, or what differs. */
  outcome: 'match' | 'differs' | 'refused' | 'pending';
  differences: Difference[];
}

export interface Difference {
  row: number;
  cardId: string | null;
  item: string;
  old: string;
  now: string;
}

export interface TotalLine {
  dimension: string;
  key: string;
  old: number;
  now: number;
}

export interface IntegrityReport {
  runId: string;
  vendor: string;
  fileName: string;
  checkedAt: string;
  rows: RowCheck[];
  differences: Difference[];
  totals: TotalLine[];
  matching: number;
}

const stateLabel = (s: string) => STATE_LABELS[s as CardStateName] ?? s;
const routeLabel = (r: string) => ROUTE_LABELS[r as Route] ?? r;
const UNREAD = '（取り込めなかった行）';

interface CardNow {
  card_id: string;
  state: string;
  route: string;
  venue_id: string | null;
  booking_number: string | null;
  booked: boolean;
  name: string;
  name_kana: string;
  birth_date: string;
  postal_code: string;
  address: string;
  phone: string | null;
}

/** Checks one run's rows against the system as it is now. */
export async function checkIntegrity(em: EntityManager, ward: WardConfig, runId: string): Promise<IntegrityReport> {
  const db = em.fork();
  const [run] = await db.execute<{ vendor: string; file_name: string }[]>(`select vendor, file_name from migration_run where id = ?`, [runId]);
  if (!run) throw new Error(`no migration run ${runId}`);
  const rows = await db.execute<{ row_no: number; card_id: string | null; outcome: string; field: string | null; reason: string | null; expected: Expected | null }[]>(
    `select row_no, card_id, outcome, field, reason, expected from migration_row where run_id = ? order by row_no`,
    [runId],
  );
  const ids = rows.filter((r) => r.card_id && (r.outcome === 'imported' || r.outcome === 'existed')).map((r) => r.card_id!);
  const now = new Map<string, CardNow>();
  for (let i = 0; i < ids.length; i += 5000) {
    const part = ids.slice(i, i + 5000);
    for (const c of await db.execute<CardNow[]>(
      `select c.card_id, c.state, c.route, c.venue_id, c.booking_number,
              exists (select 1 from booking b where b.card_id = c.card_id and b.status = 'booked') or (c.state = 'reserved' and c.snapshot->'booking' is not null) as booked,
              r.name, r.name_kana, to_char(r.birth_date, 'YYYY-MM-DD') as birth_date, r.postal_code, r.address, r.phone
         from card c join card_resident r on r.card_id = c.card_id where c.card_id = any(?::text[])`,
      [`{${part.join(',')}}`],
    )) {
      now.set(c.card_id, c);
    }
  }
  const venueName = (id: string | null) => (id ? (ward.venues.find((v) => v.id === id)?.name ?? id) : '—');
  const checks: RowCheck[] = [];
  const totals = new Map<string, TotalLine>();
  const count = (dimension: string, key: string, side: 'old' | 'now') => {
    const k = `${dimension}\u0000${key}`;
    const line = totals.get(k) ?? { dimension, key, old: 0, now: 0 };
    line[side]++;
    totals.set(k, line);
  };
  for (const r of rows) {
    const row = Number(r.row_no);
    const e = r.expected;
    if (e) {
      count('状態', stateLabel(e.state), 'old');
      count('会場', venueName(e.venueId), 'old');
      count('交付方式', routeLabel(e.route), 'old');
      count('予約', e.booked ? '予約あり' : '予約なし', 'old');
    } else {
      for (const d of ['状態', '会場', '交付方式', '予約']) count(d, UNREAD, 'old');
    }
    const diff = (item: string, old: string, nowValue: string): Difference => ({ row, cardId: r.card_id, item, old, now: nowValue });
    if (r.outcome === 'refused') {
      const field = r.field ? (FIELD_LABELS[r.field as keyof typeof FIELD_LABELS] ?? r.field) : '行';
      checks.push({ row, cardId: r.card_id, outcome: 'refused', differences: [diff('取り込み', `取り込まず（${field}: ${r.reason ?? ''}）`, 'カードなし')] });
      continue;
    }
    if (r.outcome === 'pending') {
      checks.push({ row, cardId: r.card_id, outcome: 'pending', differences: [diff('取り込み', '取り込み中', '未完了')] });
      continue;
    }
    const c = r.card_id ? now.get(r.card_id) : undefined;
    if (!c || !e) {
      checks.push({ row, cardId: r.card_id, outcome: 'differs', differences: [diff('カード', '取り込み済み', 'カードが読めません')] });
      continue;
    }
    count('状態', stateLabel(c.state), 'now');
    count('会場', venueName(c.venue_id), 'now');
    count('交付方式', routeLabel(c.route), 'now');
    count('予約', c.booked ? '予約あり' : '予約なし', 'now');
    const differences: Difference[] = [];
    if (c.state !== e.state) differences.push(diff('状態', `${stateLabel(e.state)}（旧コード ${e.oldStatus}）`, stateLabel(c.state)));
    if (c.route !== e.route) differences.push(diff('交付方式', routeLabel(e.route), routeLabel(c.route)));
    if (c.venue_id !== e.venueId) differences.push(diff('会場', venueName(e.venueId), venueName(c.venue_id)));
    if (e.bookingNumber && c.booking_number !== e.bookingNumber) differences.push(diff('予約番号', e.bookingNumber, c.booking_number ?? '—'));
    if (c.booked !== e.booked) differences.push(diff('予約', e.booked ? '予約あり' : '予約なし', c.booked ? '予約あり' : '予約なし'));
    const digest = residentDigest({ name: c.name, nameKana: c.name_kana, birthDate: c.birth_date, postalCode: c.postal_code, address: c.address, phone: c.phone });
    if (digest !== e.resident) differences.push(diff('住民データ', '移行時の氏名・生年月日・住所・電話', '移行後に変わっています（内容はカード画面で確認）'));
    checks.push({ row, cardId: r.card_id, outcome: differences.length ? 'differs' : 'match', differences });
  }
  const order = ['状態', '会場', '交付方式', '予約'];
  return {
    runId,
    vendor: run.vendor,
    fileName: run.file_name,
    checkedAt: new Date().toISOString(),
    rows: checks,
    differences: checks.flatMap((c) => c.differences),
    totals: [...totals.values()].sort((a, b) => order.indexOf(a.dimension) - order.indexOf(b.dimension) || a.key.localeCompare(b.key, 'ja')),
    matching: checks.filter((c) => c.outcome === 'match').length,
  };
}

const OUTCOME_LABELS = { match: '一致', differs: '相違あり', refused: '取り込まず', pending: '未完了' } as const;

/** The report as CSV: the totals (old, now, difference), then every row with each of its differences. */
export function integrityCsv(r: IntegrityReport): string {
  const lines: (string | number)[][] = [['区分', '項目', '行', 'カード番号', '旧', '新', '差']];
  for (const t of r.totals) lines.push([`集計（${t.dimension}）`, t.key, '', '', t.old, t.now, t.now - t.old]);
  for (const c of r.rows) {
    if (c.differences.length === 0) lines.push(['行', OUTCOME_LABELS[c.outcome], c.row, c.cardId ?? '', '', '', '']);
    for (const d of c.differences) lines.push(['行', `${OUTCOME_LABELS[c.outcome]}: ${d.item}`, c.row, c.cardId ?? '', d.old, d.now, '']);
  }
  return stringify(lines, csvOptions);
}

const tokyo = (iso: string) => new Date(Date.parse(iso) + 9 * 3600_000).toISOString().slice(0, 16).replace('T', ' ');

/** Rows listed one by one in the PDF up to this many (the CSV always lists every row). */
export const PDF_ROW_LIMIT = 3000;

/** The report as an A4 PDF (the ward signs it). */
export async function integrityPdf(r: IntegrityReport, outFile: string): Promise<{ file: string; sha256: string; pages: number }> {
  const dims = ['状態', '会場', '交付方式', '予約'];
  const doc = reportDocument({
    title: '移行データ照合報告書',
    subtitle: `${r.vendor} からの引継ぎデータと本システムの照合`,
    meta: [
      { label: '移行データ', value: r.fileName },
      { label: '取り込み番号', value: r.runId },
      { label: '照合日時', value: `${tokyo(r.checkedAt)}（日本時間）` },
      { label: '行数', value: r.rows.length },
      { label: '一致', value: r.matching },
      { label: '相違', value: r.differences.length },
    ],
    sections: [
      ...dims.map((d) => ({
        heading: `集計: ${d}別`,
        columns: [d, { label: '旧', right: true }, { label: '新', right: true }, { label: '差', right: true }],
        rows: r.totals.filter((t) => t.dimension === d).map((t) => [t.key, t.old, t.now, t.now - t.old]),
      })),
      {
        heading: `相違の一覧（${r.differences.length}件）`,
        columns: [{ label: '行', right: true }, 'カード番号', '項目', '旧', '新'],
        rows: r.differences.map((d) => [d.row, d.cardId ?? '—', d.item, d.old, d.now]),
      },
      {
        heading: '行ごとの照合',
        note: r.rows.length > PDF_ROW_LIMIT ? `最初の${PDF_ROW_LIMIT}行を載せています。全行はCSVにあります。` : '',
        columns: [{ label: '行', right: true }, 'カード番号', '結果'],
        rows: r.rows.slice(0, PDF_ROW_LIMIT).map((c) => [c.row, c.cardId ?? '—', OUTCOME_LABELS[c.outcome]]),
      },
    ],
    signatures: ['区 確認者', '前事業者', '受託者'],
    footnote: '旧は前事業者の出力データ（取り込み時の読み取り結果）、新は照合日時の本システムの記録です。住民データは内容を載せず、相違の有無だけを示します。',
  });
  return renderReportPdf('report', doc, outFile);
}
