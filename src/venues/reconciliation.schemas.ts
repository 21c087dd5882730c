/** The shelf reconciliation's inputs, bounded at the edge (messages in Japanese, shown beside the fields). */
import { z } from 'zod';
import { storagePlaceSchema } from './card-storage.repository.js';

/**
 * What a scanner or a clerk types: the ledger's barcode (the card id, `barcodeSvg(cardId)` in
 * src/printing/documents.ts), the card id, or a booking number (ours or the previous vendor's).
 * Full-width characters from a phone keyboard are folded (NFKC) before the check.
 */
export const scannedNumberSchema = z
  .string({ error: 'カード番号または予約番号を入力してください' })
  .normalize('NFKC')
  .trim()
  .min(1, 'カード番号または予約番号を入力してください（読み取り機で読み取るか、番号を入力してください）')
  .max(32, 'カード番号・予約番号は32文字以内です。読み取った内容を確かめて、もう一度読み取ってください')
  .regex(/^[A-Za-z0-9-]*$/, 'カード番号・予約番号に使える文字は英数字とハイフン（-）だけです。読み取った内容を確かめてください');

export const scanSchema = z.object({ number: scannedNumberSchema, place: storagePlaceSchema });
const personName = (label: string) =>
  z
    .string({ error: `${label}の氏名を入力してください` })
    .normalize('NFC')
    .trim()
    .min(1, `${label}の氏名を入力してください`)
    .max(100, `${label}の氏名は100文字以内で入力してください`)
    .regex(/^[^\p{Cc}\p{Cf}]*$/u, `${label}の氏名に制御文字は使えません`);
export const closeSchema = z.object({ previousVendorStaff: personName('前の受託者の立会者'), ourStaff: personName('当社の担当者') });
