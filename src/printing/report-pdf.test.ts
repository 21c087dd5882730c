import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pageTexts, pdfFonts, squeeze } from './pdf-check.js';
import { closeReportPdf, renderReportPdf, reportDocument } from './report-pdf.js';

describe('report PDFs (real Chromium, real poppler)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'koto-report-test-'));
  afterAll(() => closeReportPdf());

  it('renders a report over two A4 pages with the print font only, its Japanese text readable, headers repeated', async () => {
    const doc = reportDocument({
      title: '月次実績報告書',
      subtitle: '令和13年1月分',
      meta: [{ label: '作成日', value: '令和12年12月25日' }],
      sections: [
        {
          heading: '日別の交付枚数',
          columns: ['日付', { label: '交付枚数', right: true }],
          rows: Array.from({ length: 70 }, (_, i) => [`1月${i + 1}日<b>`, 1000 + i]),
        },
      ],
      signatures: ['区の確認者', '受託者'],
    });
    const out = join(dir, 'two-pages.pdf');
    const result = await renderReportPdf('report', doc, out);
    expect(result.file).toBe(out);
    expect(result.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(result.pages).toBe(2);
    const fonts = await pdfFonts(out);
    expect(fonts.length).toBeGreaterThan(0);
    expect(fonts.filter((f) => f.type.includes('Type 3'))).toEqual([]);
    expect(fonts.every((f) => f.embedded && /IPAmj/.test(f.name))).toBe(true);
    const pages = (await pageTexts(out)).map(squeeze);
    expect(pages).toHaveLength(2);
    expect(pages[0]).toContain('月次実績報告書');
    expect(pages[0]).toContain('令和13年1月分');
    // Text is escaped (the cell's markup is printed as text), numbers grouped, the header on both pages.
    expect(pages[0]).toContain('1月1日<b>');
    expect(pages[0]).toContain('1,000');
    expect(pages[1]).toContain('交付枚数');
    expect(pages[1]).toContain('1,069');
    expect(pages[1]).toContain('区の確認者');
    // Page numbers in the margin.
    expect(pages[1]).toContain('2/2');
  });
});
