import { Migration } from '@mikro-orm/migrations';

export class Migration20261124160000_staff_workplace extends Migration {

  override name = 'Migration20261124160000_staff_workplace';

  override up(): void | Promise<void> {
    this.addSql(`create table "bulk_job" ("id" uuid not null default gen_random_uuid(), "job_key" varchar(64) not null, "user_id" uuid not null, "username" varchar(100) not null, "role" varchar(20) not null, "action" varchar(40) not null, "reason" text null, "data" jsonb null, "card_ids" text[] not null, "done" int not null default 0, "failed" int not null default 0, "failures" jsonb null, "status" varchar(20) not null default 'running', "created_at" timestamptz not null default now(), "finished_at" timestamptz null, primary key ("id"));`);
    this.addSql(`alter table "bulk_job" add constraint "bulk_job_job_key_key" unique ("job_key");`);
    this.addSql(`create index "bulk_job_user_idx" on "bulk_job" ("user_id");`);

    this.addSql(`create table "login_attempt" ("id" bigserial primary key, "user_id" uuid null, "username" varchar(100) not null, "at" timestamptz not null default now(), "success" boolean not null, "ip" varchar(64) null);`);
    this.addSql(`create index "login_attempt_user_at_idx" on "login_attempt" ("user_id", "at");`);

    this.addSql(`create table "recovery_code" ("id" bigserial primary key, "user_id" uuid not null, "code_hash" varchar(64) not null, "used_at" timestamptz null);`);
    this.addSql(`create index "recovery_code_user_idx" on "recovery_code" ("user_id");`);

    this.addSql(`create table "saved_search" ("id" uuid not null default gen_random_uuid(), "user_id" uuid not null, "name" varchar(100) not null, "query" text not null, "created_at" timestamptz not null default now(), primary key ("id"));`);
    this.addSql(`create index "saved_search_user_idx" on "saved_search" ("user_id");`);

    this.addSql(`create table "web_session" ("id" varchar(64) not null, "user_id" uuid not null, "csrf_token" varchar(64) not null, "mfa_verified" boolean not null default false, "created_at" timestamptz not null default now(), "last_seen_at" timestamptz not null default now(), "expires_at" timestamptz not null, "ended_at" timestamptz null, "ip" varchar(64) null, "user_agent" varchar(300) null, primary key ("id"));`);
    this.addSql(`create index "web_session_user_idx" on "web_session" ("user_id");`);

    this.addSql(`alter table "app_user" add "password_hash" text null, add "totp_secret" text null, add "totp_enabled_at" timestamptz null, add "locked_at" timestamptz null;`);

    // Written by hand (outside the snapshot): foreign keys to the users.
    for (const table of ['web_session', 'recovery_code', 'bulk_job', 'saved_search']) {
      this.addSql(`alter table "${table}" add constraint "${table}_user_fk" foreign key ("user_id") references "app_user" ("id");`);
    }
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "bulk_job" cascade;`);
    this.addSql(`drop table if exists "login_attempt" cascade;`);
    this.addSql(`drop table if exists "recovery_code" cascade;`);
    this.addSql(`drop table if exists "saved_search" cascade;`);
    this.addSql(`drop table if exists "web_session" cascade;`);

    this.addSql(`alter table "app_user" drop column "password_hash", drop column "totp_secret", drop column "totp_enabled_at", drop column "locked_at";`);
  }

}
