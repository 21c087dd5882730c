import { MikroORM } from '@mikro-orm/postgresql';
import { ormConfig } from './orm.config.js';

export async function openOrm(databaseUrl: string): Promise<MikroORM> {
  return MikroORM.init(ormConfig(databaseUrl));
}

/** Applies every pending migration; returns the names applied. */
export async function migrate(databaseUrl: string): Promise<string[]> {
  const orm = await openOrm(databaseUrl);
  try {
    const applied = await orm.migrator.up();
    return applied.map((m) => m.name);
  } finally {
    await orm.close();
  }
}

/** Writes a migration for the difference between the entities and the snapshot. */
export async function createMigration(databaseUrl: string, name?: string): Promise<string | undefined> {
  const orm = await openOrm(databaseUrl);
  try {
    const result = await orm.migrator.create(undefined, false, false, name);
    return result.fileName || undefined;
  } finally {
    await orm.close();
  }
}
