import { Migration } from '@mikro-orm/migrations';

/**
 * The monthly reports read a month of card events (`card_event.at`): without this index each
 * report scans every event ever recorded.
 */
export class Migration20261127120000_report_indexes extends Migration {

  override name = 'Migration20261127120000_report_indexes';

  override up(): void | Promise<void> {
    this.addSql(`create index if not exists "card_event_at_index" on "card_event" ("at");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index if exists "card_event_at_index";`);
  }

}
