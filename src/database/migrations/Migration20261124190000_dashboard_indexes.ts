import { Migration } from '@mikro-orm/migrations';

export class Migration20261124190000_dashboard_indexes extends Migration {

  override name = 'Migration20261124190000_dashboard_indexes';

  override up(): void | Promise<void> {
    // The dashboard's late cards and open proposals are a small part of the cards: partial
    // indexes find them without reading the whole table (measured by bench:ui over 530,000 cards).
    // Written by hand (outside the entities and the snapshot), like the other search indexes.
    this.addSql(`create index "card_late_received_idx" on "card" ("received_at") where "late";`);
    this.addSql(`create index "card_open_proposals_idx" on "card" ("venue_id") where "proposal_kinds" <> '{}';`);
    // This week's issuances per venue.
    this.addSql(`create index "card_issued_at_idx" on "card" ("issued_at") where "issued_at" is not null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index if exists "card_late_received_idx";`);
    this.addSql(`drop index if exists "card_open_proposals_idx";`);
    this.addSql(`drop index if exists "card_issued_at_idx";`);
  }

}
