/**
 * Dates of the previous vendor's export, in the formats a mapping names: era code + YYMMDD
 * (`4020512`: 4 平成, year 2, 12 May = 1990-05-12), era text (`令和6年4月1日`, `令和元年5月1日`,
 * `R6.4.1`, `H31.4.30`), or western with slashes or hyphens (`2024/4/1`, `2024-04-01`). The eras
 * come from the era table (`config/eras.json`), so a new era is configuration.
 */
import type { EraTable } from '../printing/japanese-era.js';
import type { DateFormat } from './mapping.js';

export type DateResult = { ok: true; iso: string } | { ok: false; reason: string };

const ERA_CODE = /^(\d)(\d{2})(\d{2})(\d{2})$/;
const SEP = '\\s*(?:[./\\-]|年|月)\\s*';
const ERA_TEXT = new RegExp(`^(\\p{Script=Han}{2}|[A-Za-z])\\s*(元|\\d{1,2})${SEP}(\\d{1,2})${SEP}(\\d{1,2})\\s*日?$`, 'u');
const WESTERN = /^(\d{4})[/-](\d{1,2})[/-](\d{1,2})$/;

function validWestern(y: number, m: number, d: number): string | undefined {
  const date = new Date(Date.UTC(y, m - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) return undefined;
  return date.toISOString().slice(0, 10);
}

/** Parses one date cell (already NFKC-normalised by the caller or not: full-width digits are folded here). */
export function parseLegacyDate(value: string, format: DateFormat, eras: EraTable): DateResult {
  const v = value.normalize('NFKC').trim();
  switch (format) {
    case 'era-code': {
      const m = ERA_CODE.exec(v);
      if (!m) return { ok: false, reason: `「${v}」は元号コード＋年月日（7桁、例 4020512）ではありません` };
      const iso = eras.toIso(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]));
      return iso ? { ok: true, iso } : { ok: false, reason: `「${v}」はありえない日付です（元号コード${m[1]}）` };
    }
    case 'era-text': {
      const m = ERA_TEXT.exec(v);
      if (!m) return { ok: false, reason: `「${v}」は和暦の日付（例 令和6年4月1日、R6.4.1）ではありません` };
      const era = m[1].length === 1 ? m[1].toUpperCase() : m[1];
      const iso = eras.toIso(era, m[2] === '元' ? 1 : Number(m[2]), Number(m[3]), Number(m[4]));
      return iso ? { ok: true, iso } : { ok: false, reason: `「${v}」はありえない日付です` };
    }
    case 'western': {
      const m = WESTERN.exec(v);
      const iso = m ? validWestern(Number(m[1]), Number(m[2]), Number(m[3])) : undefined;
      if (!m) return { ok: false, reason: `「${v}」は西暦の日付（例 2024/4/1、2024-04-01）ではありません` };
      return iso ? { ok: true, iso } : { ok: false, reason: `「${v}」はありえない日付です` };
    }
  }
}
