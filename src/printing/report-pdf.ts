/**
 * Reports as A4 PDFs (monthly plan and results, staffing forecast, hand-over list, the migration's
 * integrity report): a Handlebars template in `templates/` (one item: the whole report, flowing over
 * as many pages as it needs), the shared `templates/print.css` and the ward's print font, rendered by
 * the same `PdfRenderer` as the printed matter and checked afterwards (no Type 3 font, only the print
 * font embedded).
 *
 * Where it runs: in the API process, on one Chromium shared by every report and launched on the first
 * report (not on the `print` task queue: a report is a few pages a staff member waits for, not a
 * batch). The browser is closed after two idle minutes and when the application stops.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { FontCoverage, resolveFontFile } from './glyph-coverage.js';
import { pdfFonts } from './pdf-check.js';
import { PdfRenderer } from './pdf-renderer.js';
import { loadPrintConfig } from './print-config.js';

const run = promisify(execFile);
const IDLE_CLOSE_MS = 120_000;

/** The generic report (`templates/report.hbs`): a title, facts, tables (and charts), signatures. */
export interface ReportDocument {
  title: string;
  subtitle: string;
  /** Lines under the title: 対象月, 作成日, 会場 … */
  meta: { label: string; value: string }[];
  sections: ReportSection[];
  /** Boxes for the signatures the ward collects (区の確認者, 受託者 …); empty for none. */
  signatures: string[];
  footnote: string;
}

export interface ReportSection {
  heading: string;
  note: string;
  /** An SVG chart (from `src/web/charts.ts`) printed above the table; '' for none. Trusted markup. */
  svg: string;
  columns: { label: string; right: boolean }[];
  rows: { cells: string[] }[];
}

/** A report document with every optional part filled (the templates are compiled strict). */
export function reportDocument(d: {
  title: string;
  subtitle?: string;
  meta?: { label: string; value: string | number }[];
  sections: {
    heading?: string;
    note?: string;
    svg?: string;
    columns: (string | { label: string; right?: boolean })[];
    rows: (string | number | null | undefined)[][];
  }[];
  signatures?: string[];
  footnote?: string;
}): ReportDocument {
  const cell = (v: string | number | null | undefined) => (v === null || v === undefined ? '' : typeof v === 'number' ? v.toLocaleString('ja-JP') : v);
  return {
    title: d.title,
    subtitle: d.subtitle ?? '',
    meta: (d.meta ?? []).map((m) => ({ label: m.label, value: String(m.value) })),
    sections: d.sections.map((s) => ({
      heading: s.heading ?? '',
      note: s.note ?? '',
      svg: s.svg ?? '',
      columns: s.columns.map((c) => (typeof c === 'string' ? { label: c, right: false } : { label: c.label, right: c.right ?? false })),
      rows: s.rows.map((r) => ({ cells: r.map(cell) })),
    })),
    signatures: d.signatures ?? [],
    footnote: d.footnote ?? '',
  };
}

let shared: { renderer: PdfRenderer; active: number; timer?: NodeJS.Timeout } | undefined;

function renderer() {
  if (!shared) {
    const font = FontCoverage.open(resolveFontFile(loadPrintConfig().font));
    shared = { renderer: new PdfRenderer({ fontFamily: font.name, fontsDir: resolve('fonts') }), active: 0 };
  }
  if (shared.timer) clearTimeout(shared.timer);
  shared.timer = undefined;
  return shared;
}

/** Closes the reports' browser (the application's shutdown; idle closing does it otherwise). */
export async function closeReportPdf(): Promise<void> {
  const s = shared;
  shared = undefined;
  if (s?.timer) clearTimeout(s.timer);
  await s?.renderer.close();
}

/** Pages of a PDF (`pdfinfo`). */
export async function pdfPageCount(file: string): Promise<number> {
  const { stdout } = await run('pdfinfo', [file]);
  const m = /^Pages:\s+(\d+)/m.exec(stdout);
  if (!m) throw new Error(`pdfinfo gave no page count for ${file}`);
  return Number(m[1]);
}

/**
 * Renders `data` with `templates/<template>.hbs` (it needs an entry in `templates/manifest.json`
 * for its paper) to `outFile`. Refuses a PDF with a Type 3 font or a font other than the print font.
 */
export async function renderReportPdf(template: string, data: unknown, outFile: string): Promise<{ file: string; sha256: string; pages: number }> {
  const s = renderer();
  s.active++;
  const workDir = mkdtempSync(join(tmpdir(), 'koto-report-'));
  try {
    const result = await s.renderer.render({ template, items: [data], outFile, workDir, chunkSize: 1 });
    const fonts = await pdfFonts(result.file);
    const bad = fonts.filter((f) => f.type.includes('Type 3') || !f.embedded);
    if (bad.length > 0) throw new Error(`report ${template}: fonts that are not the embedded print font: ${bad.map((f) => `${f.name} (${f.type})`).join(', ')}`);
    return { file: result.file, sha256: result.sha256, pages: await pdfPageCount(result.file) };
  } finally {
    rmSync(workDir, { recursive: true, force: true });
    s.active--;
    if (s.active === 0 && shared === s) {
      s.timer = setTimeout(() => {
        if (shared === s && s.active === 0) void closeReportPdf();
      }, IDLE_CLOSE_MS);
      s.timer.unref();
    }
  }
}
