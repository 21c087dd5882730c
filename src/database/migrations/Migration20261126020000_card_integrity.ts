import { Migration } from '@mikro-orm/migrations';

/**
 * Cards whose timer projection keeps failing (the office's stuck-cards list and /api/health), and
 * the fingerprint of each Idempotency-Key's request, so that a key reused for another request is
 * refused instead of answered with the first result.
 */
export class Migration20261126020000_card_integrity extends Migration {

  override name = 'Migration20261126020000_card_integrity';

  override up(): void | Promise<void> {
    this.addSql(`create table "card_stuck" ("card_id" varchar(32) not null, "seq" int not null, "error" varchar(500) not null, "failures" int not null default 1, "since" timestamptz not null default now(), "last_failed_at" timestamptz not null default now(), primary key ("card_id"));`);
    this.addSql(`create table "idempotency_fingerprint" ("user_id" varchar(64) not null, "key" varchar(100) not null, "card_id" varchar(32) not null, "action" varchar(40) not null, "body_hash" char(64) not null, "created_at" timestamptz not null default now(), primary key ("user_id", "key"));`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "idempotency_fingerprint";`);
    this.addSql(`drop table if exists "card_stuck";`);
  }

}
