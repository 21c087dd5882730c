/**
 * Which characters of a text the print font can draw (R-7.1–, DESIGN decision 7): read from
 * the font's own character map with fontkit, ideographic variation sequences included (the cmap's
 * format-14 subtable), never by rendering and guessing. A base character followed by a variation
 * selector is one character here: `葛` + U+E0102 is drawable in IPAmj Mincho, `葛` + U+E0100 is not,
 * and a sequence the font lacks is reported as missing even when the base character alone exists
 * (printing the base glyph would print a different character form than the register holds).
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import * as fontkit from 'fontkit';

export interface MissingCharacter {
  /** The character as it stands in the text (a base character with its variation selector, if any). */
  text: string;
  /** Its code points, `U+845B U+E0100`. */
  codePoints: string;
  /** Offset in the text, in UTF-16 code units. */
  index: number;
}

/** Variation selectors: the standardized ones (VS1–VS16) and the ideographic ones (VS17–VS256). */
export const isVariationSelector = (cp: number) => (cp >= 0xfe00 && cp <= 0xfe0f) || (cp >= 0xe0100 && cp <= 0xe01ef);

/** Characters that take no glyph of their own in print: line breaks and tabs (laid out, not drawn). */
const LAYOUT_ONLY = new Set([0x0a, 0x0d, 0x09]);

const codePointText = (chars: string) => [...chars].map((c) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`).join(' ');

/** The font's cmap, as fontkit reads it; `_cmapProcessor` is fontkit's own lookup, which it uses for variation sequences. */
interface CmapFont {
  postscriptName: string;
  familyName: string;
  hasGlyphForCodePoint(cp: number): boolean;
  _cmapProcessor: { getVariationSelector(cp: number, selector: number): number };
}

export class FontCoverage {
  private readonly cache = new Map<string, boolean>();

  private constructor(
    private readonly font: CmapFont,
    /** The font file it was read from. */
    readonly path: string,
  ) {}

  static open(path: string): FontCoverage {
    const font = fontkit.openSync(path) as unknown as CmapFont;
    if (typeof font.hasGlyphForCodePoint !== 'function' || typeof font._cmapProcessor?.getVariationSelector !== 'function') {
      throw new Error(`${path}: not a single font with a character map (a collection needs its font named)`);
    }
    return new FontCoverage(font, path);
  }

  get name(): string {
    return this.font.familyName;
  }

  /** Whether one character (a code point, or a base with its variation selector) can be drawn. */
  canDraw(char: string): boolean {
    let known = this.cache.get(char);
    if (known === undefined) {
      const [base, selector] = [...char].map((c) => c.codePointAt(0)!);
      known = selector === undefined ? LAYOUT_ONLY.has(base) || this.font.hasGlyphForCodePoint(base) : this.font._cmapProcessor.getVariationSelector(base, selector) !== 0;
      if (this.cache.size < 50_000) this.cache.set(char, known);
    }
    return known;
  }

  /** The characters of `text` the font cannot draw, in order. */
  missing(text: string): MissingCharacter[] {
    return this.split(text).filter((c) => !this.canDraw(c.text)).map((c) => ({ text: c.text, codePoints: codePointText(c.text), index: c.index }));
  }

  /**
   * The text as it can be printed: every character the font cannot draw becomes an ideographic
   * space (a blank of one character's width, to be written in by hand, R-7.2), and the list of them.
   */
  printable(text: string): { text: string; missing: MissingCharacter[] } {
    const missing: MissingCharacter[] = [];
    let out = '';
    for (const c of this.split(text)) {
      if (this.canDraw(c.text)) out += c.text;
      else {
        missing.push({ text: c.text, codePoints: codePointText(c.text), index: c.index });
        out += '\u3000';
      }
    }
    return { text: out, missing };
  }

  /** The text cut into characters: a code point, with the variation selector that follows it. */
  private split(text: string): { text: string; index: number }[] {
    const out: { text: string; index: number }[] = [];
    let index = 0;
    for (const ch of text) {
      const cp = ch.codePointAt(0)!;
      const last = out[out.length - 1];
      if (isVariationSelector(cp) && last && [...last.text].length === 1) last.text += ch;
      else out.push({ text: ch, index });
      index += ch.length;
    }
    return out;
  }
}

/** Where the print font is looked for: `fonts/` of the project first, then Debian's font folders. */
export const SYSTEM_FONT_DIRS = ['/usr/share/fonts/truetype/ipamj', '/usr/share/fonts/opentype/ipamj', '/usr/share/fonts/truetype', '/usr/share/fonts/opentype'];

/** The default print font: IPAmj Mincho (Debian `fonts-ipamj-mincho`), the MJ character set. */
export const DEFAULT_PRINT_FONT = 'ipamjm.ttf';

/** Resolves a configured font file name (or path) to a file, or explains where it was looked for. */
export function resolveFontFile(file: string = DEFAULT_PRINT_FONT, projectFonts = resolve('fonts')): string {
  if (isAbsolute(file)) {
    if (existsSync(file)) return file;
    throw new Error(`print font ${file} not found`);
  }
  const dirs = [projectFonts, ...SYSTEM_FONT_DIRS];
  for (const dir of dirs) {
    const p = join(dir, file);
    if (existsSync(p)) return p;
  }
  throw new Error(
    `print font ${file} not found in ${dirs.join(', ')}: install Debian's fonts-ipamj-mincho (npm start and .ci/run do when they may) or put the ward's font in fonts/ and name it in the ward configuration`,
  );
}
