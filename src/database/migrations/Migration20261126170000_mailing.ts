import { Migration } from '@mikro-orm/migrations';

/**
 * Mail batches (R-3.1–, issue 10): a batch of notices (or re-notices) with its items in post
 * order, the documents printed for it (each file with its SHA-256, R-3.4), and which items were
 * pulled out or mailed. A card is in at most one batch that has not mailed it or let it go.
 */
export class Migration20261126170000_mailing extends Migration {

  override name = 'Migration20261126170000_mailing';

  override up(): void | Promise<void> {
    this.addSql(`create table "mail_batch" (
      "id" varchar(40) primary key,
      "kind" varchar(10) not null,
      "status" varchar(20) not null default 'draft',
      "quota" int not null,
      "created_by" varchar(64) not null,
      "created_at" timestamptz not null default now(),
      "printed_at" timestamptz null,
      "checked_by" varchar(64) null,
      "checked_at" timestamptz null,
      "handed_over_by" varchar(64) null,
      "handed_over_at" timestamptz null,
      "progress_done" int not null default 0,
      "progress_total" int not null default 0,
      "error" varchar(500) null,
      constraint "mail_batch_kind" check ("kind" in ('notice', 'renotice')),
      constraint "mail_batch_status" check ("status" in ('draft', 'rendering', 'printed', 'failed', 'checked', 'handing_over', 'handed_over', 'cancelled')),
      constraint "mail_batch_quota" check ("quota" between 1 and 20000)
    );`);
    this.addSql(`create table "mail_batch_item" (
      "batch_id" varchar(40) not null references "mail_batch" ("id"),
      "card_id" varchar(32) not null,
      "position" int not null,
      "venue_id" varchar(30) not null,
      "post_office_id" varchar(30) not null,
      "envelope_class" varchar(20) not null,
      "booking_number" varchar(20) null,
      "handwriting" jsonb null,
      "pulled_out_at" timestamptz null,
      "pulled_out_by" varchar(64) null,
      "mailed_at" timestamptz null,
      primary key ("batch_id", "card_id"),
      constraint "mail_batch_item_envelope" check ("envelope_class" in ('kunai_tokubetsu', 'konou'))
    );`);
    // A card waits in one batch at a time (until it is mailed or pulled out).
    this.addSql(`create unique index "mail_batch_item_one_open" on "mail_batch_item" ("card_id") where "pulled_out_at" is null and "mailed_at" is null;`);
    this.addSql(`create index "mail_batch_item_card" on "mail_batch_item" ("card_id");`);
    this.addSql(`create table "mail_document" (
      "id" bigserial primary key,
      "batch_id" varchar(40) not null references "mail_batch" ("id"),
      "kind" varchar(20) not null,
      "file" varchar(500) not null,
      "sha256" char(64) not null,
      "bytes" bigint not null,
      "pages" int not null,
      "created_at" timestamptz not null default now(),
      constraint "mail_document_kind" check ("kind" in ('notices', 'renotices', 'ledgers', 'envelopes', 'summary')),
      constraint "mail_document_one" unique ("batch_id", "kind")
    );`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "mail_document";`);
    this.addSql(`drop table if exists "mail_batch_item";`);
    this.addSql(`drop table if exists "mail_batch";`);
  }

}
