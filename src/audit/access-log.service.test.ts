import type { EntityManager } from '@mikro-orm/postgresql';
import type { AuthUser } from '../auth/auth.types.js';
import { describeDetail } from './access-log-labels.js';
import { AccessLogService, EXPORT_IDS_PER_ROW } from './access-log.service.js';

describe('access log service', () => {
  it('records the ids of a 500,000-card export in a few rows, every id once and in order', async () => {
    const rows: { ids: string[]; detail: string }[] = [];
    const em = {
      fork: () => ({
        execute: async (_sql: string, params: unknown[]) => {
          const literal = String(params[4]);
          rows.push({ ids: literal === '{}' ? [] : literal.slice(2, -2).split('","'), detail: String(params[5]) });
          return [];
        },
      }),
    } as unknown as EntityManager;
    const user: AuthUser = { id: '1', username: 'exporter', role: 'office' };
    const recorder = new AccessLogService(em).exportRecorder({ user, channel: 'api' }, (n, part) => `csv export of ${n} cards${part ? ` (part ${part})` : ''}: x`);
    const total = 500_000;
    const all = Array.from({ length: total }, (_, i) => `C${i}`);
    for (let i = 0; i < total; i += 2000) await recorder.add(all.slice(i, i + 2000));
    await recorder.finish(total);
    expect(rows.length).toBeLessThanOrEqual(Math.ceil(total / EXPORT_IDS_PER_ROW) + 1);
    expect(Math.max(...rows.map((r) => r.ids.length))).toBeLessThanOrEqual(EXPORT_IDS_PER_ROW + 2000);
    expect(rows.flatMap((r) => r.ids)).toEqual(all);
    expect(rows.at(-1)!.detail).toBe(`csv export of ${total} cards (part ${rows.length}): x`);
  });

  it('writes a small export as one row', async () => {
    const rows: unknown[][] = [];
    const em = { fork: () => ({ execute: async (_sql: string, params: unknown[]) => rows.push(params) }) } as unknown as EntityManager;
    const recorder = new AccessLogService(em).exportRecorder({ user: { id: '1', username: 'u', role: 'ward' }, channel: 'web' }, (n, part) => `csv export of ${n} cards${part ? ` (part ${part})` : ''}: q`);
    await recorder.add(['A', 'B']);
    await recorder.finish(2);
    expect(rows).toHaveLength(1);
    expect(rows[0][4]).toBe('{"A","B"}');
    expect(rows[0][5]).toBe('csv export of 2 cards: q');
  });

  it('reads details in Japanese', () => {
    expect(describeDetail('hand_to_ward')).not.toMatch(/[a-z_]{4,}/);
    expect(describeDetail('card page')).toBe('カード画面');
    expect(describeDetail('csv export of 2 cards: state=received')).toBe('CSV出力 2件（条件: state=received）');
    expect(describeDetail('GET /api/cards/:cardId 404')).toContain('拒否');
    expect(describeDetail('ward hand-over list csv of 3 cards')).toBe('区へ引き渡すカードのCSV出力 3件');
    expect(describeDetail('inspect: refused (ILLEGAL_TRANSITION)')).toBe(`${describeDetail('inspect')}（受け付けられず：ILLEGAL_TRANSITION）`);
    expect(describeDetail('reserve: no answer in time (WORKFLOW_UNAVAILABLE); it may still be applied')).toMatch(/^.+（期限内に応答なし/);
    expect(describeDetail('reserve: no answer in time (WORKFLOW_UNAVAILABLE); it may still be applied')).not.toMatch(/reserve/);
    expect(describeDetail('reserve: failed (error); it may still be applied')).toBe(`${describeDetail('reserve')}（エラー：後で反映されることがあります）`);
  });
});
