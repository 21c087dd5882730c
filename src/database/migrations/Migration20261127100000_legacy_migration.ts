import { Migration } from '@mikro-orm/migrations';

/**
 * The hand-over import: one `migration_run` per export file (by its SHA-256 and the
 * mapping's), one `migration_row` per data row with its outcome, so that an interrupted run resumes
 * where it stopped and a re-run creates nothing; and the hand-writing items of migrated cards (a
 * character of the old record with no Unicode equivalent, or a 〓 in the data), never replaced silently.
 */
export class Migration20261127100000_legacy_migration extends Migration {

  override name = 'Migration20261127100000_legacy_migration';

  override up(): void | Promise<void> {
    this.addSql(`create table "migration_run" (
      "id" bigserial primary key,
      "vendor" varchar(100) not null,
      "file_name" varchar(200) not null,
      "file_sha256" char(64) not null,
      "mapping_sha256" char(64) not null,
      "total" int not null default 0,
      "status" varchar(10) not null default 'running',
      "started_by" varchar(100) not null,
      "started_at" timestamptz not null default now(),
      "heartbeat_at" timestamptz not null default now(),
      "finished_at" timestamptz null,
      constraint "migration_run_status" check ("status" in ('running', 'done', 'stopped', 'failed')),
      constraint "migration_run_file_key" unique ("file_sha256", "mapping_sha256")
    );`);
    this.addSql(`create table "migration_row" (
      "run_id" bigint not null references "migration_run" ("id"),
      "row_no" int not null,
      "card_id" varchar(32) null,
      "outcome" varchar(10) not null,
      "field" varchar(60) null,
      "reason" varchar(500) null,
      -- What the old record says, for the integrity check (no personal data: a hash of the resident's).
      "expected" jsonb null,
      "at" timestamptz not null default now(),
      primary key ("run_id", "row_no"),
      constraint "migration_row_outcome" check ("outcome" in ('pending', 'imported', 'existed', 'refused'))
    );`);
    this.addSql(`create index "migration_row_card_idx" on "migration_row" ("card_id");`);
    this.addSql(`create table "card_handwriting" (
      "card_id" varchar(32) not null,
      "field" varchar(30) not null,
      "position" int not null,
      "source" varchar(20) not null,
      "note" varchar(200) not null,
      "created_at" timestamptz not null default now(),
      primary key ("card_id", "field", "position")
    );`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "card_handwriting";`);
    this.addSql(`drop table if exists "migration_row";`);
    this.addSql(`drop table if exists "migration_run";`);
  }

}
