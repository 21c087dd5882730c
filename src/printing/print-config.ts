/** The ward's printing configuration (`config/<ward>/print.json`): font, call center line, what to bring. */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';

const schema = z
  .object({
    _comment: z.string().optional(),
    font: z.string().min(1).max(200),
    bookingPath: z.string().regex(/^\/[a-z0-9/-]{0,60}$/),
    callCenter: z.string().min(1).max(300),
    bring: z.array(z.string().min(1).max(200)).min(1).max(12),
    dailyQuota: z.number().int().min(1).max(20000),
    maxQuota: z.number().int().min(1).max(20000),
  })
  .strict();

export type PrintConfig = z.infer<typeof schema>;

export function loadPrintConfig(dir = process.env.WARD_CONFIG_DIR ?? 'config/koto'): PrintConfig {
  return schema.parse(JSON.parse(readFileSync(join(resolve(dir), 'print.json'), 'utf8')));
}
