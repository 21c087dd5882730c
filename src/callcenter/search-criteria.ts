/** The call center's search form: its fields bounded, checked and folded to search keys. */
import { z } from 'zod';
import type { FieldError } from '../common/errors.js';
import type { SearchCriteria } from './callcenter.repository.js';
import { addressKey, kanaKey, nameKey, parseBirthDate, phoneKey } from './search-keys.js';

/** Visible text without control or format characters. */
const PLAIN = /^[^\p{Cc}\p{Cf}]*$/u;
const field = (max: number, label: string) =>
  z
    .string()
    .max(max, `${label}は${max}文字以内で入力してください。`)
    .regex(PLAIN, `${label}に使えない文字が含まれています。`)
    .optional()
    .transform((v) => (v ?? '').trim());

const searchSchema = z.object({
  name: field(100, '氏名'),
  birthDate: field(30, '生年月日'),
  phone: field(30, '電話番号'),
  address: field(100, '住所'),
});

/** Kana only (hiragana, katakana of both widths, the long-vowel mark, spaces and middle dots): searched as kana. */
const KANA_ONLY = /^[\p{Script=Hiragana}\p{Script=Katakana}ー\s\u3000・･ﾞﾟ]+$/u;

/** The criteria of a search form, checked; problems are in Japanese, beside their field. */
export function searchCriteria(raw: Record<string, unknown>): { criteria: SearchCriteria; problems: FieldError[]; given: string[] } {
  const parsed = searchSchema.safeParse(raw);
  if (!parsed.success) return { criteria: {}, problems: parsed.error.issues.map((i) => ({ field: String(i.path[0]), message: i.message })), given: [] };
  const f = parsed.data;
  const criteria: SearchCriteria = {};
  const problems: FieldError[] = [];
  if (f.name) {
    if (KANA_ONLY.test(f.name)) criteria.kana = kanaKey(f.name);
    else criteria.name = nameKey(f.name);
  }
  if (f.birthDate) {
    criteria.birthDate = parseBirthDate(f.birthDate);
    if (!criteria.birthDate) problems.push({ field: 'birthDate', message: '生年月日を「1990-04-01」「1990/4/1」「平成2年4月1日」「H2.4.1」のように入力してください。' });
  }
  if (f.phone) {
    criteria.phone = phoneKey(f.phone);
    if (criteria.phone.length < 6 || criteria.phone.length > 15) problems.push({ field: 'phone', message: '電話番号は市外局番からの数字で入力してください（6〜15桁）。' });
  }
  if (f.address) {
    criteria.address = addressKey(f.address);
    if ([...criteria.address].length < 2) problems.push({ field: 'address', message: '住所は2文字以上入力してください（例: 東陽4-11）。' });
  }
  const given = (Object.keys(criteria) as (keyof SearchCriteria)[]).filter((k) => criteria[k]);
  return { criteria, problems, given };
}

