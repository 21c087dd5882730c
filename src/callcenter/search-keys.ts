/**
 * The call center's search keys: what a caller says, and what registration stored, folded to
 * one form so that they compare equal. Stored in `card_resident.search_*` at registration (and by the
 * migration that added them), and applied to every query, with the same functions.
 */
import jaconvModule from 'jaconv';

/**
 * jaconv's types describe its CommonJS build (a default export inside the module); Node loads its ES
 * build, whose default export is the functions themselves. Either way, the functions.
 */
type Jaconv = (typeof jaconvModule)['default'];
const jaconv: Jaconv = (jaconvModule as unknown as { default?: Jaconv }).default ?? (jaconvModule as unknown as Jaconv);

/** Spaces of every width: ASCII, ideographic (U+3000), no-break, tabs. */
const SPACES = /[\s\u3000\u00a0]+/gu;
/** Dash-like characters an address may use between block numbers: all become "-". */
const DASHES = /[‐‑‒–—―−－ｰー]/gu;

/**
 * A name in kana: NFKC (half-width katakana become full-width, with their voicing marks joined;
 * full-width letters become ASCII), hiragana to katakana, spaces and middle dots removed. Small kana
 * and the long-vowel mark ー are kept as written (コーノ and コノ are different names).
 */
export function kanaKey(text: string): string {
  return jaconv.toKatakana(text.normalize('NFKC')).replace(/[\s\u3000\u00a0・]+/gu, '').toUpperCase();
}

/** A name in kanji (or letters): NFKC, spaces removed, letters in upper case. */
export function nameKey(text: string): string {
  return text.normalize('NFKC').replace(SPACES, '').toUpperCase();
}

/** A phone number: its digits only (NFKC first, so full-width digits count). */
export function phoneKey(text: string): string {
  return text.normalize('NFKC').replace(/\D+/g, '');
}

/** An address: NFKC, spaces removed, every dash-like character one "-", letters in upper case. */
export function addressKey(text: string): string {
  return text.normalize('NFKC').replace(SPACES, '').replace(DASHES, '-').toUpperCase();
}

/** Japanese eras: the first Gregorian year of each (元年 = year 1). */
const ERAS: Record<string, number> = { 明治: 1868, M: 1868, 大正: 1912, T: 1912, 昭和: 1926, S: 1926, 平成: 1989, H: 1989, 令和: 2019, R: 2019 };

/**
 * A date of birth as a caller gives it: 1990-04-01, 1990/4/1, 1990.4.1, 19900401, 1990年4月1日,
 * 平成2年4月1日, H2.4.1 (元年 too), in full-width digits or not. Returns ISO `YYYY-MM-DD`, or
 * undefined when it is not a real date.
 */
export function parseBirthDate(text: string): string | undefined {
  const s = text.normalize('NFKC').replace(SPACES, '').replace(/元年/g, '1年').toUpperCase();
  let y: number;
  let m: number;
  let d: number;
  let match = /^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$/.exec(s) ?? /^(\d{4})(\d{2})(\d{2})$/.exec(s);
  if (match) {
    [y, m, d] = [Number(match[1]), Number(match[2]), Number(match[3])];
  } else if ((match = /^(明治|大正|昭和|平成|令和|[MTSHR])(\d{1,2})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$/.exec(s))) {
    const n = Number(match[2]);
    if (n < 1) return undefined;
    [y, m, d] = [ERAS[match[1]] + n - 1, Number(match[3]), Number(match[4])];
  } else {
    return undefined;
  }
  const iso = `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
  const date = new Date(`${iso}T00:00:00Z`);
  if (Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== iso || y < 1900) return undefined;
  return iso;
}

/**
 * The search keys stored beside a resident (card_resident.search_*), cut to their columns' lengths:
 * NFKC may lengthen a text (㍿ is 株式会社), and a key longer than any caller would type is of no use.
 */
export function residentKeys(r: { name: string; nameKana: string; address: string; phone?: string | null }) {
  const cut = (text: string, max: number) => [...text].slice(0, max).join('');
  return {
    searchName: cut(nameKey(r.name), 200),
    searchKana: cut(kanaKey(r.nameKana), 200),
    searchAddress: cut(addressKey(r.address), 400),
    searchPhone: r.phone ? cut(phoneKey(r.phone), 30) || null : null,
  };
}
