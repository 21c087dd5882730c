/**
 * Worklists and bulk decisions. A bulk approval runs in the background, one Update per card with
 * the idempotency key `bulk-<job>-<card>`: a reload, a second click (same job key) or a restart of
 * the API (running jobs resume) never applies anything twice.
 */
import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import type { AuthUser } from '../auth/auth.types.js';
import { CardsService } from '../cards/cards.service.js';
import type { CardAction, ProposalKind, StaffRole } from '../../workflows/card-state-machine.js';

export interface BulkJobRow {
  id: string;
  job_key: string;
  user_id: string;
  username: string;
  role: StaffRole;
  action: CardAction;
  reason: string | null;
  data: Record<string, unknown> | null;
  card_ids: string[];
  done: number;
  failed: number;
  failures: Record<string, string> | null;
  status: 'running' | 'finished';
  created_at: Date;
  finished_at: Date | null;
}

/** The approving action for each proposal kind. */
export const APPROVAL: Record<ProposalKind, CardAction> = {
  renotice: 'approve_renotice',
  discard: 'approve_discard',
  expiry: 'approve_expiry',
  no_show: 'confirm_no_show',
};

const CONCURRENCY = 4;

@Injectable()
export class WorklistsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('worklists');
  private readonly running = new Map<string, Promise<void>>();
  private stopping = false;

  constructor(
    private readonly em: EntityManager,
    private readonly cards: CardsService,
  ) {}

  private run<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.em.fork().execute<T[]>(sql, params);
  }

  /** Starts a job, or finds the one this form already started. */
  async start(user: AuthUser, input: { jobKey: string; action: CardAction; reason?: string; data?: Record<string, unknown>; cardIds: string[] }): Promise<string> {
    const inserted = await this.run<{ id: string }>(
      `insert into bulk_job (job_key, user_id, username, role, action, reason, data, card_ids) values (?, ?, ?, ?, ?, ?, ?::jsonb, ?::text[])
       on conflict (job_key) do nothing returning id`,
      [input.jobKey, user.id, user.username, user.role, input.action, input.reason ?? null, input.data ? JSON.stringify(input.data) : null, `{${input.cardIds.join(',')}}`],
    );
    if (inserted[0]) {
      this.launch(inserted[0].id);
      return inserted[0].id;
    }
    const existing = await this.run<{ id: string; user_id: string }>(`select id, user_id from bulk_job where job_key = ?`, [input.jobKey]);
    return existing[0].id;
  }

  async job(id: string, userId: string): Promise<BulkJobRow | undefined> {
    return (await this.run<BulkJobRow>(`select * from bulk_job where id = ? and user_id = ?`, [id, userId]))[0];
  }

  private launch(id: string): void {
    if (this.running.has(id)) return;
    const p = this.process(id)
      .catch((e) => this.log.error({ err: e, job: id }, 'bulk job failed'))
      .finally(() => this.running.delete(id));
    this.running.set(id, p);
  }

  private async process(id: string): Promise<void> {
    const job = (await this.run<BulkJobRow>(`select * from bulk_job where id = ?`, [id]))[0];
    if (!job || job.status !== 'running') return;
    const user: AuthUser = { id: job.user_id, username: job.username, role: job.role };
    const failures: Record<string, string> = {};
    let next = 0;
    let done = 0;
    const worker = async () => {
      while (next < job.card_ids.length && !this.stopping) {
        const cardId = job.card_ids[next++];
        try {
          await this.cards.act(cardId, job.action, { reason: job.reason ?? undefined, data: job.data ?? undefined }, user, `bulk-${job.id}-${cardId}`, 'web');
        } catch (e) {
          failures[cardId] = (e as Error).message.slice(0, 300);
        }
        done++;
        await this.run(`update bulk_job set done = ?, failed = ?, failures = ?::jsonb where id = ?`, [done, Object.keys(failures).length, JSON.stringify(failures), job.id]);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    if (!this.stopping) await this.run(`update bulk_job set status = 'finished', finished_at = now() where id = ?`, [job.id]);
  }

  /** Jobs cut short by a restart carry on; their per-card keys make the repeats no-ops. */
  async onApplicationBootstrap(): Promise<void> {
    const open = await this.run<{ id: string }>(`select id from bulk_job where status = 'running'`).catch(() => []);
    for (const { id } of open) this.launch(id);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    await Promise.allSettled(this.running.values());
  }
}
