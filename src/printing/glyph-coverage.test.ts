import { FontCoverage, resolveFontFile } from './glyph-coverage.js';

describe("the print font's character map (IPAmj Mincho)", () => {
  const font = FontCoverage.open(resolveFontFile());

  it('draws ordinary names and addresses', () => {
    expect(font.missing('江東区東陽四丁目11番28号　山田　太郎')).toEqual([]);
    expect(font.missing('ヤマダ タロウ\n1-2-3')).toEqual([]);
  });

  it('reads variation sequences from the format-14 table: 葛 with E0102 yes, with E0100 no', () => {
    expect(font.canDraw('葛\u{E0102}')).toBe(true);
    expect(font.canDraw('葛')).toBe(true);
    expect(font.missing('葛\u{E0100}飾')).toEqual([{ text: '葛\u{E0100}', codePoints: 'U+845B U+E0100', index: 0 }]);
  });

  it('reports characters the font lacks, and prints them blank', () => {
    // A private-use character (a vendor's 外字 that was never mapped) and an emoji.
    const { text, missing } = font.printable('高\uE000橋😀');
    expect(text).toBe('高\u3000橋\u3000');
    expect(missing.map((m) => m.codePoints)).toEqual(['U+E000', 'U+1F600']);
    expect(missing.map((m) => m.index)).toEqual([1, 3]);
  });

  it('explains where a missing font was looked for', () => {
    expect(() => resolveFontFile('no-such-font.ttf')).toThrow(/fonts-ipamj-mincho/);
  });
});
