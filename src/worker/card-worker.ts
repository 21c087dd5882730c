/** Builds the worker that runs card workflows and their activities on one task queue. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { MikroORM } from '@mikro-orm/postgresql';
import { Client } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { globalHandlers } from '@temporalio/worker/lib/workflow/vm-shared.js';
import { createCardActivities } from '../../activities/create-card-activities.js';
import { createMailingActivities } from '../../activities/create-mailing-activities.js';
import { oneDeadlinePerActivation } from './activation-deadline.js';
import { CardStarter } from './card-starter.js';
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

/**
 * Turns off, for this process, the SDK's capture of a stack trace for every promise a workflow
 * creates (1.24 installs it unconditionally: a V8 promise hook that builds an Error and maps each
 * frame through the bundle's source map, for the `__stack_trace` query of Temporal's UI). Measured
 * on the card workflow: 44 % of a replay's CPU, and about a quarter of the worker's CPU per
 * registered card (README, Benchmark; sdk-typescript#1587 reports the same cost of async code).
 * Without it the `__stack_trace` query answers that stack traces are not enabled on this worker,
 * and a workflow's errors keep the bundle's own positions. Reaches into the SDK's internals (no
 * option exists): `test/workflow-stack-traces.test.ts` fails if an upgrade changes them. Called
 * before any workflow context is created (worker or replay); a hook installed earlier is removed.
 */
export function withoutWorkflowStackTraces(): void {
  const handlers = globalHandlers as unknown as { installed: boolean; promiseHookInstalled: boolean; uninstall(): void };
  if (handlers.installed) handlers.uninstall();
  // install() does nothing once this is set, and new workflows are told stack traces are off.
  handlers.installed = true;
  handlers.promiseHookInstalled = false;
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
  /**
   * The database's address for the registration outbox's notifications: with it, the worker starts
   * the workflows of the cards registered on its task queue while it runs (`CardStarter`). Every
   * card worker of a deployment has it; only workers built for a test of something else go without.
   */
  databaseUrl?: string;
  log?: { warn(obj: object, msg: string): void };
}

/** The SDK's default deadlock timeout: a workflow activation that runs longer without yielding fails its task. */
export const DEADLOCK_TIMEOUT_MS = 5_000;

export async function createCardWorker(opts: CardWorkerOptions): Promise<Worker> {
  withoutWorkflowStackTraces();
  // Not in the SDK's option type, but read from the options like the rest (its default outside
  // debugMode): a workflow that runs longer than this without yielding fails its task. Applied once
  // per activation rather than once per call into the workflow context (activation-deadline.ts).
  const deadlockTimeout = { isolateExecutionTimeout: `${DEADLOCK_TIMEOUT_MS}ms` } as object;
  const worker = await Worker.create({
    ...deadlockTimeout,
    // Workflows run on this process's main thread (the SDK's `debugMode` means that and nothing
    // else once the deadlock timeout is given back its default): the promise hook above can only be
    // kept out of a thread the process controls, and each activation saves the hop to a workflow
    // thread and back (an action is two or three activations). Measured side by side (README,
    // Benchmark): worker CPU per registered card 8.2-8.8 ms in a thread with the hook, 6.1-6.6 here;
    // HTTP action p50 29-31 against 22-24 ms.
    debugMode: true,
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
  oneDeadlinePerActivation(worker, DEADLOCK_TIMEOUT_MS);
  if (opts.databaseUrl) {
    // The registration outbox's starter runs exactly while the worker runs: `run()` starts it and
    // stops it when the worker has stopped. Its client shares the worker's connection (eager starts).
    const starter = new CardStarter({
      orm: opts.orm,
      client: new Client({ connection: opts.connection, namespace: opts.namespace }),
      taskQueue: opts.taskQueue,
      databaseUrl: opts.databaseUrl,
      log: opts.log,
    });
    const run = worker.run.bind(worker);
    worker.run = async () => {
      starter.start();
      try {
        return await run();
      } finally {
        await starter.stop();
      }
    };
    cardStarters.set(worker, starter);
  }
  return worker;
}

const cardStarters = new WeakMap<Worker, CardStarter>();
/** The registration starter of a card worker built with `databaseUrl` (its counts: how many it started, how many eagerly). */
export const cardStarterOf = (worker: Worker): CardStarter | undefined => cardStarters.get(worker);
