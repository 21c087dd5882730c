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

/** Control characters (newlines included) are replaced so that input can never forge a log line. */
export function neutralize(text: string, max = 2000): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '\uFFFD').slice(0, max);
}

/** Writes the append-only access log (R-10): who read or changed which cards, when and from where. */
@Injectable()
export class AccessLogService {
  constructor(private readonly em: EntityManager) {}

  async record(r: AccessRecord): Promise<void> {
    await this.em.fork().execute(
      `insert into access_log (user_id, role, channel, kind, card_ids, detail, ip, request_id) values (?, ?, ?, ?, ?::text[], ?, ?, ?)`,
      [r.user.username, r.user.role, r.channel, r.kind, `{${r.cardIds.map((id) => `"${id.replace(/["\\]/g, '')}"`).join(',')}}`, neutralize(r.detail), r.ip ?? null, r.requestId ?? null],
    );
  }
}
