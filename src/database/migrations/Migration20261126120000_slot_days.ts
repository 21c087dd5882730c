import { Migration } from '@mikro-orm/migrations';

/**
 * The office's changes to a venue's day (issue 9, item 2): a day closed or opened against the ward
 * calendar (with its hours), and a capacity for every slot of the day. The slot generator reads them,
 * so an hourly run never undoes what the office decided; who changed it and when are kept.
 */
export class Migration20261126120000_slot_days extends Migration {

  override name = 'Migration20261126120000_slot_days';

  override up(): void | Promise<void> {
    this.addSql(`create table "venue_day" (
      "venue_id" varchar(30) not null,
      "day" date not null,
      "open" boolean null,
      "opens_at" varchar(5) null,
      "closes_at" varchar(5) null,
      "capacity" int null,
      "updated_by" varchar(64) not null,
      "updated_at" timestamptz not null default now(),
      primary key ("venue_id", "day"),
      constraint "venue_day_capacity_range" check ("capacity" between 0 and 1000),
      constraint "venue_day_hours" check (("opens_at" is null) = ("closes_at" is null) and ("opens_at" is null or "opens_at" < "closes_at"))
    );`);
    // The office's list of over-capacity slots (a capacity lowered below what is booked).
    this.addSql(`create index "slot_over_capacity_idx" on "slot" ("starts_at") where "booked" > "capacity";`);
    // Closed slots that still hold bookings (bookings to move).
    this.addSql(`create index "slot_closed_booked_idx" on "slot" ("starts_at") where not "open" and "booked" > 0;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index if exists "slot_closed_booked_idx";`);
    this.addSql(`drop index if exists "slot_over_capacity_idx";`);
    this.addSql(`drop table if exists "venue_day";`);
  }

}
