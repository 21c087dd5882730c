import { Migration } from '@mikro-orm/migrations';

/**
 * Booking's foundation: slots with a capacity per venue and start (R-5.7, issue 9), claimed by a
 * conditional update on `booked < capacity` (never check-then-insert); and every booking number
 * ever known (ours and the previous vendor's, R-11.2), one per card, so that a new number is
 * checked against all of them by the primary key. And the tasks that booking and the venues raise
 * for people (a card to move to another venue, a card to prepare for a short-notice booking, a
 * mismatch at the counter), one open task per kind and card.
 */
export class Migration20261126100000_booking_foundation extends Migration {

  override name = 'Migration20261126100000_booking_foundation';

  override up(): void | Promise<void> {
    this.addSql(`create table "slot" (
      "venue_id" varchar(30) not null,
      "starts_at" timestamptz not null,
      "ends_at" timestamptz not null,
      "capacity" int not null,
      "booked" int not null default 0,
      "open" boolean not null default true,
      "updated_at" timestamptz not null default now(),
      primary key ("venue_id", "starts_at"),
      constraint "slot_ends_after_start" check ("ends_at" > "starts_at"),
      constraint "slot_capacity_range" check ("capacity" between 0 and 1000),
      constraint "slot_booked_nonnegative" check ("booked" >= 0)
    );`);
    // The residents' month page reads a venue's slots by day range.
    this.addSql(`create index "slot_starts_at_idx" on "slot" ("starts_at");`);
    this.addSql(`create table "booking_number" (
      "number" varchar(20) not null,
      "card_id" varchar(32) null,
      "source" varchar(20) not null default 'ours',
      "issued_at" timestamptz not null default now(),
      primary key ("number"),
      constraint "booking_number_card_key" unique ("card_id"),
      constraint "booking_number_source" check ("source" in ('ours', 'legacy'))
    );`);
    // Numbers issued so far (one per reservation until now): each card keeps its current one; older
    // numbers stay known, without a card, so that no new number repeats them.
    this.addSql(`insert into "booking_number" ("number", "card_id", "issued_at")
      select b.booking_number, case when c.card_id is not null then b.card_id end, b.created_at
      from booking b left join card c on c.card_id = b.card_id and c.booking_number = b.booking_number
      on conflict do nothing;`);
    this.addSql(`create table "task" (
      "id" bigserial primary key,
      "kind" varchar(30) not null,
      "card_id" varchar(32) null,
      "venue_id" varchar(30) null,
      "note" varchar(2000) null,
      "status" varchar(10) not null default 'open',
      "created_by" varchar(64) not null,
      "created_at" timestamptz not null default now(),
      "done_by" varchar(64) null,
      "done_at" timestamptz null,
      constraint "task_status" check ("status" in ('open', 'done'))
    );`);
    this.addSql(`create unique index "task_open_per_card" on "task" ("kind", "card_id") where "status" = 'open' and "card_id" is not null;`);
    this.addSql(`create index "task_open_by_venue" on "task" ("venue_id", "created_at") where "status" = 'open';`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "task";`);
    this.addSql(`drop table if exists "booking_number";`);
    this.addSql(`drop table if exists "slot";`);
  }

}
