import { stringify } from 'csv-stringify/sync';
import { csvOptions, neutraliseCell } from './csv-cell.js';

describe('CSV cells a spreadsheet would run as a formula', () => {
  it('get a leading single quote when they begin with = + - @ tab or CR (OWASP)', () => {
    for (const cell of ['=HYPERLINK("http://x","y")', '+81-3-3647-9111', '-2+3', '@SUM(A1)', '\t=1', '\r=1']) expect(neutraliseCell(cell)).toBe(`'${cell}`);
    for (const cell of ['江東 太郎', 'K0000001', '2026-11-26 10:30:00', '', "'already", ' =1', 'a=b']) expect(neutraliseCell(cell)).toBe(cell);
  });

  it('are neutralised by the options every CSV uses, and still quoted where CSV needs it', () => {
    expect(stringify([['=HYPERLINK("http://x","y")', 'ok', 7]], csvOptions)).toBe(`"'=HYPERLINK(""http://x"",""y"")",ok,7\r\n`);
  });
});
