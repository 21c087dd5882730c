import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import type { StaffRole } from '../../workflows/card-state-machine.js';
import type { AuthUser } from './auth.types.js';
import { PreparedSql } from '../database/prepared.js';

interface UserRow {
  id: string;
  username: string;
  role: StaffRole;
  venue_id: string | null;
  all_venues: boolean;
}

const toUser = (r: UserRow): AuthUser => ({ id: r.id, username: r.username, role: r.role, venueId: r.venue_id ?? undefined, allVenues: r.all_venues });

@Injectable()
export class UsersRepository {
  constructor(private readonly em: EntityManager) {}

  /** The live token's user; notes when the token was used, at most once a minute so reads stay cheap. */
  async findByTokenHash(hash: string): Promise<AuthUser | undefined> {
    // Every API request runs it: a prepared statement, planned once per connection.
    const rows = await new PreparedSql(this.em).execute<UserRow[]>(
      `with hit as (
         select t.id token_id, t.last_used_at, u.id, u.username, u.role, u.venue_id, u.all_venues from api_token t join app_user u on u.id = t.user_id
         where t.token_hash = ? and t.revoked_at is null and u.disabled_at is null
       ), used as (
         update api_token set last_used_at = now() where id in (select token_id from hit where last_used_at is null or last_used_at < now() - interval '1 minute')
       )
       select id, username, role, venue_id, all_venues from hit`,
      [hash],
    );
    return rows[0] ? toUser(rows[0]) : undefined;
  }

  async findByUsername(username: string): Promise<AuthUser | undefined> {
    const rows = await this.em.fork().execute<UserRow[]>(`select id, username, role, venue_id, all_venues from app_user where username = ?`, [username]);
    return rows[0] ? toUser(rows[0]) : undefined;
  }

  /** Inserts the user unless the name is taken; returns whether it was inserted. */
  async insert(user: { username: string; displayName: string; role: StaffRole; venueId?: string }): Promise<boolean> {
    const rows = await this.em.fork().execute<{ id: string }[]>(
      `insert into app_user (username, display_name, role, venue_id) values (?, ?, ?, ?) on conflict (username) do nothing returning id`,
      [user.username, user.displayName, user.role, user.venueId ?? null],
    );
    return rows.length > 0;
  }

  async insertToken(userId: string, name: string, hash: string): Promise<string> {
    const rows = await this.em.fork().execute<{ id: string }[]>(`insert into api_token (user_id, name, token_hash) values (?, ?, ?) returning id`, [userId, name, hash]);
    return rows[0].id;
  }

  async revokeToken(id: string): Promise<boolean> {
    const rows = await this.em.fork().execute<{ id: string }[]>(`update api_token set revoked_at = now() where id = ? and revoked_at is null returning id`, [id]);
    return rows.length > 0;
  }

  async listTokens(userId: string): Promise<{ id: string; name: string; created_at: Date; revoked_at: Date | null }[]> {
    return this.em.fork().execute(`select id, name, created_at, revoked_at from api_token where user_id = ? order by created_at`, [userId]);
  }
}
