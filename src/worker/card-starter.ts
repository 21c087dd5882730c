/**
 * Registration's outbox, worker side (issue 8, item 5). A registration's statement writes each new
 * card's first projection and the start it owes (`card_start_pending`: the workflow's input and
 * task queue); every card worker process runs a `CardStarter` for its task queue, which claims such
 * rows (a lease, so that a worker killed mid-start leaves them to another after `leaseMs`), starts
 * the workflows and deletes the rows. The API answers a registration once its rows are gone.
 *
 * Why the worker starts them: a start asked for with `requestEagerStart` on the worker's own
 * `NativeConnection` comes back with the workflow's first task, which the worker runs at once, so
 * Temporal neither queues that task nor dispatches it to a poll. Measured on the dev server (1,000
 * workflows with a timer each): 10.1–13.0 ms of Temporal's CPU per workflow started by a client,
 * 7.9–10.4 ms started eagerly by the worker, against 4.0–5.6 ms for a start nobody polls (README,
 * Benchmark). The API runs no worker (DESIGN.md, processes), so it cannot start eagerly itself.
 *
 * Woken by a notification on the `card_start` channel (the registration sends its task queue) on a
 * connection of its own; it also looks every `idleMs` without one (a lost notification, an expired
 * lease, a registration written while no worker ran).
 */
import pg from 'pg';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { type CardWorkflowInput, cardWorkflowId } from '../../workflows/card-messages.js';
import type { cardWorkflow } from '../../workflows/card.workflow.js';

export interface CardStarterOptions {
  orm: MikroORM;
  /** A client on the worker's own `NativeConnection`: only its starts can be eager. */
  client: Client;
  taskQueue: string;
  /** For the `LISTEN` connection. */
  databaseUrl: string;
  /** Rows claimed at once, and starts in flight at once. */
  batch?: number;
  concurrency?: number;
  /**
   * How long a claim holds its rows before another starter may take them (10 s: a claim's starts
   * take well under a second; one that outlives its lease only makes a second start, refused as
   * already started).
   */
  leaseMs?: number;
  /** How often it looks without a notification. */
  idleMs?: number;
  log?: { warn(obj: object, msg: string): void };
}

export class CardStarter {
  /** Workflows started, and how many of them eagerly (their first task handed back with the start). */
  readonly counts = { started: 0, eagerly: 0, existed: 0 };
  private stopped = false;
  private notified = false;
  private wake?: () => void;
  private listener?: pg.Client;
  private loop?: Promise<void>;

  constructor(private readonly opts: CardStarterOptions) {}

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    await this.listener?.end().catch(() => undefined);
    this.listener = undefined;
  }

  private async listen(): Promise<void> {
    const c = new pg.Client({ connectionString: this.opts.databaseUrl });
    c.on('notification', (n) => {
      if (n.payload !== this.opts.taskQueue) return;
      this.notified = true;
      this.wake?.();
    });
    // A dropped connection: the idle look carries on, and the next turn connects again.
    c.on('error', () => {
      if (this.listener === c) this.listener = undefined;
      void c.end().catch(() => undefined);
    });
    await c.connect();
    await c.query('listen card_start');
    this.listener = c;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (!this.listener) await this.listen().catch((e: Error) => this.opts.log?.warn({ err: e.message }, 'card starter: cannot listen for registrations'));
      this.notified = false;
      let claimed: { card_id: string; args: CardWorkflowInput }[] = [];
      try {
        claimed = await this.claim();
      } catch (e) {
        this.opts.log?.warn({ err: (e as Error).message }, 'card starter: cannot read the registrations to start');
      }
      if (claimed.length > 0) {
        await this.startAll(claimed).catch((e: Error) => this.opts.log?.warn({ err: e.message }, 'card starter: cannot record the starts (tried again after the lease)'));
      } else if (!this.notified && !this.stopped) await this.idle();
    }
  }

  private idle(): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.wake?.(), this.opts.idleMs ?? 1000);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }

  /** Claims the oldest unclaimed (or expired) rows of this task queue. Raw SQL: `skip locked` claim. */
  private claim(): Promise<{ card_id: string; args: CardWorkflowInput }[]> {
    return this.opts.orm.em.fork().execute(
      `update card_start_pending set claimed_until = now() + make_interval(secs => ?)
        where card_id in (select card_id from card_start_pending
                           where task_queue = ? and (claimed_until is null or claimed_until < now())
                           order by created_at limit ? for update skip locked)
        returning card_id, args`,
      [(this.opts.leaseMs ?? 10_000) / 1000, this.opts.taskQueue, this.opts.batch ?? 64],
    );
  }

  private async startAll(claimed: { card_id: string; args: CardWorkflowInput }[]): Promise<void> {
    const done: string[] = [];
    let failed = 0;
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(this.opts.concurrency ?? 16, claimed.length) }, async () => {
        while (next < claimed.length) {
          const { card_id: cardId, args } = claimed[next++];
          try {
            const handle = await this.opts.client.workflow.start<typeof cardWorkflow>('cardWorkflow', {
              workflowId: cardWorkflowId(cardId),
              taskQueue: this.opts.taskQueue,
              args: [args],
              // A card id is a business key: registering it again never makes a second card.
              workflowIdReusePolicy: 'REJECT_DUPLICATE',
              requestEagerStart: true,
            });
            this.counts.started++;
            if ((handle as { eagerlyStarted?: boolean }).eagerlyStarted) this.counts.eagerly++;
            done.push(cardId);
          } catch (e) {
            if (e instanceof WorkflowExecutionAlreadyStartedError) {
              this.counts.existed++;
              done.push(cardId);
            } else failed++;
          }
        }
      }),
    );
    if (done.length > 0) await this.opts.orm.em.fork().execute(`delete from card_start_pending where card_id = any(?::text[])`, [`{${done.join(',')}}`]);
    // The rest stay claimed until their lease ends, then are tried again.
    if (failed > 0) this.opts.log?.warn({ failed }, 'card starter: starts failed, tried again after the lease');
  }
}
