/**
 * The previous vendor's 外字 table: user-defined characters (private-use code points, as its CP932
 * export decodes them: F040 → U+E000 …) mapped to Unicode, with an ideographic variation sequence
 * where given, or to nothing ("no equivalent"). A character with no equivalent, one the table does
 * not know, and a 〓 (geta mark: the old system already lost the character) become hand-writing
 * items on the card: the text holds 〓 at that place and the item says which character to write by
 * hand. Nothing is replaced silently.
 *
 * The table is a CSV file (UTF-8 or CP932) with a header: `code_point,unicode,ivs,note`, e.g.
 * `U+E000,U+9AD9,,髙` / `U+E001,U+845B,U+E0100,葛（IVS）` / `U+E002,,,該当なし`.
 */
import iconv from 'iconv-lite';
import { parse } from 'csv-parse/sync';
import { z } from 'zod';

export const GETA = '〓';
export const MAX_GAIJI_BYTES = 1024 * 1024;
const MAX_ENTRIES = 10_000;

export interface GaijiEntry {
  /** The Unicode text it stands for (with its variation selector), or undefined: no equivalent. */
  text?: string;
  note: string;
}
export type GaijiTable = ReadonlyMap<number, GaijiEntry>;

/** A character to write by hand: its place in the stored text (1 = the first character) and why. */
export interface HandwritingItem {
  field: string;
  position: number;
  /** `U+E002` for a 外字, `〓` for a geta mark in the data. */
  source: string;
  note: string;
}

export const isPrivateUse = (cp: number) => (cp >= 0xe000 && cp <= 0xf8ff) || (cp >= 0xf0000 && cp <= 0x10fffd);

const codePoint = z
  .string()
  .trim()
  .regex(/^(U\+)?[0-9A-Fa-f]{4,6}$/, 'must be a code point like U+E000')
  .transform((s) => parseInt(s.replace(/^U\+/i, ''), 16))
  .refine((n) => n <= 0x10ffff, 'beyond Unicode');
const NONE = /^(|none|なし|該当なし|-)$/i;
const rowSchema = z.object({
  code_point: codePoint.refine(isPrivateUse, 'must be in a private-use area'),
  unicode: z.string().trim().max(40),
  ivs: z.string().trim().max(12).default(''),
  note: z.string().trim().max(100).default(''),
});

export class GaijiTableError extends Error {}

function decode(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return iconv.decode(Buffer.from(bytes), 'cp932');
  }
}

/** Reads a 外字 table; throws GaijiTableError naming the first bad line. */
export function parseGaijiTable(bytes: Uint8Array): GaijiTable {
  if (bytes.length > MAX_GAIJI_BYTES) throw new GaijiTableError(`外字表が大きすぎます（${MAX_GAIJI_BYTES / 1024} KBまで）`);
  let records: Record<string, string>[];
  try {
    records = parse(decode(bytes).replace(/^\uFEFF/, ''), { columns: (h: string[]) => h.map((x) => x.trim().toLowerCase()), skip_empty_lines: true, relax_column_count: true, trim: true });
  } catch (e) {
    throw new GaijiTableError(`外字表をCSVとして読めません: ${(e as Error).message.slice(0, 200)}`);
  }
  if (records.length > MAX_ENTRIES) throw new GaijiTableError(`外字表の行が多すぎます（${MAX_ENTRIES}行まで）`);
  const table = new Map<number, GaijiEntry>();
  records.forEach((r, i) => {
    const line = i + 2;
    const parsed = rowSchema.safeParse(r);
    if (!parsed.success) throw new GaijiTableError(`外字表 ${line}行目 ${parsed.error.issues[0].path.join('.')}: ${parsed.error.issues[0].message}`);
    const { code_point, unicode, ivs, note } = parsed.data;
    if (table.has(code_point)) throw new GaijiTableError(`外字表 ${line}行目: U+${code_point.toString(16).toUpperCase()} が二度あります`);
    let text: string | undefined;
    if (!NONE.test(unicode)) {
      const base = codePoint.safeParse(unicode);
      if (!base.success || isPrivateUse(base.data)) throw new GaijiTableError(`外字表 ${line}行目 unicode: U+で始まる、私用領域でない符号位置を書いてください`);
      text = String.fromCodePoint(base.data);
      if (ivs !== '') {
        const vs = codePoint.safeParse(ivs);
        if (!vs.success || vs.data < 0xe0100 || vs.data > 0xe01ef) throw new GaijiTableError(`外字表 ${line}行目 ivs: 異体字セレクタ（U+E0100〜U+E01EF）を書いてください`);
        text += String.fromCodePoint(vs.data);
      }
    }
    table.set(code_point, { text, note });
  });
  return table;
}

const hex = (cp: number) => `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * Maps the 外字 of one field's text through the table. Characters with an equivalent are replaced
 * by it; the others (and every 〓 already in the data) become 〓 with a hand-writing item.
 */
export function applyGaiji(text: string, field: string, table: GaijiTable): { text: string; items: HandwritingItem[] } {
  let out = '';
  let position = 0;
  const items: HandwritingItem[] = [];
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (isPrivateUse(cp)) {
      const entry = table.get(cp);
      if (entry?.text) {
        out += entry.text;
        position += [...entry.text.normalize('NFC')].filter((c) => !/\p{Mn}|[\u{E0100}-\u{E01EF}\uFE00-\uFE0F]/u.test(c)).length;
        continue;
      }
      position++;
      out += GETA;
      items.push({ field, position, source: hex(cp), note: entry ? `該当する文字なし${entry.note ? `（${entry.note}）` : ''}` : '外字表にない外字' });
      continue;
    }
    position++;
    out += ch;
    if (ch === GETA) items.push({ field, position, source: GETA, note: '元データで〓（文字化け）' });
  }
  return { text: out, items };
}
