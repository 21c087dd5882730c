import { defineEntity, p } from '@mikro-orm/core';

/** Append-only record of every staff read of personal data and every change. */
export const AccessLogEntry = defineEntity({
  name: 'AccessLogEntry',
  tableName: 'access_log',
  properties: {
    id: p.bigint().primary().autoincrement(),
    at: p.datetime().defaultRaw('now()').index('access_log_at_idx'),
    userId: p.string().length(100).index('access_log_user_idx'),
    role: p.string().length(20),
    channel: p.string().length(20),
    /** read, search, export, history, replay, change */
    kind: p.string().length(20),
    cardIds: p.array().columnType('text[]').defaultRaw(`'{}'`),
    detail: p.text(),
    ip: p.string().length(64).nullable(),
    requestId: p.string().length(64).nullable(),
  },
});
