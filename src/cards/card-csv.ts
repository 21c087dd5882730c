/**
 * Card registration input from the pages (R-2.3): the form's fields and the CSV columns are one list,
 * so that both are read, normalised and validated the same way. Pure: no database, no HTTP.
 */
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import iconv from 'iconv-lite';
import { ROUTES, ROUTE_LABELS } from '../../workflows/card-state-machine.js';
import { EXPIRY_MAX, EXPIRY_MIN, TEXT_MESSAGES } from '../../workflows/text-rules.js';
import { csvOptions } from '../common/csv-cell.js';
import { containsMyNumber } from '../common/my-number.js';
import { zodFieldErrors } from '../common/zod-validation.js';
import { type CardInput, cardInputSchema } from './card.dto.js';

export const MAX_CSV_BYTES = 5 * 1024 * 1024;
export const MAX_CSV_ROWS = 10_000;

export const NAME_CATEGORY_LABELS = { legal: '住民票の氏名', alphabet: 'ローマ字氏名', common: '通称名' } as const;

export interface CardColumn {
  /** The CSV column name and the form field name. */
  key: string;
  /** The field's path in cardInputSchema, as zodFieldErrors names it. */
  path: string;
  label: string;
  required: boolean;
  kind: 'text' | 'date' | 'route' | 'nameCategory';
  /** Shown under the form's input. */
  hint: string;
  /** Shown in the CSV column table, where it differs from the form's hint. */
  csvHint?: string;
  /** What a valid value looks like, shown when the value is wrong (never the value itself). */
  message: string;
  example: string;
  /** Folded with NFKC first: staff type full-width digits and letters in these. */
  fold?: boolean;
}

const DATE_MESSAGE = '正しい日付を YYYY-MM-DD の形で入力してください（例: 1980-04-01）';

export const CARD_COLUMNS: readonly CardColumn[] = [
  { key: 'card_id', path: 'cardId', label: 'カード番号', required: true, kind: 'text', fold: true, hint: '英数字とハイフン（-）で32文字まで。', message: '英数字とハイフンで32文字までにしてください（先頭は英数字）', example: 'K0000001' },
  {
    key: 'route',
    path: 'route',
    label: '交付方式',
    required: true,
    kind: 'route',
    fold: true,
    hint: '',
    csvHint: `${ROUTES.map((r) => `${r}（${ROUTE_LABELS[r]}）`).join('、')}。日本語の名称も使えます。`,
    message: '交付方式の値が正しくありません',
    example: 'pickup',
  },
  { key: 'name', path: 'resident.name', label: '氏名', required: true, kind: 'text', hint: '住民票の氏名。200文字まで。', message: '200文字までで入力してください', example: '江東 太郎' },
  { key: 'name_kana', path: 'resident.nameKana', label: '氏名（カナ）', required: true, kind: 'text', hint: '全角カタカナ。姓と名の間は空白。半角カナは全角に直します。', message: 'カタカナで入力してください（200文字まで）', example: 'コウトウ タロウ' },
  { key: 'birth_date', path: 'resident.birthDate', label: '生年月日', required: true, kind: 'date', fold: true, hint: '例: 1980-04-01', csvHint: 'YYYY-MM-DD。1980/4/1 の形も使えます。', message: DATE_MESSAGE, example: '1980-04-01' },
  { key: 'postal_code', path: 'resident.postalCode', label: '郵便番号', required: true, kind: 'text', fold: true, hint: '7桁、ハイフンは任意。交付会場はこの郵便番号で決まります。', message: '7桁の郵便番号を入力してください（例: 135-0016）', example: '135-0016' },
  { key: 'address', path: 'resident.address', label: '住所', required: true, kind: 'text', hint: '400文字まで。', message: '400文字までで入力してください', example: '江東区東陽4-11-28' },
  { key: 'alphabet_name', path: 'resident.alphabetName', label: 'ローマ字氏名', required: false, kind: 'text', hint: '外国籍の方など。200文字まで。', message: '200文字までで入力してください', example: 'KOTO TARO' },
  { key: 'common_name', path: 'resident.commonName', label: '通称名', required: false, kind: 'text', hint: '住民票に記載された通称。200文字まで。', message: '200文字までで入力してください', example: '' },
  {
    key: 'name_category',
    path: 'resident.nameCategory',
    label: '券面に記載する氏名',
    required: false,
    kind: 'nameCategory',
    fold: true,
    hint: '外国籍の方で、ローマ字氏名または通称名を券面に記載する場合に選びます。',
    csvHint: `${Object.entries(NAME_CATEGORY_LABELS).map(([k, v]) => `${k}（${v}）`).join('、')}。日本語の名称も使えます。空欄は legal。`,
    message: '券面に記載する氏名の値が正しくありません',
    example: 'legal',
  },
  { key: 'phone', path: 'resident.phone', label: '電話番号', required: false, kind: 'text', fold: true, hint: '数字・ハイフン・括弧・+ で6〜20文字。', message: '電話番号は数字・ハイフン・括弧・+ で6〜20文字にしてください', example: '03-3647-9111' },
  { key: 'nationality', path: 'resident.nationality', label: '国籍・地域', required: false, kind: 'text', hint: '外国籍の方。60文字まで。', message: '60文字までで入力してください', example: '' },
  { key: 'residence_period_end', path: 'resident.residencePeriodEnd', label: '在留期間満了日', required: false, kind: 'date', fold: true, hint: 'カードの有効期限より早ければ、この日で期限を判断します。', csvHint: 'YYYY-MM-DD。カードの有効期限より早ければ、この日で期限を判断します。', message: DATE_MESSAGE, example: '' },
  { key: 'card_expires_on', path: 'cardExpiresOn', label: 'カードの有効期限', required: false, kind: 'date', fold: true, hint: 'カードに記載の有効期限。', csvHint: 'YYYY-MM-DD。', message: DATE_MESSAGE, example: '2036-04-01' },
];

const COLUMN_BY_KEY = new Map(CARD_COLUMNS.map((c) => [c.key, c]));
const COLUMN_BY_PATH = new Map(CARD_COLUMNS.map((c) => [c.path, c]));

/** Column key → the text given (trimmed; '' when empty). */
export type CardRecord = Record<string, string>;

export interface FieldProblem {
  /** The column key, or '' for the row as a whole. */
  column: string;
  label: string;
  message: string;
}

/** Japanese for the shared text rules' messages (workflows/text-rules.ts), whatever the field. */
const TEXT_MESSAGES_JA: Record<string, string> = {
  [TEXT_MESSAGES.control]: '制御文字（改行・タブなど）は使えません',
  [TEXT_MESSAGES.format]: '文字の向きを変える記号や幅のない文字など、見えない書式文字は使えません',
  [TEXT_MESSAGES.invisible]: '見える文字がありません。空白や見えない文字だけの値は使えません',
};

/** A date outside its range: birth dates up to today, expiry dates within decades. */
const DATE_RANGE_MESSAGE: Record<string, string> = {
  'resident.birthDate': '生年月日は1900-01-01から今日までの日付にしてください（未来の日付は使えません）',
  'resident.residencePeriodEnd': `在留期間満了日は${EXPIRY_MIN}から${EXPIRY_MAX}までの日付にしてください`,
  cardExpiresOn: `カードの有効期限は${EXPIRY_MIN}から${EXPIRY_MAX}までの日付にしてください`,
};

/** A cell whose bytes were not text in the file's encoding (decoded as U+FFFD). */
export const BAD_BYTES_MESSAGE = '文字として読めないバイトが含まれています（文字化け）。ファイルを UTF-8 か Shift_JIS で保存し直してください';

export const outsideWardMessage = (postalCode: string) =>
  `郵便番号 ${postalCode} は区の交付会場の割り当て（町名・郵便番号表）にありません。区内の住所か確かめてください`;

export const MY_NUMBER_MESSAGE = '個人番号と思われる12桁の数字が含まれています。個人番号は登録できません（値は表示しません）';

/** The form's body, or a CSV row, as a record of every column ('' for anything missing or not text). */
export function toRecord(source: Record<string, unknown> | undefined): CardRecord {
  return Object.fromEntries(CARD_COLUMNS.map((c) => [c.key, typeof source?.[c.key] === 'string' ? (source[c.key] as string).trim() : '']));
}

const DATE_LIKE = /^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$/;
const ROUTE_BY_LABEL = new Map<string, string>(ROUTES.map((r) => [ROUTE_LABELS[r], r]));
const CATEGORY_BY_LABEL = new Map<string, string>(Object.entries(NAME_CATEGORY_LABELS).map(([k, v]) => [v, k]));

function normalise(column: CardColumn, raw: string): string {
  let value = column.fold ? raw.normalize('NFKC').trim() : raw;
  if (column.kind === 'date') {
    // Spreadsheets write 1980/4/1; the schema reads ISO dates.
    const m = DATE_LIKE.exec(value);
    if (m) value = `${m[1]}-${m[2].padStart(2, '0')}-${m[3].padStart(2, '0')}`;
  } else if (column.kind === 'route') {
    value = ROUTE_BY_LABEL.get(value) ?? value.toLowerCase();
  } else if (column.kind === 'nameCategory') {
    value = CATEGORY_BY_LABEL.get(value) ?? value.toLowerCase();
  }
  return value;
}

/** The object cardInputSchema reads: an empty optional field means absent. */
export function toCandidate(record: CardRecord): Record<string, unknown> {
  const card: Record<string, unknown> = {};
  const resident: Record<string, unknown> = {};
  for (const column of CARD_COLUMNS) {
    const value = normalise(column, record[column.key] ?? '');
    if (value === '' && !column.required) continue;
    const [head, tail] = column.path.split('.');
    if (tail) resident[tail] = value;
    else card[head] = value;
  }
  return { ...card, resident };
}

export type CheckedRecord = { input: CardInput; problems: [] } | { input?: undefined; problems: FieldProblem[] };

/**
 * Validates one record against cardInputSchema, with a Japanese message per bad field. A field
 * holding an individual number is named, and its value is never repeated (R-10.2).
 */
export function checkRecord(record: CardRecord, venueFor?: (postalCode: string) => string | undefined): CheckedRecord {
  const problems: FieldProblem[] = [];
  const refused = new Set<string>();
  for (const column of CARD_COLUMNS) {
    if (containsMyNumber(record[column.key] ?? '')) {
      refused.add(column.key);
      problems.push({ column: column.key, label: column.label, message: MY_NUMBER_MESSAGE });
    } else if ((record[column.key] ?? '').includes('\uFFFD')) {
      refused.add(column.key);
      problems.push({ column: column.key, label: column.label, message: BAD_BYTES_MESSAGE });
    }
  }
  const result = cardInputSchema.safeParse(toCandidate(record));
  if (result.success && venueFor && !refused.has('postal_code') && venueFor(result.data.resident.postalCode) === undefined) {
    problems.push({ column: 'postal_code', label: COLUMN_BY_KEY.get('postal_code')!.label, message: outsideWardMessage(result.data.resident.postalCode) });
  }
  if (result.success && problems.length === 0) return { input: result.data, problems: [] };
  if (!result.success) {
    const seen = new Set<string>();
    for (const { field, message } of zodFieldErrors(result.error)) {
      const column = COLUMN_BY_PATH.get(field);
      const key = column?.key ?? field;
      if (seen.has(key) || refused.has(key)) continue;
      seen.add(key);
      if (!column) {
        problems.push({ column: '', label: field, message: '値が正しくありません' });
        continue;
      }
      const empty = (record[column.key] ?? '') === '';
      const specific = TEXT_MESSAGES_JA[message] ?? (message.startsWith('must be between') ? DATE_RANGE_MESSAGE[field] : undefined);
      problems.push({ column: column.key, label: column.label, message: empty && column.required ? '入力してください' : (specific ?? column.message) });
    }
  }
  // Listed in the order of the columns, as the form shows them.
  const order = (p: FieldProblem) => (p.column ? CARD_COLUMNS.findIndex((c) => c.key === p.column) : CARD_COLUMNS.length);
  return { problems: problems.sort((a, b) => order(a) - order(b)) };
}

// ---------------------------------------------------------------------------------------------
// CSV

export type CsvEncoding = 'utf-8' | 'cp932';

/** UTF-8 (a BOM is dropped) if the bytes are valid UTF-8; otherwise Shift_JIS as Windows writes it (cp932). */
export function decodeCsv(bytes: Uint8Array): { text: string; encoding: CsvEncoding } {
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes), encoding: 'utf-8' };
  } catch {
    return { text: iconv.decode(Buffer.from(bytes), 'cp932'), encoding: 'cp932' };
  }
}

export interface CsvRow {
  /** The line of the file where the row starts (the header is line 1). */
  line: number;
  /** The card id as given, when it is one that may be shown. */
  cardId?: string;
  input?: CardInput;
  problems: FieldProblem[];
}

export interface CsvReport {
  encoding: CsvEncoding;
  /** Problems with the file as a whole; when there are any, no row is registered. */
  fileErrors: string[];
  rows: CsvRow[];
}

const SHOWN_ID = /^[A-Za-z0-9][A-Za-z0-9-]{0,31}$/;
/** A header cell or id as it may be echoed: never an individual number, never long. */
const shown = (text: string) => (containsMyNumber(text) ? '（個人番号と思われる値のため表示しません）' : text.length > 40 ? `${text.slice(0, 40)}…` : text);

/** The header row: a column index per known key, or why the header is unusable. */
function readHeader(cells: string[]): { index: Map<string, number>; errors: string[] } {
  const index = new Map<string, number>();
  const unknown: string[] = [];
  const repeated: string[] = [];
  cells.forEach((cell, i) => {
    const key = cell.normalize('NFKC').trim().toLowerCase();
    if (key === '') return;
    if (!COLUMN_BY_KEY.has(key)) unknown.push(shown(cell.trim()));
    else if (index.has(key)) repeated.push(key);
    else index.set(key, i);
  });
  const errors: string[] = [];
  const missing = CARD_COLUMNS.filter((c) => c.required && !index.has(c.key)).map((c) => c.key);
  if (missing.length) errors.push(`見出し行に必須の列がありません: ${missing.join(', ')}`);
  if (unknown.length) errors.push(`見出し行に使えない列名があります: ${unknown.join(', ')}（使える列名はテンプレートのとおりです）`);
  if (repeated.length) errors.push(`見出し行で列名が重複しています: ${repeated.join(', ')}`);
  return { index, errors };
}

/**
 * Decodes, parses and checks an uploaded file: every row against the schema, individual numbers in
 * any cell, and card ids repeated within the file. Ids that already exist are marked afterwards
 * with markExisting (that needs the database).
 */
export function parseCardCsv(bytes: Uint8Array, maxRows = MAX_CSV_ROWS, venueFor?: (postalCode: string) => string | undefined): CsvReport {
  const { text, encoding } = decodeCsv(bytes);
  const report: CsvReport = { encoding, fileErrors: [], rows: [] };
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, { bom: true, info: true, relax_column_count: true, skip_empty_lines: false, trim: true }) as unknown as typeof records;
  } catch (e) {
    const line = (e as { lines?: number }).lines;
    report.fileErrors.push(`CSVとして読めません${line ? `（${line}行目付近）` : ''}。引用符（"）の閉じ忘れなどがないか確かめてください`);
    return report;
  }
  // A row's first line follows the previous record's last line (quoted cells may span lines).
  let previousEnd = 0;
  const lines: { cells: string[]; line: number }[] = [];
  for (const { record, info } of records) {
    const cells = record.map((c) => c.trim());
    if (cells.some((c) => c !== '')) lines.push({ cells, line: previousEnd + 1 });
    previousEnd = info.lines;
  }
  if (lines.length === 0) {
    report.fileErrors.push('ファイルが空です。1行目に見出し行（列名）が必要です');
    return report;
  }
  const [header, ...data] = lines;
  const { index, errors } = readHeader(header.cells);
  if (header.cells.some((c) => c.includes('\uFFFD'))) report.fileErrors.push(`見出し行に${BAD_BYTES_MESSAGE}`);
  report.fileErrors.push(...errors);
  if (data.length === 0) report.fileErrors.push('データの行がありません');
  if (data.length > maxRows) report.fileErrors.push(`データの行は${maxRows.toLocaleString('ja-JP')}行までです（${data.length.toLocaleString('ja-JP')}行あります）。ファイルを分けてください`);
  if (report.fileErrors.length) return report;

  const firstRowOf = new Map<string, CsvRow>();
  for (const { cells, line } of data) {
    const record = toRecord(Object.fromEntries([...index].map(([key, i]) => [key, cells[i] ?? ''])));
    const rawId = normalise(COLUMN_BY_KEY.get('card_id')!, record.card_id);
    const row: CsvRow = { line, cardId: SHOWN_ID.test(rawId) && !containsMyNumber(rawId) ? rawId : undefined, problems: [] };
    // Bytes that were not text anywhere in the row (a cell outside the known columns too).
    const badCell = cells.findIndex((c, i) => c.includes('\uFFFD') && ![...index.values()].includes(i));
    if (badCell >= 0) row.problems.push({ column: '', label: `${badCell + 1}列目`, message: BAD_BYTES_MESSAGE });
    if (cells.length !== header.cells.length) {
      // The cells no longer line up with the header, so field checks would mislead; a number is still refused.
      row.problems.push({ column: '', label: '行', message: `列の数（${cells.length}）が見出し行（${header.cells.length}）と違います` });
      if (cells.some((c) => containsMyNumber(c))) row.problems.push({ column: '', label: '行', message: MY_NUMBER_MESSAGE });
    } else {
      const checked = checkRecord(record, venueFor);
      if (checked.input && row.problems.length === 0) row.input = checked.input;
      else row.problems.push(...checked.problems);
    }
    if (row.cardId) {
      // Both rows are named: registering either would silently drop the other resident.
      const first = firstRowOf.get(row.cardId);
      if (first !== undefined) {
        row.problems.push({ column: 'card_id', label: 'カード番号', message: `${first.line}行目と同じカード番号です（ファイル内で重複）` });
        row.input = undefined;
        first.problems.push({ column: 'card_id', label: 'カード番号', message: `${line}行目と同じカード番号です（ファイル内で重複）` });
        first.input = undefined;
      } else firstRowOf.set(row.cardId, row);
    }
    report.rows.push(row);
  }
  return report;
}

/** The valid card ids of a report, to look up which already exist. */
export function reportCardIds(report: CsvReport): string[] {
  return [...new Set(report.rows.flatMap((r) => (r.cardId ? [r.cardId] : [])))];
}

/** Marks rows whose card id is already registered: a file registers new cards only. */
export function markExisting(report: CsvReport, existing: ReadonlySet<string>): CsvReport {
  for (const row of report.rows) {
    if (row.cardId && existing.has(row.cardId)) {
      row.problems.push({ column: 'card_id', label: 'カード番号', message: '既に登録されているカード番号です' });
      row.input = undefined;
    }
  }
  return report;
}

/** Whether every row may be registered: no file error and no bad row (all or nothing). */
export function isClean(report: CsvReport): boolean {
  return report.fileErrors.length === 0 && report.rows.length > 0 && report.rows.every((r) => r.input && r.problems.length === 0);
}

/** The header row, UTF-8 with a BOM so that Excel opens it as UTF-8. */
export function csvTemplate(): Buffer {
  return Buffer.from(`\uFEFF${stringify([CARD_COLUMNS.map((c) => c.key)], csvOptions)}`, 'utf8');
}
