/**
 * Prepared statements on the ORM's pool (src/database/prepared.ts): the `?` numbering, that a
 * statement really is prepared by name on its connection, that rows come back as the ORM gives
 * them, and that a transaction is all or nothing.
 */
import { DriverException } from '@mikro-orm/core';
import type { MikroORM } from '@mikro-orm/postgresql';
import { redacted } from '../src/common/redact.js';
import { safeRandomUUID } from '../src/common/my-number.js';
import { openOrm } from '../src/database/database.js';
import { PreparedSql, numbered } from '../src/database/prepared.js';

describe('numbered placeholders', () => {
  it('numbers each ? outside quoted literals, identifiers and comments', () => {
    expect(numbered(`select ?, '?' as "a?b", ? -- why?\n, ?::int`)).toBe(`select $1, '?' as "a?b", $2 -- why?\n, $3::int`);
    expect(numbered(`select 'it''s ?', ?`)).toBe(`select 'it''s ?', $1`);
    expect(numbered(`select /* a ? here */ ?`)).toBe(`select /* a ? here */ $1`);
  });

  it('refuses an identifier placeholder, dollar quotes and an unterminated quote', () => {
    expect(() => numbered('select ?? from t')).toThrow(/not supported/);
    expect(() => numbered(`select 'x`)).toThrow(/unterminated/);
    expect(() => numbered('select $$ ? $$')).toThrow(/dollar-quoted/);
    expect(() => numbered('select $tag$ ? $tag$')).toThrow(/dollar-quoted/);
    expect(numbered('select $1::int')).toBe('select $1::int');
  });
});

describe('PreparedSql', () => {
  let orm: MikroORM;
  let db: PreparedSql;
  beforeAll(async () => {
    orm = await openOrm(process.env.DATABASE_URL!);
    db = new PreparedSql(orm.em);
  });
  afterAll(async () => orm.close());

  it('prepares a statement by name on its connection, once', async () => {
    const seen = await db.transaction(async (tx) => {
      for (const n of [1, 2, 3]) expect(await tx.execute<{ n: number }[]>(`select ?::int + 1 as n`, [n])).toEqual([{ n: n + 1 }]);
      return tx.execute<{ name: string; statement: string }[]>(`select name, statement from pg_prepared_statements where statement = 'select $1::int + 1 as n'`);
    });
    expect(seen).toHaveLength(1);
    expect(seen[0].name).toMatch(/^p[0-9a-f]{32}$/);
  });

  it('gives rows as the ORM does (the same pool and type parsers)', async () => {
    const sql = `select ?::timestamptz as at, ?::bigint as big, ?::jsonb as doc, ?::text[] as list, ?::boolean as yes, ?::text as nothing`;
    const params = ['2026-11-26T01:02:03.000Z', '9007199254740993', JSON.stringify({ a: [1] }), '{x,"y z"}', true, null];
    const prepared = await db.execute<Record<string, unknown>[]>(sql, params);
    const viaOrm = await orm.em.fork().execute(sql, params);
    expect(prepared).toEqual(viaOrm);
    expect(prepared[0].list).toEqual(['x', 'y z']);
  });

  it("throws a refused value as the ORM's DriverException, whose text the logs never see", async () => {
    const value = 'Koto-Hanako-1985';
    for (const run of [() => db.execute(`select ?::int as n`, [value]), () => db.transaction((tx) => tx.execute(`select ?::int as n`, [value]))]) {
      const e = await run().then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(DriverException);
      // SQL state class 22: the API's error filter answers it 400, as for the ORM's own statements.
      expect((e as { code?: string }).code).toBe('22P02');
      expect(String((e as Error).message)).toContain(value);
      expect(String((redacted(e) as Error).message)).not.toContain(value);
    }
  });

  it('rolls a transaction back when it throws, and commits when it resolves', async () => {
    const key = safeRandomUUID();
    const insert = `insert into idempotency_fingerprint (user_id, key, card_id, action, body_hash) values ('prepared-test', ?, 'C1', 'inspect', 'h')`;
    await expect(
      db.transaction(async (tx) => {
        await tx.execute(insert, [key]);
        throw new Error('refused after the insert');
      }),
    ).rejects.toThrow('refused after the insert');
    const count = `select count(*)::int as n from idempotency_fingerprint where user_id = 'prepared-test' and key = ?`;
    expect(await db.execute(count, [key])).toEqual([{ n: 0 }]);
    await db.transaction((tx) => tx.execute(insert, [key]));
    expect(await db.execute(count, [key])).toEqual([{ n: 1 }]);
    await db.execute(`delete from idempotency_fingerprint where user_id = 'prepared-test' and key = ?`, [key]);
  });

  it('names at most 500 distinct statements, and runs the ones past that unnamed', async () => {
    const seen = await db.transaction(async (tx) => {
      for (let i = 0; i < 510; i++) expect(await tx.execute<{ n: number }[]>(`select ?::int + ${i} as n`, [1])).toEqual([{ n: i + 1 }]);
      return tx.execute<{ statement: string }[]>(`select statement from pg_prepared_statements where statement like 'select $1::int + % as n'`);
    });
    // Last in this file: it fills the bound. The statements named before count towards it too.
    expect(seen.length).toBeGreaterThan(490);
    expect(seen.length).toBeLessThanOrEqual(500);
    expect(seen.map((r) => r.statement)).not.toContain('select $1::int + 509 as n');
  });
});
