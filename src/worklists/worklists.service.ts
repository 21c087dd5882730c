/**
 * Worklists and bulk decisions. A bulk approval runs in the background, one Update per card with
 * the idempotency key `bulk-<job>-<card>`: a reload, a second click (same job key) or a restart of
 * the API (running jobs resume) never applies anything twice. One API process works on a job at a
 * time: it claims the job and keeps a heartbeat; another takes over only a job gone quiet.
 */
import { safeRandomUUID } from '../common/my-number.js';
import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import type { AuthUser } from '../auth/auth.types.js';
import { CardsService } from '../cards/cards.service.js';
import { VenueScope } from '../cards/venue-scope.js';
import type { CardAction, Proposal, ProposalKind, StaffRole } from '../../workflows/card-state-machine.js';

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

/** What the ward needs beside each card of a worklist to decide on it. */
export interface WorklistDetail {
  proposals: Proposal[];
  /** The latest hold (pull-out): why and since when. */
  hold?: { reason: string | null; at: Date };
}

/** The worklists' tabs: how many cards each holds, counted as the lists select them. */
export interface WorklistCounts {
  renotice: number;
  discard: number;
  expiry: number;
  no_show: number;
  late: number;
  on_hold: number;
}

const CONCURRENCY = 4;
/** A job whose owner has made no progress for this long is taken over by another process. */
const STALE_AFTER = '2 minutes';

@Injectable()
export class WorklistsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('worklists');
  private readonly running = new Map<string, Promise<void>>();
  /** This process, as the owner of the jobs it claims. */
  private readonly processId = safeRandomUUID();
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

  /** The open proposals and the latest hold of each card. */
  async details(cardIds: string[]): Promise<Map<string, WorklistDetail>> {
    const out = new Map<string, WorklistDetail>(cardIds.map((id) => [id, { proposals: [] }]));
    if (cardIds.length === 0) return out;
    const ids = `{${cardIds.join(',')}}`;
    const [snapshots, holds] = await Promise.all([
      this.run<{ card_id: string; proposals: Proposal[] | null }>(`select card_id, snapshot->'proposals' as proposals from card where card_id = any(?::text[])`, [ids]),
      this.run<{ card_id: string; reason: string | null; at: Date }>(
        `select distinct on (card_id) card_id, reason, at from card_event where type = 'pull_out' and card_id = any(?::text[]) order by card_id, seq desc`,
        [ids],
      ),
    ]);
    for (const r of snapshots) out.get(r.card_id)!.proposals = r.proposals ?? [];
    for (const r of holds) out.get(r.card_id)!.hold = { reason: r.reason, at: r.at };
    return out;
  }

  /** The number of cards on each worklist, in the user's venue scope as the lists are. */
  async counts(user: AuthUser): Promise<WorklistCounts> {
    const scope = VenueScope.of(user).sql('venue_id');
    const [row] = await this.run<WorklistCounts>(
      `select count(*) filter (where 'renotice' = any(proposal_kinds))::int renotice, count(*) filter (where 'discard' = any(proposal_kinds))::int discard,
         count(*) filter (where 'expiry' = any(proposal_kinds))::int expiry, count(*) filter (where 'no_show' = any(proposal_kinds))::int no_show,
         count(*) filter (where late)::int late, count(*) filter (where state = 'on_hold')::int on_hold
       from card where ${scope.sql}`,
      scope.params,
    );
    return row;
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
    const job = (
      await this.run<BulkJobRow>(
        // The owner goes through every card again (their keys make repeats no-ops), so it counts afresh.
        `update bulk_job set claimed_by = ?, heartbeat_at = now(), done = 0, failed = 0, failures = '{}'
         where id = ? and status = 'running' and (claimed_by is null or claimed_by = ? or heartbeat_at < now() - interval '${STALE_AFTER}')
         returning *`,
        [this.processId, id, this.processId],
      )
    )[0];
    // Finished, or another process is working on it.
    if (!job) return;
    const user: AuthUser = { id: job.user_id, username: job.username, role: job.role };
    let next = 0;
    const worker = async () => {
      while (next < job.card_ids.length && !this.stopping) {
        const cardId = job.card_ids[next++];
        let failure: string | undefined;
        try {
          await this.cards.act(cardId, job.action, { reason: job.reason ?? undefined, data: job.data ?? undefined }, user, `bulk-${job.id}-${cardId}`, 'web');
        } catch (e) {
          failure = (e as Error).message.slice(0, 300);
        }
        // Counted in the database, so that the workers' writes never overwrite each other.
        await this.run(
          `update bulk_job set done = done + 1, failed = failed + ?, failures = failures || ?::jsonb, heartbeat_at = now() where id = ? and claimed_by = ?`,
          [failure ? 1 : 0, JSON.stringify(failure ? { [cardId]: failure } : {}), job.id, this.processId],
        );
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    if (!this.stopping) await this.run(`update bulk_job set status = 'finished', finished_at = now() where id = ? and claimed_by = ?`, [job.id, this.processId]);
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
