import iconv from 'iconv-lite';
import { isValidMyNumber } from '../common/my-number.js';
import { BAD_BYTES_MESSAGE, CARD_COLUMNS, MY_NUMBER_MESSAGE, checkRecord, csvTemplate, decodeCsv, isClean, markExisting, parseCardCsv, reportCardIds, toRecord } from './card-csv.js';

/** A valid individual number: 11 digits and the check digit that makes them one. */
function myNumber(base = '12345678901'): string {
  for (let d = 0; d <= 9; d++) if (isValidMyNumber(`${base}${d}`)) return `${base}${d}`;
  throw new Error('unreachable');
}

const HEADER = 'card_id,route,name,name_kana,birth_date,postal_code,address,phone';
const good = (id: string, name = '江東 太郎') => `${id},pickup,${name},コウトウ タロウ,1980-04-01,135-0016,江東区東陽4-11-28,03-3647-9111`;
const utf8 = (text: string) => Buffer.from(text, 'utf8');

describe('checkRecord (the form and each CSV row)', () => {
  const valid = { card_id: 'K0000001', route: 'pickup', name: '江東 太郎', name_kana: 'コウトウ タロウ', birth_date: '1980-04-01', postal_code: '135-0016', address: '江東区東陽4-11-28' };

  it('reads a full record into the card input; empty optional fields are absent', () => {
    const checked = checkRecord(toRecord({ ...valid, phone: '', nationality: '', card_expires_on: '2036-04-01' }));
    expect(checked.problems).toEqual([]);
    expect(checked.input).toEqual({
      cardId: 'K0000001',
      route: 'pickup',
      cardExpiresOn: '2036-04-01',
      resident: { name: '江東 太郎', nameKana: 'コウトウ タロウ', birthDate: '1980-04-01', postalCode: '135-0016', address: '江東区東陽4-11-28', nameCategory: 'legal' },
    });
  });

  it('folds what spreadsheets and Japanese keyboards produce', () => {
    const checked = checkRecord(toRecord({ ...valid, card_id: 'Ｋ０００１', route: '特急発行', name_kana: 'ｺｳﾄｳ ﾀﾛｳ', birth_date: '1980/4/1', postal_code: '１３５００１６', name_category: '通称名', common_name: '江東' }));
    expect(checked.problems).toEqual([]);
    expect(checked.input).toMatchObject({ cardId: 'K0001', route: 'express', resident: { nameKana: 'コウトウ タロウ', birthDate: '1980-04-01', postalCode: '1350016', nameCategory: 'common' } });
  });

  it('names every bad field in Japanese, in the order of the form', () => {
    const checked = checkRecord(toRecord({ ...valid, card_id: 'bad id!', name: '', name_kana: 'abc', birth_date: '1980-02-30', postal_code: '12345', route: 'walk', phone: 'x' }));
    expect(checked.input).toBeUndefined();
    expect(checked.problems.map((p) => [p.column, p.message])).toEqual([
      ['card_id', '英数字とハイフンで32文字までにしてください（先頭は英数字）'],
      ['route', '交付方式の値が正しくありません'],
      ['name', '入力してください'],
      ['name_kana', 'カタカナで入力してください（200文字まで）'],
      ['birth_date', '正しい日付を YYYY-MM-DD の形で入力してください（例: 1980-04-01）'],
      ['postal_code', '7桁の郵便番号を入力してください（例: 135-0016）'],
      ['phone', '電話番号は数字・ハイフン・括弧・+ で6〜20文字にしてください'],
    ]);
  });

  it('refuses an individual number in any field without repeating it', () => {
    const number = myNumber();
    const checked = checkRecord(toRecord({ ...valid, address: `江東区東陽4-11-28 ${number}` }));
    expect(checked.input).toBeUndefined();
    expect(checked.problems).toEqual([{ column: 'address', label: '住所', message: MY_NUMBER_MESSAGE }]);
    expect(JSON.stringify(checked)).not.toContain(number);
  });
});

describe('checkRecord: text, dates and the ward', () => {
  const valid = { card_id: 'K0000001', route: 'pickup', name: '江東 太郎', name_kana: 'コウトウ タロウ', birth_date: '1980-04-01', postal_code: '135-0016', address: '江東区東陽4-11-28' };
  const problems = (fields: Record<string, string>, venueFor?: (p: string) => string | undefined) =>
    checkRecord(toRecord({ ...valid, ...fields }), venueFor).problems.map((p) => [p.column, p.message]);

  it('refuses bidi overrides, control characters and invisible-only names, in Japanese', () => {
    expect(problems({ name: '江東\u202Eウロタ' })).toEqual([['name', '文字の向きを変える記号や幅のない文字など、見えない書式文字は使えません']]);
    expect(problems({ common_name: '江東\u0007' })).toEqual([['common_name', '制御文字（改行・タブなど）は使えません']]);
    expect(problems({ name: '\u200B\u3164' })).toEqual([['name', '文字の向きを変える記号や幅のない文字など、見えない書式文字は使えません']]);
    expect(problems({ name: '\u3164\u3000\u3164' })).toEqual([['name', '見える文字がありません。空白や見えない文字だけの値は使えません']]);
    // Joiners that scripts and emoji need are kept.
    expect(problems({ alphabet_name: 'KOTO TARO' })).toEqual([]);
  });

  it('refuses a birth date in the future and expiry dates outside 2000..2100', () => {
    const tomorrow = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);
    expect(problems({ birth_date: tomorrow })).toEqual([['birth_date', '生年月日は1900-01-01から今日までの日付にしてください（未来の日付は使えません）']]);
    expect(problems({ card_expires_on: '2200-01-01', residence_period_end: '1999-12-31' })).toEqual([
      ['residence_period_end', '在留期間満了日は2000-01-01から2100-12-31までの日付にしてください'],
      ['card_expires_on', 'カードの有効期限は2000-01-01から2100-12-31までの日付にしてください'],
    ]);
  });

  it('refuses a postal code outside the ward, naming it', () => {
    const venueFor = (p: string) => (p.replace('-', '') === '1350016' ? 'kuyakusho' : undefined);
    expect(problems({}, venueFor)).toEqual([]);
    expect(problems({ postal_code: '100-0001' }, venueFor)).toEqual([
      ['postal_code', '郵便番号 100-0001 は区の交付会場の割り当て（町名・郵便番号表）にありません。区内の住所か確かめてください'],
    ]);
  });
});

describe('decodeCsv', () => {
  it('reads UTF-8 with or without a BOM, and Shift_JIS (cp932) otherwise', () => {
    expect(decodeCsv(utf8('\uFEFF氏名'))).toEqual({ text: '氏名', encoding: 'utf-8' });
    expect(decodeCsv(utf8('氏名'))).toEqual({ text: '氏名', encoding: 'utf-8' });
    // ～ and ① exist in cp932 (Windows) but not in plain Shift_JIS.
    expect(decodeCsv(iconv.encode('髙橋 ～①', 'cp932'))).toEqual({ text: '髙橋 ～①', encoding: 'cp932' });
  });
});

describe('parseCardCsv', () => {
  it('reads a clean file in any column order, UTF-8 or Shift_JIS', () => {
    const text = `name,card_id,route,name_kana,birth_date,postal_code,address\r\n髙橋 花子,A1,pickup,タカハシ ハナコ,1990-01-02,135-0016,江東区東陽1-1-1\r\n`;
    for (const bytes of [utf8(`\uFEFF${text}`), iconv.encode(text, 'cp932')]) {
      const report = parseCardCsv(bytes);
      expect(report.fileErrors).toEqual([]);
      expect(isClean(report)).toBe(true);
      expect(report.rows).toHaveLength(1);
      expect(report.rows[0]).toMatchObject({ line: 2, cardId: 'A1', input: { resident: { name: '髙橋 花子' } } });
    }
  });

  it('lists every bad row with its line and reasons: bad values, numbers, ids repeated in the file', () => {
    const number = myNumber();
    const csv = [
      HEADER,
      good('A1'),
      '', // blank lines are skipped but counted
      good('A2').replace('1980-04-01', '1980-13-45'),
      good('A3', ''),
      good('A4').replace('江東区東陽4-11-28', `江東区東陽 ${number}`),
      good('A1'),
      `"A5",pickup,"複数行
の氏名",コウトウ タロウ,1980-04-01,135-0016,江東区,03-3647-9111`,
      'A6,pickup,江東 太郎',
      good(number),
    ].join('\r\n');
    const report = parseCardCsv(utf8(csv));
    expect(report.fileErrors).toEqual([]);
    const bad = report.rows.filter((r) => r.problems.length).map((r) => ({ line: r.line, cardId: r.cardId, reasons: r.problems.map((p) => `${p.label}: ${p.message}`) }));
    expect(bad).toEqual([
      { line: 2, cardId: 'A1', reasons: ['カード番号: 7行目と同じカード番号です（ファイル内で重複）'] },
      { line: 4, cardId: 'A2', reasons: ['生年月日: 正しい日付を YYYY-MM-DD の形で入力してください（例: 1980-04-01）'] },
      { line: 5, cardId: 'A3', reasons: ['氏名: 入力してください'] },
      { line: 6, cardId: 'A4', reasons: [`住所: ${MY_NUMBER_MESSAGE}`] },
      { line: 7, cardId: 'A1', reasons: ['カード番号: 2行目と同じカード番号です（ファイル内で重複）'] },
      // A quoted cell may span lines (the row starts on line 8), but a name holds no line break.
      { line: 8, cardId: 'A5', reasons: ['氏名: 制御文字（改行・タブなど）は使えません'] },
      { line: 10, cardId: 'A6', reasons: ['行: 列の数（3）が見出し行（8）と違います'] },
      { line: 11, cardId: undefined, reasons: [`カード番号: ${MY_NUMBER_MESSAGE}`] },
    ]);
    expect(JSON.stringify(report)).not.toContain(number);
    expect(isClean(report)).toBe(false);
  });

  it('refuses bytes that are not text, naming the row and the column', () => {
    const sjis = iconv.encode(`${HEADER}\r\n${good('A1')}\r\n${good('A2', '江東 XX')}\r\n`, 'cp932');
    // Invalid Shift_JIS in A2's name: a lead byte followed by a byte no character has.
    const at = sjis.indexOf(Buffer.from('XX'));
    sjis[at] = 0x82;
    sjis[at + 1] = 0xff;
    const report = parseCardCsv(sjis);
    expect(report.encoding).toBe('cp932');
    expect(report.rows.map((r) => ({ line: r.line, problems: r.problems.map((p) => `${p.label}: ${p.message}`) }))).toEqual([
      { line: 2, problems: [] },
      { line: 3, problems: [`氏名: ${BAD_BYTES_MESSAGE}`] },
    ]);
    expect(isClean(report)).toBe(false);
    // U+FFFD in UTF-8 is text already damaged: refused the same way.
    const damaged = parseCardCsv(utf8(`${HEADER}\n${good('A1').replace('江東区', '江\uFFFD区')}\n`));
    expect(damaged.rows[0].problems).toEqual([{ column: 'address', label: '住所', message: BAD_BYTES_MESSAGE }]);
    expect(parseCardCsv(utf8(`${HEADER.replace('name,', 'na\uFFFDe,')}\n${good('A1')}\n`)).fileErrors[0]).toMatch(/^見出し行に文字として読めないバイト/);
  });

  it('checks postal codes against the ward when told how', () => {
    const report = parseCardCsv(utf8(`${HEADER}\n${good('A1')}\n${good('A2').replace('135-0016', '100-0001')}\n`), undefined, (p) => (p === '135-0016' ? 'kuyakusho' : undefined));
    expect(report.rows.map((r) => r.problems.map((p) => p.column))).toEqual([[], ['postal_code']]);
    expect(report.rows[1].problems[0].message).toContain('100-0001');
  });

  it('marks ids that already exist', () => {
    const report = parseCardCsv(utf8(`${HEADER}\n${good('A1')}\n${good('A2')}\n`));
    expect(reportCardIds(report)).toEqual(['A1', 'A2']);
    markExisting(report, new Set(['A2']));
    expect(report.rows[1]).toMatchObject({ input: undefined, problems: [{ column: 'card_id', message: '既に登録されているカード番号です' }] });
    expect(isClean(report)).toBe(false);
  });

  it('refuses files it cannot use as a whole', () => {
    const errors = (text: string, max?: number) => parseCardCsv(utf8(text), max).fileErrors;
    expect(errors('')).toEqual(['ファイルが空です。1行目に見出し行（列名）が必要です']);
    expect(errors(`${HEADER}\n`)).toEqual(['データの行がありません']);
    expect(errors(`card_id,route,color,${myNumber()}\nA1,pickup,red,x\n`)).toEqual([
      '見出し行に必須の列がありません: name, name_kana, birth_date, postal_code, address',
      '見出し行に使えない列名があります: color, （個人番号と思われる値のため表示しません）（使える列名はテンプレートのとおりです）',
    ]);
    expect(errors(`${HEADER},card_id\n`)[0]).toBe('見出し行で列名が重複しています: card_id');
    expect(errors(`${HEADER}\n"A1,pickup\n`)[0]).toMatch(/^CSVとして読めません/);
    expect(errors(`${HEADER}\n${good('A1')}\n${good('A2')}\n${good('A3')}\n`, 2)).toEqual(['データの行は2行までです（3行あります）。ファイルを分けてください']);
  });

  it('offers a template whose header is every column, UTF-8 with a BOM', () => {
    const template = csvTemplate();
    expect([...template.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const report = parseCardCsv(Buffer.concat([template, utf8(good('A1') + ',,,,,,\r\n')]));
    expect(template.toString('utf8').trim().replace('\uFEFF', '').split(',')).toEqual(CARD_COLUMNS.map((c) => c.key));
    // The template's column order is not good()'s: only the header is checked here.
    expect(report.fileErrors).toEqual([]);
  });
});
