import { Migrator } from '@mikro-orm/migrations';
import { type Options, defineConfig } from '@mikro-orm/postgresql';
import { AccessLogEntry } from '../audit/access-log.entity.js';
import { ApiToken, AppUser, LoginAttempt, RecoveryCode, WebSession } from '../auth/auth.entities.js';
import { BulkJob, SavedSearch } from '../worklists/worklist.entities.js';
import { QaEntry, QaRevision } from '../qa/qa.entities.js';
import { BookingRecord, Card, CardEventRecord, CardResident } from '../cards/card.entities.js';
import { migrations } from './migrations/index.js';

export const entities = [
  Card,
  CardEventRecord,
  CardResident,
  BookingRecord,
  AppUser,
  ApiToken,
  WebSession,
  LoginAttempt,
  RecoveryCode,
  AccessLogEntry,
  BulkJob,
  SavedSearch,
  QaEntry,
  QaRevision,
] as const;

export function ormConfig(databaseUrl: string, extra: Partial<Options> = {}): Options {
  return defineConfig({
    clientUrl: databaseUrl,
    entities: [...entities],
    extensions: [Migrator],
    // Schema changes go through migrations only; the snapshot lets `migration:create` diff against it.
    migrations: {
      path: 'src/database/migrations',
      migrationsList: migrations,
      snapshot: true,
      snapshotName: '.snapshot-cards',
      snapshotOnMigrate: false,
      emit: 'ts',
      transactional: true,
      allOrNothing: true,
      silent: true,
    },
    pool: { min: 1, max: 10 },
    debug: false,
    ...extra,
  });
}
