import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import type { AuthUser } from '../auth/auth.types.js';

/** `refused`: a card URL answered 403 or 404 to a signed-in user; `access_log`: the access log itself was viewed. */
export type AccessKind = 'read' | 'search' | 'export' | 'history' | 'replay' | 'change' | 'register' | 'refused' | 'access_log';

/** How many card ids one access-log row of an export holds (about 1 MB of text[] at most). */
export const EXPORT_IDS_PER_ROW = 50_000;

/** Collects the ids of exported cards page by page and writes them in rows of EXPORT_IDS_PER_ROW. */
export interface ExportRecorder {
  /** Called with each page's ids before the page is sent. */
  add(cardIds: string[]): Promise<void>;
  /** Writes the last ids with the total count; `detail` is completed with the count. */
  finish(count: number): Promise<void>;
}

export interface AccessRecord {
  user: AuthUser;
  kind: AccessKind;
  cardIds: string[];
  detail: string;
  channel: 'api' | 'web' | 'cli';
  ip?: string;
  requestId?: string;
}

export interface AccessLogRow {
  id: string;
  at: Date;
  user_id: string;
  role: string;
  channel: string;
  kind: string;
  card_ids: string[];
  detail: string;
  ip: string | null;
  request_id: string | null;
}

/** Control characters (newlines included) are replaced so that input can never forge a log line. */
export function neutralize(text: string, max = 2000): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '\uFFFD').slice(0, max);
}

/**
 * The statement that appends one access-log row: for `AccessLogService.record`, and for a statement
 * that writes the row together with something else (a card action's row is written with its
 * idempotency fingerprint, in one statement, before the action is sent: CardsService).
 */
export function accessLogInsert(r: AccessRecord): { sql: string; params: unknown[] } {
  return {
    sql: `insert into access_log (user_id, role, channel, kind, card_ids, detail, ip, request_id) values (?, ?, ?, ?, ?::text[], ?, ?, ?)`,
    params: [r.user.username, r.user.role, r.channel, r.kind, `{${r.cardIds.map((id) => `"${id.replace(/["\\]/g, '')}"`).join(',')}}`, neutralize(r.detail), r.ip ?? null, r.requestId ?? null],
  };
}

/** Writes the append-only access log (R-10): who read or changed which cards, when and from where. */
@Injectable()
export class AccessLogService {
  constructor(private readonly em: EntityManager) {}

  /**
   * Entries newest first, filtered by user and card (partial, case-insensitive) and period (Asia/Tokyo
   * dates); keyset-paged by the numeric id (`before`: a positive bigint, validated by the caller).
   */
  async search(f: { user?: string; card?: string; from?: string; to?: string; before?: string; limit: number }): Promise<AccessLogRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      where.push(sql);
      params.push(value);
    };
    const like = (v: string) => `%${v.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;
    if (f.user) add(`user_id ilike ?`, like(f.user));
    if (f.card) add(`exists (select 1 from unnest(card_ids) c where c ilike ?)`, like(f.card));
    if (f.from) add('at >= ?::timestamptz', `${f.from}T00:00:00+09:00`);
    if (f.to) add(`at < (?::timestamptz + interval '1 day')`, `${f.to}T00:00:00+09:00`);
    if (f.before) add('id < ?::bigint', f.before);
    return this.em.fork().execute<AccessLogRow[]>(
      `select id::text as id, at, user_id, role, channel, kind, card_ids, detail, ip, request_id from access_log ${where.length ? `where ${where.join(' and ')}` : ''} order by access_log.id desc limit ${Number(f.limit)}`,
      params,
    );
  }

  /** For a CSV export: the ids of every exported card, in as few rows as EXPORT_IDS_PER_ROW allows. */
  exportRecorder(base: Omit<AccessRecord, 'kind' | 'cardIds' | 'detail'>, detail: (count: number, part?: number) => string): ExportRecorder {
    let pending: string[] = [];
    let seen = 0;
    let part = 0;
    const flush = async (last: boolean, count: number) => {
      if (!last && pending.length < EXPORT_IDS_PER_ROW) return;
      const ids = pending;
      pending = [];
      part++;
      await this.record({ ...base, kind: 'export', cardIds: ids, detail: last ? detail(count, part > 1 ? part : undefined) : detail(seen, part) });
    };
    return {
      add: async (ids) => {
        pending.push(...ids);
        seen += ids.length;
        await flush(false, seen);
      },
      finish: (count) => flush(true, count),
    };
  }

  async record(r: AccessRecord): Promise<void> {
    const row = accessLogInsert(r);
    await this.em.fork().execute(row.sql, row.params);
  }
}
