/**
 * Named prepared statements on the ORM's own `pg` pool, for the statements every booking and every
 * action runs. The ORM's `execute` inlines each parameter into the SQL text, so PostgreSQL parses and
 * plans every such statement afresh: in `bench:booking` (pg_stat_statements) planning took more of
 * the database's time than executing for the token's look-up, the card-and-slot read and the
 * reservation's statements. A named statement is parsed once per connection, and after five runs
 * PostgreSQL keeps a generic plan when it costs no more than a fresh one.
 *
 * The SQL is written as for the ORM (`?` for each parameter) and numbered here ($1, $2, …), outside
 * quoted literals, identifiers and comments. A parameter goes to PostgreSQL as a value, never as SQL
 * text, so a parameter whose type PostgreSQL cannot infer from its place needs a cast
 * (`?::timestamptz`).
 * Parameters are strings, numbers, booleans or null (an array as its literal, `{a,b}`).
 * The same pool and type parsers as the ORM's: rows come back as `em.execute` gives them.
 */
import { createHash } from 'node:crypto';
import type { PostgreSqlConnection } from '@mikro-orm/postgresql';
import type { Pool, PoolClient } from 'pg';
import type { SqlRunner } from '../booking/booking-number.js';

/** Something that holds the ORM's connection and driver: an EntityManager (a fork or the ORM's own). */
export interface HasConnection {
  getConnection(): unknown;
  getDriver(): { convertException(e: Error): Error };
}

/** Distinct statements named per process; past this many, a new statement runs unnamed (parsed each time). */
const MAX_NAMED = 500;
const compiled = new Map<string, { name?: string; text: string }>();

/**
 * `?` placeholders numbered as $1, $2, …, skipping quoted literals, identifiers and comments; `??`
 * and dollar quotes are refused.
 */
export function numbered(sql: string): string {
  let out = '';
  let n = 0;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i];
    if (c === '$' && /^\$[A-Za-z_]*\$/.test(sql.slice(i))) {
      // A `?` inside a dollar-quoted string would be taken for a placeholder: none is written so.
      throw new Error('dollar-quoted strings are not supported in a prepared statement');
    } else if (c === '/' && sql[i + 1] === '*') {
      // A block comment, kept as it is.
      const end = sql.indexOf('*/', i + 2);
      if (end < 0) throw new Error('unterminated comment in SQL');
      out += sql.slice(i, end + 2);
      i = end + 1;
    } else if (c === '-' && sql[i + 1] === '-') {
      // A line comment, kept as it is.
      const end = sql.indexOf('\n', i);
      out += end < 0 ? sql.slice(i) : sql.slice(i, end);
      i = end < 0 ? sql.length : end - 1;
    } else if (c === "'" || c === '"') {
      const end = sql.indexOf(c, i + 1);
      if (end < 0) throw new Error('unterminated quote in SQL');
      out += sql.slice(i, end + 1);
      i = end;
    } else if (c === '?') {
      if (sql[i + 1] === '?') throw new Error('`??` (an identifier placeholder) is not supported in a prepared statement');
      out += `$${++n}`;
    } else out += c;
  }
  return out;
}

function statement(sql: string): { name?: string; text: string } {
  const known = compiled.get(sql);
  if (known) return known;
  const text = numbered(sql);
  // Past the bound nothing more is kept: memory stays bounded whatever SQL a caller builds.
  if (compiled.size >= MAX_NAMED) return { text };
  const s = { name: `p${createHash('sha1').update(text).digest('hex').slice(0, 32)}`, text };
  compiled.set(sql, s);
  return s;
}

/** Runs statements on one pooled client (a transaction) or on the pool (each statement its own). */
class Runner implements SqlRunner {
  constructor(
    private readonly target: Pool | PoolClient,
    private readonly convert: (e: Error) => Error,
  ) {}

  async execute<T>(sql: string, params: unknown[] = []): Promise<T> {
    const { name, text } = statement(sql);
    try {
      const res = await this.target.query({ name, text, values: params });
      return res.rows as T;
    } catch (e) {
      throw this.convert(e as Error);
    }
  }
}

/** Prepared statements on `em`'s pool: one at a time (`execute`) or in a transaction of one client. */
export class PreparedSql implements SqlRunner {
  constructor(private readonly em: HasConnection) {}

  /**
   * A database error as the ORM throws it (its `DriverException` classes, SQL state kept): so the
   * API's error filter answers a refused value as it always has (class 22: 400), and `redacted()`
   * keeps the error's text, which may quote parameters (personal data), out of every log.
   */
  private readonly convert = (e: Error): Error => this.em.getDriver().convertException(e);

  private pool(): Promise<Pool> {
    return (this.em.getConnection() as PostgreSqlConnection).getNativeClient() as Promise<Pool>;
  }

  async execute<T>(sql: string, params: unknown[] = []): Promise<T> {
    return new Runner(await this.pool(), this.convert).execute<T>(sql, params);
  }

  /** `fn` in a transaction: committed when it resolves, rolled back when it throws. */
  async transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
    const client = await (await this.pool()).connect().catch((e: Error) => {
      throw this.convert(e);
    });
    const control = (command: 'begin' | 'commit') =>
      client.query(command).catch((e: Error) => {
        throw this.convert(e);
      });
    let broken: Error | undefined;
    try {
      await control('begin');
      const result = await fn(new Runner(client, this.convert));
      await control('commit');
      return result;
    } catch (e) {
      await client.query('rollback').catch((r: Error) => (broken = r));
      throw e;
    } finally {
      // A client whose rollback failed (its connection gone) is not given back to the pool.
      client.release(broken);
    }
  }
}
