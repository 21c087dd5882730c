/**
 * A previous vendor's export as such files are: CP932 with CRLF, Japanese headers, era-coded dates,
 * half-width kana, 外字 in the private-use area (written as the CP932 user-defined bytes F040…),
 * with its mapping and 外字 table. Used by the tests, the benchmark and the demo files
 * (`config/koto/legacy-demo/`), so that all three read the same layout.
 */
import iconv from 'iconv-lite';

export const LEGACY_HEADER = [
  '管理番号', '氏名', '氏名ｶﾅ', '生年月日', '性別', '郵便番号', '住所', '方書', '電話番号',
  '状態', '交付区分', '会場', '受領日', '通知日', '予約番号', '予約日', '予約時刻', '有効期限', '備考',
] as const;
type Column = (typeof LEGACY_HEADER)[number];

/** The mapping of this layout (as the JSON file holds it). */
export const LEGACY_MAPPING = {
  vendor: '旧システム株式会社',
  encoding: 'cp932',
  lineEnding: 'crlf',
  delimiter: ',',
  header: true,
  columns: {
    cardId: '管理番号',
    name: '氏名',
    nameKana: '氏名ｶﾅ',
    birthDate: '生年月日',
    sex: '性別',
    postalCode: '郵便番号',
    address: ['住所', '方書'],
    phone: '電話番号',
    status: '状態',
    route: '交付区分',
    venue: '会場',
    receivedOn: '受領日',
    noticeMailedOn: '通知日',
    bookingNumber: '予約番号',
    bookingDate: '予約日',
    bookingTime: '予約時刻',
    expiresOn: '有効期限',
  },
  dates: { birthDate: 'era-code', receivedOn: 'era-text', noticeMailedOn: 'era-text', bookingDate: 'western', expiresOn: 'western' },
  codes: {
    status: {
      '10': { state: 'received', implies: [] },
      '20': { state: 'at_venue', implies: ['inspect', 'ship_to_venue', 'receive_at_venue'] },
      '30': { state: 'notice_mailed', implies: ['inspect', 'ship_to_venue', 'receive_at_venue', 'mail_notice'] },
      '31': { state: 'notice_returned', implies: ['inspect', 'ship_to_venue', 'receive_at_venue', 'mail_notice', 'record_return'] },
      '40': { state: 'reserved', implies: ['inspect', 'ship_to_venue', 'receive_at_venue', 'mail_notice', 'reserve'] },
      '50': { state: 'on_hold', implies: ['pull_out'] },
    },
    route: { '1': 'pickup', '2': 'counter', '3': 'express' },
    venue: { K01: 'kuyakusho', T01: 'toyosu', O01: 'oshima' },
    sex: { '1': 'male', '2': 'female' },
  },
  defaultRoute: 'pickup',
};

/** The 外字 table: U+E000 髙 (はしご高), U+E001 𠮷 with no variation, U+E002 葛 with an IVS, U+E003 no equivalent. */
export const LEGACY_GAIJI_CSV = ['code_point,unicode,ivs,note', 'U+E000,U+9AD9,,髙', 'U+E001,U+20BB7,,𠮷', 'U+E002,U+845B,U+E0100,葛（葛飾区の葛）', 'U+E003,,,該当なし（旧システム独自の字形）', ''].join('\r\n');

export type LegacyCells = Partial<Record<Column, string>>;

/** One row of the export: a pickup card at its venue with its notice mailed, unless told otherwise. */
export function legacyRow(cardId: string, cells: LegacyCells = {}): string[] {
  const base: Record<Column, string> = {
    管理番号: cardId,
    氏名: '江東 太郎',
    氏名ｶﾅ: 'ｺｳﾄｳ ﾀﾛｳ',
    生年月日: '3550612',
    性別: '1',
    郵便番号: '1350016',
    住所: '東京都江東区東陽4-11-28',
    方書: '',
    電話番号: '03-3647-9111',
    状態: '30',
    交付区分: '1',
    会場: 'K01',
    受領日: '令和6年4月1日',
    通知日: 'R6.4.10',
    予約番号: '',
    予約日: '',
    予約時刻: '',
    有効期限: '2034/06/12',
    備考: '',
  };
  return LEGACY_HEADER.map((h) => cells[h] ?? base[h]);
}

/** The CP932 bytes of a private-use character (U+E000… → the user-defined area F040…). */
function userDefinedBytes(cp: number): number[] {
  const n = cp - 0xe000;
  const t = n % 188;
  return [0xf0 + Math.floor(n / 188), t < 63 ? 0x40 + t : 0x80 + (t - 63)];
}

/** Encodes text as CP932, writing private-use characters as user-defined bytes (iconv-lite cannot). */
export function encodeCp932(text: string): Buffer {
  const parts: Buffer[] = [];
  let run = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp >= 0xe000 && cp <= 0xe757) {
      if (run) parts.push(iconv.encode(run, 'cp932'));
      run = '';
      parts.push(Buffer.from(userDefinedBytes(cp)));
    } else run += ch;
  }
  if (run) parts.push(iconv.encode(run, 'cp932'));
  return Buffer.concat(parts);
}

const cell = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/** The export file: the header and the rows, CP932, CRLF. */
export function legacyExport(rows: string[][], header: readonly string[] = LEGACY_HEADER): Buffer {
  return encodeCp932([header, ...rows].map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n');
}

/** The mapping file's bytes. */
export function legacyMappingFile(overrides: Record<string, unknown> = {}): Buffer {
  return Buffer.from(JSON.stringify({ ...LEGACY_MAPPING, ...overrides }, null, 2));
}
