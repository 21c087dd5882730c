import { isValidMyNumber } from '../common/my-number.js';
import { loadWardConfig } from '../config/ward-config.js';
import { EraTable } from '../printing/japanese-era.js';
import { parseLegacyDate } from './dates.js';
import { applyGaiji, parseGaijiTable } from './gaiji.js';
import { LEGACY_GAIJI_CSV, legacyExport, legacyMappingFile, legacyRow } from './legacy-fixture.js';
import { MappingError, parseMapping } from './mapping.js';
import { MY_NUMBER_REASON, type RowOutcome, parseExport } from './parser.js';

const eras = EraTable.load();
const ward = loadWardConfig();

function myNumber(base = '12345678901'): string {
  for (let d = 0; d <= 9; d++) if (isValidMyNumber(`${base}${d}`)) return `${base}${d}`;
  throw new Error('unreachable');
}

const parseRows = (rows: string[][], mapping = parseMapping(legacyMappingFile())) =>
  parseExport(legacyExport(rows), {
    mapping,
    gaiji: parseGaijiTable(Buffer.from(LEGACY_GAIJI_CSV)),
    eras,
    venueForPostalCode: (p) => ward.venueForPostalCode(p),
    venueIds: ward.venues.map((v) => v.id),
  });

const refusal = (o: RowOutcome) => (o.ok ? undefined : { field: o.field, reason: o.reason });

describe('legacy dates', () => {
  it('reads era codes, era text and western dates', () => {
    expect(parseLegacyDate('4020512', 'era-code', eras)).toEqual({ ok: true, iso: '1990-05-12' });
    expect(parseLegacyDate('5060401', 'era-code', eras)).toEqual({ ok: true, iso: '2024-04-01' });
    expect(parseLegacyDate('令和6年4月1日', 'era-text', eras)).toEqual({ ok: true, iso: '2024-04-01' });
    expect(parseLegacyDate('令和元年5月1日', 'era-text', eras)).toEqual({ ok: true, iso: '2019-05-01' });
    expect(parseLegacyDate('R6.4.1', 'era-text', eras)).toEqual({ ok: true, iso: '2024-04-01' });
    expect(parseLegacyDate('H31.4.30', 'era-text', eras)).toEqual({ ok: true, iso: '2019-04-30' });
    expect(parseLegacyDate('Ｈ３１．４．３０', 'era-text', eras)).toEqual({ ok: true, iso: '2019-04-30' });
    expect(parseLegacyDate('2024/4/1', 'western', eras)).toEqual({ ok: true, iso: '2024-04-01' });
    expect(parseLegacyDate('2024-04-01', 'western', eras)).toEqual({ ok: true, iso: '2024-04-01' });
  });

  it('refuses dates that do not exist or are outside their era', () => {
    expect(parseLegacyDate('4310501', 'era-code', eras).ok).toBe(false); // 平成31年5月1日 is 令和
    expect(parseLegacyDate('5060230', 'era-code', eras).ok).toBe(false);
    expect(parseLegacyDate('9010101', 'era-code', eras).ok).toBe(false);
    expect(parseLegacyDate('H31.5.1', 'era-text', eras).ok).toBe(false);
    expect(parseLegacyDate('2024/13/1', 'western', eras).ok).toBe(false);
    expect(parseLegacyDate('20240401', 'western', eras).ok).toBe(false);
  });
});

describe('the 外字 table', () => {
  const table = parseGaijiTable(Buffer.from(LEGACY_GAIJI_CSV));

  it('maps private-use characters, with their IVS, and keeps the unmapped ones as hand-writing items', () => {
    expect(applyGaiji('\uE000橋 \uE002子', 'name', table)).toEqual({ text: '髙橋 葛\u{E0100}子', items: [] });
    const r = applyGaiji('田\uE003\uE7FF〓', 'name', table);
    expect(r.text).toBe('田〓〓〓');
    expect(r.items).toEqual([
      { field: 'name', position: 2, source: 'U+E003', note: expect.stringContaining('該当する文字なし') },
      { field: 'name', position: 3, source: 'U+E7FF', note: '外字表にない外字' },
      { field: 'name', position: 4, source: '〓', note: expect.stringContaining('〓') },
    ]);
  });

  it('refuses a table that maps to the private-use area or names a code point twice', () => {
    expect(() => parseGaijiTable(Buffer.from('code_point,unicode,ivs,note\nU+E000,U+E001,,\n'))).toThrow(/私用領域/);
    expect(() => parseGaijiTable(Buffer.from('code_point,unicode,ivs,note\nU+E000,U+9AD9,,\nE000,U+9AD9,,\n'))).toThrow(/二度/);
    expect(() => parseGaijiTable(Buffer.from('code_point,unicode,ivs,note\nU+4E00,U+9AD9,,\n'))).toThrow(/private-use/);
  });
});

describe('the mapping file', () => {
  it('names every bad field', () => {
    const bad = legacyMappingFile({ encoding: 'euc-jp', dates: {}, codes: { status: { '10': { state: 'nowhere' } } } });
    let error: MappingError | undefined;
    try {
      parseMapping(bad);
    } catch (e) {
      error = e as MappingError;
    }
    const paths = error!.problems.map((p) => p.path);
    expect(paths).toEqual(expect.arrayContaining(['encoding', 'codes.status.10.state']));
    expect(() => parseMapping(Buffer.from('{"vendor":'))).toThrow(MappingError);
  });
});

describe('reading an export through its mapping', () => {
  it('decodes CP932 with CRLF, era-coded dates, half-width kana, two address columns and 外字', () => {
    const report = parseRows([
      legacyRow('L0001', { 氏名: '\uE000橋 \uE003子', 氏名ｶﾅ: 'ﾀｶﾊｼ ｷﾞﾝｺ', 住所: '東京都江東区東陽4-11-28', 方書: 'ｺｳﾄｳﾏﾝｼｮﾝ101' }),
    ]);
    expect(report.fileErrors).toEqual([]);
    const [row] = report.rows;
    expect(row.ok).toBe(true);
    if (!row.ok) return;
    expect(row.record.resident).toMatchObject({
      name: '髙橋 〓子',
      nameKana: 'タカハシ ギンコ',
      birthDate: '1980-06-12',
      postalCode: '135-0016',
      address: '東京都江東区東陽4-11-28\u3000コウトウマンション101',
    });
    expect(row.record.handwriting).toEqual([{ field: 'name', position: 4, source: 'U+E003', note: expect.any(String) }]);
    expect(row.record).toMatchObject({ state: 'notice_mailed', oldStatus: '30', route: 'pickup', venueId: 'kuyakusho', sex: 'male' });
    expect(row.record.dates).toEqual({ receivedOn: '2024-04-01', noticeMailedOn: '2024-04-10', expiresOn: '2034-06-12' });
    expect(row.record.oldDates).toMatchObject({ receivedOn: '令和6年4月1日', noticeMailedOn: 'R6.4.10' });
  });

  it('refuses each kind of bad row with its field and reason', () => {
    const number = myNumber();
    const report = parseRows([
      legacyRow('B01', { 生年月日: '4310501' }),
      legacyRow('B02', { 状態: '99' }),
      legacyRow('B03', { 会場: 'X99' }),
      legacyRow('B04', { 氏名: '' }),
      legacyRow('B05', { 郵便番号: '1000001', 住所: '東京都千代田区千代田1-1' }),
      legacyRow('B06', { 備考: `個人番号 ${number.slice(0, 4)} ${number.slice(4, 8)} ${number.slice(8)}` }),
      legacyRow('B07', { 予約番号: 'A123' }),
      legacyRow('B07', {}),
      legacyRow('B08', { 予約番号: 'A123' }),
      legacyRow(number, {}),
      legacyRow('B09', { 状態: '40', 予約番号: 'A999', 予約日: '2026/12/24', 予約時刻: '' }),
      legacyRow('B10', { 交付区分: '3', 状態: '30' }),
      legacyRow('B11', { 性別: '7' }),
    ]);
    expect(report.rows.map(refusal)).toEqual([
      { field: 'birthDate', reason: expect.stringContaining('日付') },
      { field: 'status', reason: expect.stringContaining('不明な状態コード') },
      { field: 'venue', reason: expect.stringContaining('不明な会場コード') },
      { field: 'name', reason: '氏名がありません' },
      { field: 'postalCode', reason: expect.stringContaining('区外') },
      { field: 'row', reason: MY_NUMBER_REASON },
      undefined,
      { field: 'cardId', reason: expect.stringContaining('7行目と重複') },
      { field: 'bookingNumber', reason: expect.stringContaining('7行目と重複') },
      { field: 'cardId', reason: MY_NUMBER_REASON },
      { field: 'bookingTime', reason: '予約時刻がありません' },
      { field: 'status', reason: expect.stringContaining('ありえません') },
      { field: 'sex', reason: expect.stringContaining('不明な性別コード') },
    ]);
    // The number is nowhere in the answer: not as a card id, not in a reason.
    expect(JSON.stringify(report)).not.toContain(number);
    expect(report.rows[9].cardId).toBeUndefined();
  });

  it('refuses a file whose line ends or encoding differ from the mapping', () => {
    const lf = Buffer.from(legacyExport([legacyRow('C1')]).toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
    const ctx = { mapping: parseMapping(legacyMappingFile()), gaiji: new Map(), eras, venueForPostalCode: (p: string) => ward.venueForPostalCode(p), venueIds: ['kuyakusho'] };
    expect(parseExport(lf, ctx).fileErrors).toEqual([expect.stringContaining('LF')]);
    expect(parseExport(legacyExport([legacyRow('C1')]), { ...ctx, mapping: parseMapping(legacyMappingFile({ encoding: 'utf-8' })) }).fileErrors).toEqual([
      expect.stringContaining('UTF-8'),
    ]);
    expect(parseExport(legacyExport([legacyRow('C1')], ['番号']), ctx).fileErrors[0]).toContain('見出し行にありません');
  });
});
