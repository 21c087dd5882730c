import { Migration } from '@mikro-orm/migrations';

/**
 * Registration's outbox (issue 8, item 5): a registration writes each new card's first projection
 * and, here, the start it owes (the workflow's input and task queue) in its batch's statement. The
 * worker processes of that task queue claim the rows (a lease, `claimed_until`, so that a worker
 * killed mid-start leaves them to another), start the workflows eagerly (the first task comes back
 * in the start's answer, to the starting worker) and delete the rows; the API answers once its
 * cards' rows are gone.
 */
export class Migration20261128100000_card_start_pending extends Migration {

  override name = 'Migration20261128100000_card_start_pending';

  override up(): void | Promise<void> {
    this.addSql(`create table "card_start_pending" ("card_id" varchar(32) not null references "card_resident" ("card_id"), "task_queue" varchar(200) not null, "args" jsonb not null, "created_at" timestamptz not null default now(), "claimed_until" timestamptz null, primary key ("card_id"));`);
    this.addSql(`create index "card_start_pending_queue_index" on "card_start_pending" ("task_queue", "created_at");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "card_start_pending";`);
  }

}
