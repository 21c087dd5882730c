import { Migration } from '@mikro-orm/migrations';

/**
 * Reissues, re-notice exclusions and address corrections (issue 10, items 5 and 6):
 * - a batch item that answers a reissue task (a lost notice reported to the call center, or a
 *   returned notice after the office corrected the address) names the task, and is printed 再発行;
 * - a re-notice batch lists the approved cards it left out (expired cards, residents removed from the
 *   register, R-6.2) with the reason, and when their discard proposal was raised;
 * - the office's address corrections, old and new, for the record.
 */
export class Migration20261127130000_mail_flows extends Migration {

  override name = 'Migration20261127130000_mail_flows';

  override up(): void | Promise<void> {
    this.addSql(`alter table "mail_batch_item" add column "reissue_task_id" bigint null;`);
    this.addSql(`create table "mail_batch_exclusion" (
      "batch_id" varchar(40) not null references "mail_batch" ("id"),
      "card_id" varchar(32) not null,
      "reason" varchar(20) not null,
      "proposed_at" timestamptz null,
      "error" varchar(500) null,
      primary key ("batch_id", "card_id"),
      constraint "mail_batch_exclusion_reason" check ("reason" in ('expired', 'removed'))
    );`);
    this.addSql(`create index "mail_batch_exclusion_card" on "mail_batch_exclusion" ("card_id");`);
    this.addSql(`create table "address_correction" (
      "id" bigserial primary key,
      "card_id" varchar(32) not null,
      "old_postal_code" varchar(8) not null,
      "old_address" varchar(400) not null,
      "new_postal_code" varchar(8) not null,
      "new_address" varchar(400) not null,
      "corrected_by" varchar(64) not null,
      "corrected_at" timestamptz not null default now()
    );`);
    this.addSql(`create index "address_correction_card" on "address_correction" ("card_id");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "address_correction";`);
    this.addSql(`drop table if exists "mail_batch_exclusion";`);
    this.addSql(`alter table "mail_batch_item" drop column if exists "reissue_task_id";`);
  }

}
