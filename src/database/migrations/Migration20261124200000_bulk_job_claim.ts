import { Migration } from '@mikro-orm/migrations';

export class Migration20261124200000_bulk_job_claim extends Migration {

  override name = 'Migration20261124200000_bulk_job_claim';

  override up(): void | Promise<void> {
    this.addSql(`alter table "bulk_job" add "claimed_by" varchar(64) null, add "heartbeat_at" timestamptz null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "bulk_job" drop column "claimed_by", drop column "heartbeat_at";`);
  }

}
