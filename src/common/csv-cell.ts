/**
 * CSV cells that a spreadsheet would run as a formula (CSV injection, OWASP): a cell beginning with
 * `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading single quote, so Excel and LibreOffice
 * show it as text. Every CSV the system writes goes through `csvOptions` (csv-stringify's `cast`).
 */
import type { Options } from 'csv-stringify/sync';

const FORMULA_START = /^[=+\-@\t\r]/;

/** The cell as a spreadsheet will show it, never as a formula. */
export function neutraliseCell(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}

/** csv-stringify options for every CSV the system writes: CRLF rows (Excel) and neutralised cells. */
export const csvOptions: Options = {
  record_delimiter: 'windows',
  cast: { string: (value) => neutraliseCell(value) },
};
