/**
 * `npm run print:samples`: renders one of each printed document from the demo's residents (a notice
 * letter, a transfer ledger page, an envelope address sheet, a re-notice postcard and the batch
 * summary) with the real templates, print font and Chromium, checks them like a batch (no Type 3
 * font), and writes small PNGs of their first pages with `pdftoppm` into `docs/print-samples/`
 * (linked from the README). No database or Temporal is needed.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadWardConfig } from '../config/ward-config.js';
import { DEMO_NOTICE_RESIDENTS } from '../demo/demo-data.js';
import { type PrintCard, envelopeClassFor, envelopePages, ledgerPages, personItems, qrSvg, summaryPage } from '../printing/documents.js';
import { FontCoverage, resolveFontFile } from '../printing/glyph-coverage.js';
import { EraTable } from '../printing/japanese-era.js';
import { pdfFonts } from '../printing/pdf-check.js';
import { PdfRenderer } from '../printing/pdf-renderer.js';
import { loadPrintConfig } from '../printing/print-config.js';

const OUT = resolve(process.argv[2] ?? 'docs/print-samples');
/** pdftoppm resolution: small PNGs for the README (A4 at 60 dpi is 496 × 702 pixels). */
const DPI = '60';

const ward = loadWardConfig();
const print = loadPrintConfig();
const font = FontCoverage.open(resolveFontFile(print.font));
const renderer = new PdfRenderer({ fontFamily: font.name, fontsDir: resolve('fonts') });
const eras = EraTable.load();
// A fixed day, so that the committed samples change only when a template does.
const issuedOn = eras.format('2026-11-26');
const batchId = 'B20261126-001';

// The demo's residents waiting for their notice, then a few more in the demo's style.
const more = [
  { name: '佐藤\u3000太郎', postalCode: '135-0016', address: '江東区東陽二丁目3番4号' },
  { name: 'NGUYEN VAN AN', postalCode: '135-0016', address: '江東区東陽五丁目1番2号', pickupDeadline: eras.format('2027-03-31') },
  { name: '鈴木\u3000花子', postalCode: '135-0016', address: '江東区東陽一丁目5番6号' },
];
const cards: PrintCard[] = [...DEMO_NOTICE_RESIDENTS, ...more].map((r, i) => ({
  cardId: `D${String(81 + i).padStart(7, '0')}`,
  bookingNumber: String(48203170 + i * 7919),
  name: r.name,
  postalCode: r.postalCode,
  address: r.address,
  venueId: ward.venueForPostalCode(r.postalCode) ?? ward.venues[0].id,
  postOfficeId: ward.postOfficeForPostalCode(r.postalCode) ?? ward.postOffices[0].id,
  pickupDeadline: 'pickupDeadline' in r ? r.pickupDeadline : undefined,
}));
const venue = (id: string) => ward.venues.find((v) => v.id === id)!;
const shared = {
  wardName: ward.name,
  bookingUrl: new URL(print.bookingPath, process.env.PUBLIC_URL ?? 'http://localhost:3000').toString(),
  callCenter: print.callCenter,
  bring: print.bring,
};
const fieldsOf = (template: string) => (renderer.manifest(template) as { fields?: Record<string, { maxWidth: number }> }).fields ?? {};
const person = (template: string) => personItems(cards, fieldsOf(template), font, (c) => ({ issuedOn, venueName: venue(c.venueId).name, venueAddress: venue(c.venueId).address }));

const notice = person('notice-letter');
const kuyakusho = cards.filter((c) => c.venueId === 'kuyakusho');
const fukagawa = cards.filter((c) => c.postOfficeId === 'fukagawa');
const samples: { name: string; template: string; items: { id: string }[]; shared?: Record<string, unknown> }[] = [
  // The notice of the demo's resident with an ideographic variation sequence (葛 + U+E0102).
  { name: 'notice-letter', template: 'notice-letter', items: [notice.items[2]], shared: { ...shared, bookingQr: await qrSvg(shared.bookingUrl) } },
  { name: 'transfer-ledger', template: 'transfer-ledger', items: ledgerPages(venue('kuyakusho').name, batchId, issuedOn, kuyakusho, 20, font).slice(0, 1) },
  { name: 'envelope-sheet', template: 'envelope-sheet', items: envelopePages('深川郵便局', envelopeClassFor(fukagawa.length), batchId, fukagawa, 25, font).slice(0, 1) },
  { name: 'renotice-postcard', template: 'renotice-postcard', items: [person('renotice-postcard').items[4]], shared },
  {
    name: 'batch-summary',
    template: 'batch-summary',
    items: [summaryPage({ batchId, kindLabel: '交付通知書', issuedOn, cards, postOffices: ward.postOffices, venues: ward.venues, handwritingCount: notice.handwriting.length })],
  },
];

const work = mkdtempSync(join(tmpdir(), 'koto-print-samples-'));
mkdirSync(OUT, { recursive: true });
try {
  for (const s of samples) {
    const pdf = join(work, `${s.name}.pdf`);
    await renderer.render({ template: s.template, items: s.items, outFile: pdf, workDir: join(work, `${s.name}.work`), shared: s.shared });
    const type3 = (await pdfFonts(pdf)).filter((f) => f.type.includes('Type 3'));
    if (type3.length > 0) throw new Error(`${s.name}: Type 3 fonts ${type3.map((f) => f.name).join(', ')}`);
    execFileSync('pdftoppm', ['-png', '-r', DPI, '-f', '1', '-l', '1', '-singlefile', pdf, join(work, s.name)]);
    renameSync(join(work, `${s.name}.png`), join(OUT, `${s.name}.png`));
    process.stdout.write(`${join(OUT, `${s.name}.png`)}\n`);
  }
} finally {
  await renderer.close();
  rmSync(work, { recursive: true, force: true });
}
