import { Migration } from '@mikro-orm/migrations';

/**
 * Booking (issue 9): a booking row has its own id (the booking number now belongs to the card and
 * is the same through every change); one active booking per card (a partial unique index, after
 * the orphans a failed projection could leave are voided); slots count the bookings they hold; the
 * card's read model holds its booking number from the time it is assigned; the old per-reservation
 * sequence goes (new numbers are drawn and checked against every known number, R-11.2).
 */
export class Migration20261126130000_booking extends Migration {

  override name = 'Migration20261126130000_booking';

  override up(): void | Promise<void> {
    this.addSql(`alter table "booking" drop constraint "booking_pkey";`);
    this.addSql(`alter table "booking" add column "id" bigserial primary key;`);
    this.addSql(`alter table "booking" alter column "booking_number" drop not null;`);
    this.addSql(`alter table "booking" add column "released_at" timestamptz null;`);
    // Orphans: a booking left `booked` that its card does not hold (a claim whose projection failed),
    // and any second active booking of a card.
    this.addSql(`update "booking" b set "status" = 'void', "released_at" = now()
      where b."status" = 'booked' and not exists (
        select 1 from "card" c where c."card_id" = b."card_id" and c."state" = 'reserved' and c."booking_number" = b."booking_number");`);
    this.addSql(`update "booking" b set "status" = 'void', "released_at" = now()
      where b."status" = 'booked' and exists (select 1 from "booking" o where o."card_id" = b."card_id" and o."status" = 'booked' and o."id" > b."id");`);
    this.addSql(`create unique index "booking_one_active_per_card" on "booking" ("card_id") where "status" = 'booked';`);
    this.addSql(`create index "booking_slot_idx" on "booking" ("venue_id", "starts_at") where "status" = 'booked';`);
    // Slots count what they hold (bookings made before slots existed hold none).
    this.addSql(`update "slot" s set "booked" = (select count(*) from "booking" b where b."venue_id" = s."venue_id" and b."starts_at" = s."starts_at" and b."status" = 'booked');`);
    // The read model's booking number is the card's, also when no booking is active.
    this.addSql(`update "card" c set "booking_number" = n."number" from "booking_number" n where n."card_id" = c."card_id" and c."booking_number" is distinct from n."number";`);
    this.addSql(`drop sequence if exists "booking_number_seq";`);
  }

  override down(): void | Promise<void> {
    this.addSql(`create sequence if not exists "booking_number_seq" start 10000001;`);
    this.addSql(`drop index if exists "booking_slot_idx";`);
    this.addSql(`drop index if exists "booking_one_active_per_card";`);
    this.addSql(`alter table "booking" drop column "released_at";`);
    this.addSql(`alter table "booking" drop constraint "booking_pkey";`);
    this.addSql(`alter table "booking" drop column "id";`);
  }

}
