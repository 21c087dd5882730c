import { Migration } from '@mikro-orm/migrations';

/**
 * The last TOTP time step each user has used (a code is accepted once), and the table the
 * sign-in and token throttles share between API processes (rate-limiter-flexible's layout).
 */
export class Migration20261126010000_auth_throttle extends Migration {

  override name = 'Migration20261126010000_auth_throttle';

  override up(): void | Promise<void> {
    this.addSql(`alter table "app_user" add "totp_last_step" bigint null;`);
    this.addSql(`create table "rate_limit" ("key" varchar(255) primary key, "points" integer not null default 0, "expire" bigint null);`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table "rate_limit";`);
    this.addSql(`alter table "app_user" drop column "totp_last_step";`);
  }

}
