import { Migration } from '@mikro-orm/migrations';

/**
 * The residents' pages (issue 9): residents sign in with their booking number and date of birth,
 * without an account. Their sessions are server-side (keyed by the SHA-256 of the cookie token,
 * bound to one card), and a booking number that keeps failing is locked for a while, which the
 * call center sees on the card page.
 */
export class Migration20261126150000_resident_pages extends Migration {

  override name = 'Migration20261126150000_resident_pages';

  override up(): void | Promise<void> {
    this.addSql(`create table "resident_session" (
      "id" char(64) not null primary key,
      "card_id" varchar(32) not null,
      "booking_number" varchar(20) not null,
      "csrf_token" varchar(64) not null,
      "created_at" timestamptz not null default now(),
      "last_seen_at" timestamptz not null default now(),
      "expires_at" timestamptz not null,
      "ended_at" timestamptz null
    );`);
    this.addSql(`create index "resident_session_card_idx" on "resident_session" ("card_id");`);
    this.addSql(`create table "booking_number_lock" (
      "booking_number" varchar(20) not null primary key,
      "locked_at" timestamptz not null default now(),
      "locked_until" timestamptz not null,
      "failures" int not null
    );`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "booking_number_lock";`);
    this.addSql(`drop table if exists "resident_session";`);
  }

}
