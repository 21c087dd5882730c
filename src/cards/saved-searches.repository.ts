import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';

export interface SavedSearchRow {
  id: string;
  name: string;
  /** The search page's query string, without `?` and without a cursor. */
  query: string;
}

/** Keeps one user's list short enough to read at a glance, and the table bounded. */
export const MAX_SAVED_SEARCHES = 50;

/** A user's saved card searches; every statement is scoped to the user, so no one reaches another's. */
@Injectable()
export class SavedSearchesRepository {
  constructor(private readonly em: EntityManager) {}

  list(userId: string): Promise<SavedSearchRow[]> {
    return this.em.fork().execute<SavedSearchRow[]>(`select id, name, query from saved_search where user_id = ? order by name, created_at`, [userId]);
  }

  /** Saves a search; undefined when the user already has the most allowed. */
  async create(userId: string, name: string, query: string): Promise<string | undefined> {
    const rows = await this.em
      .fork()
      .execute<{ id: string }[]>(`insert into saved_search (user_id, name, query) select ?, ?, ? where (select count(*) from saved_search where user_id = ?) < ? returning id`, [
        userId,
        name,
        query,
        userId,
        MAX_SAVED_SEARCHES,
      ]);
    return rows[0]?.id;
  }

  /** Deletes one of the user's saved searches; false if the user has no such search. */
  async delete(userId: string, id: string): Promise<boolean> {
    const rows = await this.em.fork().execute(`delete from saved_search where id = ? and user_id = ? returning id`, [id, userId]);
    return rows.length > 0;
  }
}
