import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FontCoverage, resolveFontFile } from './glyph-coverage.js';
import { matchPages, pageTexts, pdfFonts } from './pdf-check.js';
import { PdfRenderer } from './pdf-renderer.js';

const shared = { wardName: '江東区', bookingUrl: 'https://example.jp/booking', callCenter: 'コールセンター 0120-000-000' };
const postcard = (i: number, name = `山田\u3000太郎${i}`) => ({
  id: `card-${i}`,
  postalCode: '135-0016',
  address: `江東区東陽四丁目11番28号\u3000${i}`,
  name,
  bookingNumber: String(20000000 + i),
  pickupDeadline: '令和9年3月31日',
  issuedOn: '令和8年11月26日',
});

describe('PDF rendering with one Chromium (real browser, real poppler)', () => {
  const font = FontCoverage.open(resolveFontFile());
  const renderer = new PdfRenderer({ fontFamily: font.name });
  const dir = mkdtempSync(join(tmpdir(), 'koto-print-test-'));
  afterAll(() => renderer.close());

  it('renders in chunks into one file whose every page reads back as its card, with only the print font embedded', async () => {
    const items = Array.from({ length: 7 }, (_, i) => postcard(i));
    const progress: number[] = [];
    const result = await renderer.render({ template: 'renotice-postcard', items, chunkSize: 3, outFile: join(dir, 'a.pdf'), workDir: join(dir, 'a.work'), shared, onProgress: (d) => void progress.push(d) });
    expect(result).toMatchObject({ chunks: 3, resumedChunks: 0 });
    expect(result.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(progress).toEqual([3, 6, 7]);
    expect(existsSync(join(dir, 'a.work'))).toBe(false);
    const fonts = await pdfFonts(result.file);
    expect(fonts.length).toBeGreaterThan(0);
    expect(fonts.filter((f) => f.type.includes('Type 3'))).toEqual([]);
    expect(fonts.every((f) => f.embedded && /IPAmj/.test(f.name))).toBe(true);
    const pages = await pageTexts(result.file);
    const expected = items.map((c) => ({ id: c.id, pages: 1, texts: [c.name, c.address, c.bookingNumber] }));
    expect(matchPages(pages, expected)).toEqual({ mismatches: [], pageCount: { expected: 7, actual: 7 } });
    // In another order, every page is reported.
    const swapped = [expected[1], expected[0], ...expected.slice(2)];
    expect(matchPages(pages, swapped).mismatches.map((m) => m.id)).toEqual(['card-1', 'card-0']);
  });

  it('resumes an interrupted render from its last finished chunk', async () => {
    const items = Array.from({ length: 6 }, (_, i) => postcard(i));
    const work = join(dir, 'b.work');
    mkdirSync(work);
    // As if the first chunk had been finished before the worker died, and the second was half written.
    writeFileSync(join(work, 'chunk-00000.pdf'), await renderer.renderChunk('renotice-postcard', items.slice(0, 3), shared));
    writeFileSync(join(work, 'chunk-00001.pdf.partial'), 'half');
    const result = await renderer.render({ template: 'renotice-postcard', items, chunkSize: 3, outFile: join(dir, 'b.pdf'), workDir: work, shared });
    expect(result).toMatchObject({ chunks: 2, resumedChunks: 1 });
    const pages = await pageTexts(result.file);
    expect(matchPages(pages, items.map((c) => ({ id: c.id, pages: 1, texts: [c.name] }))).mismatches).toEqual([]);
    expect(readdirSync(dir)).not.toContain('b.pdf.partial');
  });

  it('prints the variant glyph an ideographic variation sequence names', async () => {
    // 葛 + E0102 is its own glyph in IPAmj Mincho, 葛 + E0103 the default one: rasterise and compare.
    const png = async (name: string, text: string) => {
      const file = join(dir, `${name}.pdf`);
      await renderer.render({ template: 'renotice-postcard', items: [postcard(0, text)], outFile: file, workDir: join(dir, `${name}.work`), shared });
      execFileSync('pdftoppm', ['-png', '-r', '100', '-singlefile', file, join(dir, name)]);
      return readFileSync(join(dir, `${name}.png`));
    };
    const plain = await png('plain', '葛飾');
    const variant = await png('variant', '葛\u{E0102}飾');
    const same = await png('default', '葛\u{E0103}飾');
    expect(variant.equals(plain)).toBe(false);
    expect(same.equals(plain)).toBe(true);
  });
});
