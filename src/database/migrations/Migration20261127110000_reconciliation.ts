import { Migration } from '@mikro-orm/migrations';

/**
 * Shelf reconciliation (R-11.4, R-11.5): a session per venue in which staff scan the cards on the
 * shelves. Every scan is kept (append-only, one row per card or unknown number and session); the
 * cards missing from the shelf are frozen when the session closes with the names of both vendors'
 * staff, after which the session, its scans and its missing list cannot change.
 */
export class Migration20261127110000_reconciliation extends Migration {

  override name = 'Migration20261127110000_reconciliation';

  override up(): void | Promise<void> {
    this.addSql(`create table "reconciliation_session" (
      "id" bigserial primary key,
      "venue_id" varchar(30) not null,
      "opened_by" varchar(100) not null,
      "opened_at" timestamptz not null default now(),
      "closed_by" varchar(100) null,
      "closed_at" timestamptz null,
      "previous_vendor_staff" varchar(100) null,
      "our_staff" varchar(100) null,
      constraint "reconciliation_session_closed" check (("closed_at" is null) = ("closed_by" is null) and ("closed_at" is null) = ("previous_vendor_staff" is null) and ("closed_at" is null) = ("our_staff" is null))
    );`);
    // One open session per venue: opening again finds it.
    this.addSql(`create unique index "reconciliation_session_one_open" on "reconciliation_session" ("venue_id") where "closed_at" is null;`);
    this.addSql(`create index "reconciliation_session_venue" on "reconciliation_session" ("venue_id", "opened_at" desc);`);
    // A closed session is read-only: only the one update that closes it is allowed, and no delete.
    this.addSql(`create function "reconciliation_session_guard"() returns trigger language plpgsql as $$ begin
      if TG_OP = 'DELETE' or old."closed_at" is not null then raise exception 'reconciliation session % is closed', old."id"; end if;
      if new."id" <> old."id" or new."venue_id" <> old."venue_id" or new."opened_by" <> old."opened_by" or new."opened_at" <> old."opened_at" then raise exception 'reconciliation session % keeps its opening', old."id"; end if;
      return new; end $$;`);
    this.addSql(`create trigger "reconciliation_session_read_only" before update or delete on "reconciliation_session" for each row execute function "reconciliation_session_guard"();`);
    this.addSql(`create table "reconciliation_scan" (
      "id" bigserial primary key,
      "session_id" bigint not null references "reconciliation_session" ("id"),
      "scanned" varchar(32) not null,
      "card_id" varchar(32) null,
      "outcome" varchar(20) not null,
      "card_venue_id" varchar(30) null,
      "card_state" varchar(30) null,
      "booking_number" varchar(20) null,
      "place" varchar(50) not null,
      "task_id" bigint null,
      "scanned_by" varchar(100) not null,
      "scanned_at" timestamptz not null default now(),
      constraint "reconciliation_scan_outcome" check ("outcome" in ('found', 'unexpected', 'wrong_venue')),
      constraint "reconciliation_scan_card" check ("outcome" = 'unexpected' or "card_id" is not null)
    );`);
    // A re-scan of the same card (by its id, its booking number or the ledger's barcode), or of the same unknown number, records nothing.
    this.addSql(`create unique index "reconciliation_scan_card_once" on "reconciliation_scan" ("session_id", "card_id") where "card_id" is not null;`);
    this.addSql(`create unique index "reconciliation_scan_unknown_once" on "reconciliation_scan" ("session_id", "scanned") where "card_id" is null;`);
    this.addSql(`create table "reconciliation_missing" (
      "session_id" bigint not null references "reconciliation_session" ("id"),
      "card_id" varchar(32) not null,
      "card_state" varchar(30) not null,
      "booking_number" varchar(20) null,
      "place" varchar(50) null,
      primary key ("session_id", "card_id")
    );`);
    for (const table of ['reconciliation_scan', 'reconciliation_missing']) {
      this.addSql(`create trigger "${table}_append_only" before update or delete on "${table}" for each row execute function "forbid_change"();`);
      this.addSql(`create trigger "${table}_no_truncate" before truncate on "${table}" for each statement execute function "forbid_change"();`);
      this.addSql(`revoke update, delete on "${table}" from "cards_app";`);
    }
    this.addSql(`create trigger "reconciliation_session_no_truncate" before truncate on "reconciliation_session" for each statement execute function "forbid_change"();`);
    this.addSql(`revoke delete on "reconciliation_session" from "cards_app";`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "reconciliation_missing";`);
    this.addSql(`drop table if exists "reconciliation_scan";`);
    this.addSql(`drop table if exists "reconciliation_session";`);
    this.addSql(`drop function if exists "reconciliation_session_guard"();`);
  }

}
