import { Migration } from '@mikro-orm/migrations';

export class Migration20261124170000_qa_book extends Migration {

  override name = 'Migration20261124170000_qa_book';

  override up(): void | Promise<void> {
    this.addSql(`create table "qa_entry" ("id" uuid not null default gen_random_uuid(), "status" varchar(20) not null, "category" varchar(60) null, "question" text not null, "answer" text null, "version" int not null default 1, "created_by" varchar(100) not null, "updated_by" varchar(100) not null, "approved_by" varchar(100) null, "approved_at" timestamptz null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), primary key ("id"));`);
    this.addSql(`create index "qa_entry_status_idx" on "qa_entry" ("status");`);

    this.addSql(`create table "qa_revision" ("id" bigserial primary key, "entry_id" uuid not null, "version" int not null, "status" varchar(20) not null, "category" varchar(60) null, "question" text not null, "answer" text null, "changed_by" varchar(100) not null, "changed_role" varchar(20) not null, "change" varchar(20) not null, "changed_at" timestamptz not null default now());`);
    this.addSql(`create index "qa_revision_entry_idx" on "qa_revision" ("entry_id");`);

    // Written by hand (outside the snapshot): revisions are append-only, like the other logs.
    this.addSql(`alter table "qa_revision" add constraint "qa_revision_entry_fk" foreign key ("entry_id") references "qa_entry" ("id");`);
    this.addSql(`create trigger "qa_revision_append_only" before update or delete on "qa_revision" for each row execute function "forbid_change"();`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop trigger if exists "qa_revision_append_only" on "qa_revision";`);
    this.addSql(`drop table if exists "qa_entry" cascade;`);
    this.addSql(`drop table if exists "qa_revision" cascade;`);
  }

}
