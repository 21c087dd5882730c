import { Migration } from '@mikro-orm/migrations';

export class Migration20261124150000_search_indexes extends Migration {

  override name = 'Migration20261124150000_search_indexes';

  override up(): void | Promise<void> {
    // Staff lists: the cards in one state at one venue, by notice date. Without it the planner walks
    // card_notice_mailed_at_idx and filters on state and venue, reading ~70,000 rows of 530,000 (200 ms) when
    // the state's cards are not the newest. card_id completes the sort order and the keyset cursor.
    // Written by hand (outside the entities and the snapshot), like the name-kana prefix index.
    this.addSql(`create index "card_state_venue_notice_idx" on "card" ("state", "venue_id", "notice_mailed_at", "card_id");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index if exists "card_state_venue_notice_idx";`);
  }

}
