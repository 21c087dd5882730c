import { Migration } from '@mikro-orm/migrations';

/**
 * The venues' desk (R-5.2–R-5.4): where each card is kept at its venue (set when the card is
 * received there, changeable), and the day's visits: residents who booked and checked in, and the
 * unbooked residents the ward approved (moving out, …), each with its arrival and the time it was
 * served. Not part of the card workflow: nothing here changes a card's state.
 */
export class Migration20261126160000_venue_desk extends Migration {

  override name = 'Migration20261126160000_venue_desk';

  override up(): void | Promise<void> {
    this.addSql(`create table "card_storage" (
      "card_id" varchar(32) not null primary key,
      "venue_id" varchar(30) not null,
      "place" varchar(50) not null,
      "updated_by" varchar(100) not null,
      "updated_at" timestamptz not null default now(),
      constraint "card_storage_place_not_blank" check (length(btrim("place")) > 0)
    );`);
    this.addSql(`create index "card_storage_venue_place" on "card_storage" ("venue_id", "place");`);
    this.addSql(`create table "venue_visit" (
      "venue_id" varchar(30) not null,
      "service_date" date not null,
      "card_id" varchar(32) not null,
      "kind" varchar(20) not null,
      "arrived_at" timestamptz not null default now(),
      "recorded_by" varchar(100) not null,
      "approved_by" varchar(100) null,
      "reason" varchar(500) null,
      "served_at" timestamptz null,
      primary key ("service_date", "card_id"),
      constraint "venue_visit_kind" check ("kind" in ('booked', 'ward_approved')),
      constraint "venue_visit_approval" check ("kind" = 'booked' or ("approved_by" is not null and "reason" is not null))
    );`);
    this.addSql(`create index "venue_visit_venue_day" on "venue_visit" ("venue_id", "service_date", "arrived_at");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "venue_visit";`);
    this.addSql(`drop table if exists "card_storage";`);
  }

}
