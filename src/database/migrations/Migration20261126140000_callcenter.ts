import { Migration } from '@mikro-orm/migrations';
import { backfillSearchKeys } from '../../callcenter/search-backfill.js';

/**
 * The call center (issue 9, R-4.2, R-4.6). Residents get normalised search columns (name, kana,
 * address, phone digits; `src/callcenter/search-keys.ts`), written at registration and backfilled
 * here in JavaScript with the same functions, with indexes for prefix search on names, trigram
 * search (pg_trgm) for a part of an address, phone digits and birth date. And `callback_call`, the
 * append-only record of each no-show callback and its outcome.
 */
export class Migration20261126140000_callcenter extends Migration {

  override name = 'Migration20261126140000_callcenter';

  override async up(): Promise<void> {
    // Run in order, now: the backfill reads the new columns.
    await this.execute(`create extension if not exists pg_trgm;`);
    await this.execute(`alter table "card_resident" add column "search_name" varchar(200) null, add column "search_kana" varchar(200) null,
      add column "search_address" varchar(400) null, add column "search_phone" varchar(30) null;`);
    await backfillSearchKeys((sql, params) => this.execute(sql, params));
    await this.execute(`create index "card_resident_search_kana_idx" on "card_resident" ("search_kana" text_pattern_ops);`);
    await this.execute(`create index "card_resident_search_name_idx" on "card_resident" ("search_name" text_pattern_ops);`);
    await this.execute(`create index "card_resident_search_phone_idx" on "card_resident" ("search_phone");`);
    await this.execute(`create index "card_resident_birth_date_idx" on "card_resident" ("birth_date");`);
    await this.execute(`create index "card_resident_search_address_trgm" on "card_resident" using gin ("search_address" gin_trgm_ops);`);
    await this.execute(`create table "callback_call" (
      "id" bigserial primary key,
      "card_id" varchar(32) not null,
      "outcome" varchar(20) not null,
      "note" varchar(500) null,
      "called_by" varchar(64) not null,
      "role" varchar(20) not null,
      "called_at" timestamptz not null default now(),
      constraint "callback_call_outcome" check ("outcome" in ('booked', 'declined', 'no_answer', 'unreachable', 'ask_ward', 'ward_call', 'ward_no_call'))
    );`);
    await this.execute(`create index "callback_call_card_idx" on "callback_call" ("card_id", "called_at" desc);`);
    await this.execute(`create trigger "callback_call_append_only" before update or delete on "callback_call" for each row execute function "forbid_change"();`);
    await this.execute(`create trigger "callback_call_no_truncate" before truncate on "callback_call" for each statement execute function "forbid_change"();`);
    await this.execute(`revoke update, delete, truncate on "callback_call" from "cards_app";`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "callback_call";`);
    this.addSql(`drop index if exists "card_resident_search_address_trgm";`);
    this.addSql(`drop index if exists "card_resident_birth_date_idx";`);
    this.addSql(`drop index if exists "card_resident_search_phone_idx";`);
    this.addSql(`drop index if exists "card_resident_search_name_idx";`);
    this.addSql(`drop index if exists "card_resident_search_kana_idx";`);
    this.addSql(`alter table "card_resident" drop column "search_name", drop column "search_kana", drop column "search_address", drop column "search_phone";`);
  }

}
