/**
 * Prepares an item's printed fields before anything is rendered: a character the
 * print font cannot draw is printed blank, and a field longer than its box is printed blank as a
 * whole (a name cut off at the edge of a window envelope is worse than none); either puts the item
 * on the hand-writing list with what to write. Neither stops the rest of the batch.
 */
import type { FontCoverage, MissingCharacter } from './glyph-coverage.js';

/** A field's box, as the template's manifest gives it: its width in full-width characters. */
export interface FieldBox {
  maxWidth: number;
}

export interface HandwritingEntry {
  itemId: string;
  field: string;
  reason: 'missing_glyph' | 'overflow';
  /** The whole field as the data holds it (the clerk writes it, or the missing characters, by hand). */
  text: string;
  /** The characters the font lacks (missing_glyph). */
  missing?: MissingCharacter[];
  /** The field's width and its box's (overflow), in full-width characters. */
  width?: number;
  maxWidth?: number;
}

/** Width in full-width characters: half-width forms (ASCII, half-width kana) count one half. */
export function printWidth(text: string): number {
  let w = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if ((cp >= 0xfe00 && cp <= 0xfe0f) || (cp >= 0xe0100 && cp <= 0xe01ef)) continue;
    w += cp < 0x1100 || (cp >= 0xff61 && cp <= 0xff9f) ? 0.5 : 1;
  }
  return w;
}

export function preparePrintFields<F extends Record<string, string>>(
  itemId: string,
  fields: F,
  boxes: Partial<Record<keyof F & string, FieldBox>>,
  font: FontCoverage,
): { fields: F; handwriting: HandwritingEntry[] } {
  const out: Record<string, string> = {};
  const handwriting: HandwritingEntry[] = [];
  for (const [field, text] of Object.entries(fields)) {
    const box = boxes[field as keyof F & string];
    const width = printWidth(text);
    if (box && width > box.maxWidth) {
      handwriting.push({ itemId, field, reason: 'overflow', text, width, maxWidth: box.maxWidth });
      out[field] = '';
      continue;
    }
    const { text: printable, missing } = font.printable(text);
    if (missing.length > 0) handwriting.push({ itemId, field, reason: 'missing_glyph', text, missing });
    out[field] = printable;
  }
  return { fields: out as F, handwriting };
}
