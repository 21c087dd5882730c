import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { EntityManager } from '@mikro-orm/postgresql';
import { Client } from '@temporalio/client';
import type { Response } from 'express';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import { Public } from '../auth/auth.types.js';

type Check = { status: 'up' | 'down'; detail?: string };

const withTimeout = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`no answer in ${ms} ms`)), ms).unref())]);

@ApiTags('health')
@Controller('api/health')
export class HealthController {
  constructor(
    private readonly em: EntityManager,
    private readonly client: Client,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  @Public()
  @ApiOperation({ summary: 'Temporal, PostgreSQL and the card worker, each up or down; and how many cards are stuck (a change the database keeps refusing)' })
  async health(@Res({ passthrough: true }) res: Response) {
    const check = async (fn: () => Promise<string | undefined>): Promise<Check> => {
      try {
        const detail = await withTimeout(fn(), 3000);
        return { status: 'up', ...(detail ? { detail } : {}) };
      } catch (e) {
        return { status: 'down', detail: (e as Error).message };
      }
    };
    const [postgres, temporal, worker] = await Promise.all([
      check(async () => {
        await this.em.fork().execute('select 1');
        return undefined;
      }),
      check(async () => {
        await this.client.connection.ensureConnected();
        await this.client.workflowService.getSystemInfo({});
        return undefined;
      }),
      check(async () => {
        const tq = await this.client.workflowService.describeTaskQueue({
          namespace: this.config.TEMPORAL_NAMESPACE,
          taskQueue: { name: this.config.TEMPORAL_TASK_QUEUE },
          taskQueueType: 1, // workflow task queue
        });
        const pollers = tq.pollers?.length ?? 0;
        if (pollers === 0) throw new Error(`no worker polls task queue ${this.config.TEMPORAL_TASK_QUEUE}`);
        return `${pollers} poller(s) on ${this.config.TEMPORAL_TASK_QUEUE}`;
      }),
    ]);
    const status = [postgres, temporal, worker].every((c) => c.status === 'up') ? 'up' : 'down';
    // Stuck cards do not make the system down (everything else works), but they need someone:
    // the count and the oldest, without card ids (this endpoint is public); the ids are in the office's list.
    const stuckCards = await withTimeout(
      this.em.fork().execute<{ count: string; oldest: Date | null }[]>(`select count(*) as count, min(since) as oldest from card_stuck`),
      3000,
    ).then(
      ([r]) => ({ count: Number(r.count), ...(r.oldest ? { oldestSince: new Date(r.oldest).toISOString() } : {}) }),
      () => ({ count: null }),
    );
    res.status(status === 'up' ? 200 : 503);
    return { status, postgres, temporal, worker, stuckCards };
  }
}
