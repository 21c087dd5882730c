import { Migration } from '@mikro-orm/migrations';

export class Migration20261124180000_venue_scope extends Migration {

  override name = 'Migration20261124180000_venue_scope';

  override up(): void | Promise<void> {
    this.addSql(`alter table "app_user" add "all_venues" boolean not null default false;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "app_user" drop column "all_venues";`);
  }

}
