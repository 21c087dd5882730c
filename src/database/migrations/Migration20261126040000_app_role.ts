import { Migration } from '@mikro-orm/migrations';

/** Tables the application may only read and append to: their triggers refuse UPDATE, DELETE and TRUNCATE. */
const APPEND_ONLY = ['access_log', 'card_event', 'qa_revision'];

/**
 * The application runs as the role `cards_app`, which owns nothing: it reads and writes rows, appends
 * to the append-only tables, and cannot alter, truncate or disable the triggers of any table.
 * Migrations run as the owner of the schema (MIGRATION_DATABASE_URL). Tables and sequences later
 * migrations create get the same grants through the owner's default privileges.
 */
export class Migration20261126040000_app_role extends Migration {

  override name = 'Migration20261126040000_app_role';

  override up(): void | Promise<void> {
    // Set-up scripts create the login role with its password first; a bare database gets a role without login.
    this.addSql(`do $$ begin if not exists (select 1 from pg_roles where rolname = 'cards_app') then create role "cards_app" nologin; end if; end $$;`);
    for (const table of APPEND_ONLY) {
      this.addSql(`create trigger "${table}_no_truncate" before truncate on "${table}" for each statement execute function "forbid_change"();`);
    }
    this.addSql(`revoke create on schema public from public;`);
    this.addSql(`grant usage on schema public to "cards_app";`);
    this.addSql(`grant select, insert, update, delete on all tables in schema public to "cards_app";`);
    this.addSql(`revoke update, delete on ${APPEND_ONLY.map((t) => `"${t}"`).join(', ')} from "cards_app";`);
    this.addSql(`revoke all on "mikro_orm_migrations" from "cards_app";`);
    this.addSql(`grant usage, select on all sequences in schema public to "cards_app";`);
    this.addSql(`alter default privileges in schema public grant select, insert, update, delete on tables to "cards_app";`);
    this.addSql(`alter default privileges in schema public grant usage, select on sequences to "cards_app";`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter default privileges in schema public revoke all on tables from "cards_app";`);
    this.addSql(`alter default privileges in schema public revoke all on sequences from "cards_app";`);
    this.addSql(`revoke all on all tables in schema public from "cards_app";`);
    this.addSql(`revoke all on all sequences in schema public from "cards_app";`);
    this.addSql(`revoke usage on schema public from "cards_app";`);
    for (const table of APPEND_ONLY) this.addSql(`drop trigger if exists "${table}_no_truncate" on "${table}";`);
  }

}
