/**
 * The printed documents of a mail batch, as items for the renderer (one item per page or sheet):
 * notices, re-notice postcards, the per-venue transfer ledger with a barcode per card,
 * envelope address sheets per post office and envelope class, and the batch summary. Every
 * printed person field goes through `preparePrintFields` first (blanks and the hand-writing list).
 */
import bwipjs from 'bwip-js';
import QRCode from 'qrcode';
import type { FontCoverage } from './glyph-coverage.js';
import { type FieldBox, type HandwritingEntry, preparePrintFields } from './print-fields.js';

export interface PrintCard {
  cardId: string;
  bookingNumber: string;
  name: string;
  postalCode: string;
  address: string;
  venueId: string;
  postOfficeId: string;
  /** Pickup deadline (residence period ending soon, R-3.7), already in the Japanese era. */
  pickupDeadline?: string;
  /** A reissued notice: printed 再発行. */
  reissue?: boolean;
}

/**
 * The name printed for the resident, by the ward's name category: the registered name, the
 * alphabet name or the common name (通称名); the registered name when the chosen one is missing.
 */
export function printedName(r: { name: string; alphabetName: string | null; commonName: string | null; nameCategory: 'legal' | 'alphabet' | 'common' }): string {
  if (r.nameCategory === 'alphabet' && r.alphabetName) return r.alphabetName;
  if (r.nameCategory === 'common' && r.commonName) return r.commonName;
  return r.name;
}

/** 区内特別郵便 above this many items for one post office, otherwise 後納郵便. */
export const SPECIAL_MAIL_ABOVE = 100;
export type EnvelopeClass = 'kunai_tokubetsu' | 'konou';
export const ENVELOPE_CLASS_LABELS: Record<EnvelopeClass, string> = { kunai_tokubetsu: '区内特別郵便', konou: '後納郵便' };

export const envelopeClassFor = (itemsForPostOffice: number): EnvelopeClass => (itemsForPostOffice > SPECIAL_MAIL_ABOVE ? 'kunai_tokubetsu' : 'konou');

/** Cards sorted for the post: by delivering post office, then postal code and address. */
export function sortForPost<T extends Pick<PrintCard, 'postOfficeId' | 'postalCode' | 'address' | 'cardId'>>(cards: T[], postOfficeOrder: string[]): T[] {
  const rank = new Map(postOfficeOrder.map((id, i) => [id, i]));
  return [...cards].sort(
    (a, b) =>
      (rank.get(a.postOfficeId) ?? 99) - (rank.get(b.postOfficeId) ?? 99) ||
      a.postalCode.localeCompare(b.postalCode) ||
      a.address.localeCompare(b.address, 'ja') ||
      a.cardId.localeCompare(b.cardId),
  );
}

const chunk = <T>(xs: T[], n: number): T[][] => Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, (i + 1) * n));

/** A Code 128 barcode of a text, as inline SVG. */
export const barcodeSvg = (text: string) => bwipjs.toSVG({ bcid: 'code128', text, height: 8, includetext: false });

/** A QR code of a URL, as inline SVG. */
export const qrSvg = (text: string) => QRCode.toString(text, { type: 'svg', margin: 0, errorCorrectionLevel: 'M' });

export interface PersonItems<T> {
  items: T[];
  handwriting: HandwritingEntry[];
}

/** Items of a per-card document (notice letter, re-notice postcard): person fields prepared. */
export function personItems(
  cards: PrintCard[],
  boxes: Record<string, FieldBox>,
  font: FontCoverage,
  extra: (c: PrintCard) => Record<string, unknown>,
): PersonItems<Record<string, unknown> & { id: string; name: string; address: string }> {
  const handwriting: HandwritingEntry[] = [];
  const items = cards.map((c) => {
    const p = preparePrintFields(c.cardId, { name: c.name, address: c.address }, boxes, font);
    handwriting.push(...p.handwriting);
    return { id: c.cardId, postalCode: c.postalCode, bookingNumber: c.bookingNumber, pickupDeadline: c.pickupDeadline, reissue: c.reissue === true, ...extra(c), ...p.fields };
  });
  return { items, handwriting };
}

/** Transfer ledger pages of one venue: `rowsPerPage` cards a page, each with its barcode. */
export function ledgerPages(venueName: string, batchId: string, issuedOn: string, cards: PrintCard[], rowsPerPage: number, font: FontCoverage) {
  const pages = chunk(cards, rowsPerPage);
  return pages.map((rows, i) => ({
    id: `ledger-${batchId}-${venueName}-${i + 1}`,
    venueName,
    batchId,
    issuedOn,
    page: i + 1,
    pages: pages.length,
    rows: rows.map((c, j) => ({
      no: i * rowsPerPage + j + 1,
      cardId: c.cardId,
      bookingNumber: c.bookingNumber,
      name: font.printable(c.name).text,
      barcode: barcodeSvg(c.cardId),
    })),
  }));
}

/**
 * The envelope each kind of batch is sealed in: notices in the ordinary envelope, re-notice postcards
 * in the dedicated re-notice envelope (R-6.5: 再発行した交付通知書を送付するための専用封筒).
 */
export const ENVELOPE_LABELS = { notice: '交付通知書用封筒', renotice: '再通知専用封筒' } as const;

/** Envelope address sheets of one post office and envelope class. */
export function envelopePages(
  postOfficeName: string,
  envelopeClass: EnvelopeClass,
  batchId: string,
  cards: PrintCard[],
  rowsPerPage: number,
  font: FontCoverage,
  batchKind: keyof typeof ENVELOPE_LABELS = 'notice',
) {
  const pages = chunk(cards, rowsPerPage);
  return pages.map((rows, i) => ({
    id: `envelopes-${batchId}-${postOfficeName}-${i + 1}`,
    postOfficeName,
    envelopeLabel: ENVELOPE_LABELS[batchKind],
    envelopeClassLabel: ENVELOPE_CLASS_LABELS[envelopeClass],
    count: cards.length,
    page: i + 1,
    pages: pages.length,
    rows: rows.map((c, j) => ({ no: i * rowsPerPage + j + 1, postalCode: c.postalCode, address: font.printable(c.address).text, name: font.printable(c.name).text })),
  }));
}

export interface BatchSummary {
  id: string;
  batchId: string;
  kindLabel: string;
  issuedOn: string;
  total: number;
  offices: { name: string; envelopeClassLabel: string; count: number }[];
  venues: { name: string; count: number }[];
  handwritingCount: number;
}

/**
 * The batch summary, the first sheet of every batch: items per delivering post office with its
 * envelope class (counted as the envelope sheets count them), per venue, and the hand-writing list's
 * length. `summaryTexts` is what the page check expects to read back from it.
 */
export function summaryPage(input: {
  batchId: string;
  kindLabel: string;
  issuedOn: string;
  cards: Pick<PrintCard, 'venueId' | 'postOfficeId'>[];
  postOffices: { id: string; name: string }[];
  venues: { id: string; name: string }[];
  handwritingCount: number;
}): BatchSummary {
  const count = (pick: (c: Pick<PrintCard, 'venueId' | 'postOfficeId'>) => string, id: string) => input.cards.filter((c) => pick(c) === id).length;
  return {
    id: `summary-${input.batchId}`,
    batchId: input.batchId,
    kindLabel: input.kindLabel,
    issuedOn: input.issuedOn,
    total: input.cards.length,
    offices: input.postOffices
      .map((p) => ({ name: p.name, count: count((c) => c.postOfficeId, p.id) }))
      .filter((o) => o.count > 0)
      .map((o) => ({ ...o, envelopeClassLabel: ENVELOPE_CLASS_LABELS[envelopeClassFor(o.count)] })),
    venues: input.venues.map((v) => ({ name: v.name, count: count((c) => c.venueId, v.id) })).filter((v) => v.count > 0),
    handwritingCount: input.handwritingCount,
  };
}

/** The texts the summary's page must read back as (the page check, R-7.7). */
export const summaryTexts = (s: BatchSummary): string[] => [
  `発送バッチ集計（${s.batchId}）`,
  `作成日：${s.issuedOn}`,
  `通数：${s.total} 通`,
  ...s.offices.map((o) => `${o.name}（${o.envelopeClassLabel}）：${o.count} 通`),
  ...s.venues.map((v) => `${v.name}：${v.count} 通`),
  `${s.handwritingCount} 件`,
];
