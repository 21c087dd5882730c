/** Builds the worker that runs card workflows and their activities on one task queue. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createCardActivities } from '../../activities/create-card-activities.js';
import { createMailingActivities } from '../../activities/create-mailing-activities.js';
import { redactingActivityInterceptor } from './redacting-interceptor.js';

/** The workflows' entry module: compiled JavaScript under dist/, TypeScript when run from source (tests). */
export function workflowsPath(): string {
  const js = fileURLToPath(new URL('../../workflows/index.js', import.meta.url));
  return existsSync(js) ? js : js.replace(/\.js$/, '.ts');
}

/**
 * Workflow modules the SDK's reusable V8 context evaluates once per worker instead of once per new
 * workflow (`preloadModules`): zod, through workflows/zod-preload.ts. Evaluating zod again cost each
 * new card workflow about 5 ms of worker CPU, most of a registration's worker cost. The SDK
 * deep-freezes what a preloaded module exports and shares it between workflows, so only pure,
 * stateless modules may be listed, and none that exports a zod schema (zod writes to a schema while
 * it parses). The card state machine builds its schemas per workflow, on first use.
 */
export function preloadedWorkflowModules(): string[] {
  return [workflowsPath().replace(/index\.(js|ts)$/, 'zod-preload.$1')];
}

export interface CardWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  orm: MikroORM;
  /** A Temporal client for activities that act on cards (a mail batch's hand-over). */
  client?: Client;
  /** A pre-built workflow bundle (tests build one for all files); otherwise the worker bundles at start. */
  workflowBundlePath?: string;
  tuning?: Partial<Pick<WorkerOptions, 'maxConcurrentWorkflowTaskExecutions' | 'maxConcurrentLocalActivityExecutions' | 'maxCachedWorkflows' | 'shutdownForceTime'>>;
}

export async function createCardWorker(opts: CardWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    ...(opts.workflowBundlePath
      ? { workflowBundle: { codePath: opts.workflowBundlePath } }
      : { workflowsPath: workflowsPath(), bundlerOptions: { preloadModules: preloadedWorkflowModules() } }),
    activities: { ...createCardActivities({ orm: opts.orm }), ...createMailingActivities({ orm: opts.orm, client: opts.client }) },
    // Database error text (SQL parameters: personal data) never reaches the log or the history.
    interceptors: { activity: [redactingActivityInterceptor] },
    maxConcurrentWorkflowTaskExecutions: 100,
    maxConcurrentLocalActivityExecutions: 100,
    ...opts.tuning,
  });
}
