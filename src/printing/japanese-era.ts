/**
 * Dates in the Japanese era (和暦) for printed matter, from an era table that is data
 * (`config/eras.json`, R-7.9): a new era is a configuration change, not a code change.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';

const eraSchema = z.object({
  name: z.string().min(1).max(4),
  short: z.string().regex(/^[A-Z]$/),
  code: z.number().int().min(1).max(9),
  since: z.iso.date(),
});
const erasFileSchema = z.object({ eras: z.array(eraSchema).min(1) });

export type Era = z.infer<typeof eraSchema>;

/** The era table, checked: eras in order of their first day, names and codes unique. */
export class EraTable {
  private constructor(readonly eras: readonly Era[]) {}

  static of(eras: Era[]): EraTable {
    const parsed = z.array(eraSchema).min(1).parse(eras);
    for (let i = 1; i < parsed.length; i++) {
      if (parsed[i].since <= parsed[i - 1].since) throw new Error(`era ${parsed[i].name} must begin after ${parsed[i - 1].name}`);
    }
    for (const key of ['name', 'short', 'code'] as const) {
      if (new Set(parsed.map((e) => e[key])).size !== parsed.length) throw new Error(`two eras share a ${key}`);
    }
    return new EraTable(parsed);
  }

  static load(file = process.env.ERAS_FILE ?? 'config/eras.json'): EraTable {
    return EraTable.of(erasFileSchema.parse(JSON.parse(readFileSync(resolve(file), 'utf8'))).eras);
  }

  /** The era of an ISO date and the year in it (1 = the first year, 元年). */
  eraOf(isoDate: string): { era: Era; year: number } {
    const era = [...this.eras].reverse().find((e) => e.since <= isoDate);
    if (!era) throw new Error(`${isoDate} is before the first era in the table (${this.eras[0].name})`);
    return { era, year: Number(isoDate.slice(0, 4)) - Number(era.since.slice(0, 4)) + 1 };
  }

  /**
   * `令和8年11月26日` (`gannen`: the first year as 元年, as letters print it); `R8.11.26` in the
   * short style.
   */
  format(isoDate: string, style: 'long' | 'short' = 'long', gannen = true): string {
    const { era, year } = this.eraOf(isoDate);
    const m = Number(isoDate.slice(5, 7));
    const d = Number(isoDate.slice(8, 10));
    if (style === 'short') return `${era.short}${year}.${m}.${d}`;
    return `${era.name}${year === 1 && gannen ? '元' : year}年${m}月${d}日`;
  }

  /** The ISO date of an era year, month and day; undefined when that day is outside the era. */
  toIso(eraKey: string | number, year: number, month: number, day: number): string | undefined {
    const era = this.eras.find((e) => e.name === eraKey || e.short === eraKey || e.code === eraKey);
    if (!era || year < 1) return undefined;
    const y = Number(era.since.slice(0, 4)) + year - 1;
    const date = new Date(Date.UTC(y, month - 1, day));
    if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return undefined;
    const iso = date.toISOString().slice(0, 10);
    const next = this.eras[this.eras.indexOf(era) + 1];
    return iso >= era.since && (!next || iso < next.since) ? iso : undefined;
  }
}
