import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import type { AuthUser } from '../auth/auth.types.js';

export type AccessKind = 'read' | 'search' | 'export' | 'history' | 'replay' | 'change' | 'register';

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

/** Writes the append-only access log (R-10): who read or changed which cards, when and from where. */
@Injectable()
export class AccessLogService {
  constructor(private readonly em: EntityManager) {}

  /** Entries newest first, filtered by user, card and period (Asia/Tokyo dates); keyset-paged by id. */
  async search(f: { user?: string; card?: string; from?: string; to?: string; before?: string; limit: number }): Promise<AccessLogRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      where.push(sql);
      params.push(value);
    };
    if (f.user) add('user_id = ?', f.user);
    if (f.card) add('? = any(card_ids)', f.card);
    if (f.from) add('at >= ?', `${f.from}T00:00:00+09:00`);
    if (f.to) add(`at < (?::timestamptz + interval '1 day')`, `${f.to}T00:00:00+09:00`);
    if (f.before) add('id < ?', f.before);
    return this.em.fork().execute<AccessLogRow[]>(
      `select id::text, at, user_id, role, channel, kind, card_ids, detail, ip, request_id from access_log ${where.length ? `where ${where.join(' and ')}` : ''} order by id desc limit ${f.limit}`,
      params,
    );
  }

  async record(r: AccessRecord): Promise<void> {
    await this.em.fork().execute(
      `insert into access_log (user_id, role, channel, kind, card_ids, detail, ip, request_id) values (?, ?, ?, ?, ?::text[], ?, ?, ?)`,
      [r.user.username, r.user.role, r.channel, r.kind, `{${r.cardIds.map((id) => `"${id.replace(/["\\]/g, '')}"`).join(',')}}`, neutralize(r.detail), r.ip ?? null, r.requestId ?? null],
    );
  }
}
