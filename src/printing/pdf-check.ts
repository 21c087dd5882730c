/**
 * Reads a rendered PDF back with poppler: the fonts it embeds (`pdffonts`: no Type 3, only
 * the print font) and each page's text (`pdftotext`), compared with the data of the item each page
 * is for, in order. A batch whose pages do not match its cards stops before it is handed over.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface PdfFont {
  name: string;
  type: string;
  embedded: boolean;
}

/** The fonts of a PDF, as `pdffonts` lists them. */
export async function pdfFonts(file: string): Promise<PdfFont[]> {
  const { stdout } = await run('pdffonts', [file], { maxBuffer: 64 * 1024 * 1024 });
  // Columns are fixed width, set by the dashes of the second line.
  const lines = stdout.split('\n');
  const widths = lines[1].split(' ').map((d) => d.length);
  const cut = (line: string) => {
    const cells: string[] = [];
    let at = 0;
    for (const w of widths) {
      cells.push(line.slice(at, at + w).trim());
      at += w + 1;
    }
    return cells;
  };
  return lines
    .slice(2)
    .filter((l) => l.trim())
    .map((l) => {
      const [name, type, , emb] = cut(l);
      return { name, type, embedded: emb === 'yes' };
    });
}

/** Each page's text, in order (`pdftotext` separates pages with a form feed). */
export async function pageTexts(file: string): Promise<string[]> {
  const { stdout } = await run('pdftotext', ['-enc', 'UTF-8', file, '-'], { maxBuffer: 1024 * 1024 * 1024 });
  const pages = stdout.split('\f');
  if (pages.length > 0 && pages[pages.length - 1].trim() === '') pages.pop();
  return pages;
}

/**
 * Text compared without its layout: every kind of white space removed, NFKC, and variation
 * selectors dropped (the PDF's text layer maps a variant glyph back to its base character).
 */
export const squeeze = (text: string) => text.normalize('NFKC').replace(/[\s\u{FE00}-\u{FE0F}\u{E0100}-\u{E01EF}]+/gu, '');

export interface PageExpectation {
  /** What the page(s) are for (a card id), for the report. */
  id: string;
  /** Pages the item takes. */
  pages: number;
  /** Texts that must appear on those pages (a name printed with blanks is given with its blanks). */
  texts: string[];
}

export interface PageMismatch {
  id: string;
  /** First page of the item, 1-based. */
  page: number;
  missing: string[];
}

/** Checks every item's pages against its texts, in order; also that the page count adds up. */
export function matchPages(pages: string[], expected: PageExpectation[]): { mismatches: PageMismatch[]; pageCount: { expected: number; actual: number } } {
  const mismatches: PageMismatch[] = [];
  let at = 0;
  for (const item of expected) {
    const text = squeeze(pages.slice(at, at + item.pages).join('\n'));
    const missing = item.texts.filter((t) => squeeze(t) !== '' && !text.includes(squeeze(t)));
    if (missing.length > 0) mismatches.push({ id: item.id, page: at + 1, missing });
    at += item.pages;
  }
  return { mismatches, pageCount: { expected: at, actual: pages.length } };
}
