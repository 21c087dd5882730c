/**
 * A whole system for one test file, on the shared real PostgreSQL and Temporal server: a card worker
 * on the file's own task queue, and the HTTP API listening on a free port.
 */
import { addBusinessDays, tokyoDate } from '../../src/calendar/business-days.js';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { MikroORM } from '@mikro-orm/postgresql';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, type Worker, makeTelemetryFilterString } from '@temporalio/worker';
import { createApp } from '../../src/app.factory.js';
import { AuthService } from '../../src/auth/auth.service.js';
import { WebAuthService } from '../../src/auth/web-auth.service.js';
import { safeRandomUUID, containsMyNumber } from '../../src/common/my-number.js';
import { openOrm } from '../../src/database/database.js';
import { loadWardConfig } from '../../src/config/ward-config.js';
import type { PdfRenderer } from '../../src/printing/pdf-renderer.js';
import { createCardWorker } from '../../src/worker/card-worker.js';
import { createPrintWorker } from '../../src/worker/print-worker.js';
import type { StaffRole } from '../../workflows/card-state-machine.js';
import type { CardPolicy } from '../../workflows/card-timers.js';

let runtimeInstalled = false;
export function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const noop = () => undefined;
  Runtime.install({
    logger: { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop },
    shutdownSignals: [],
    // Replay tests provoke non-determinism on purpose: keep the core's warnings out of the output.
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }), forward: {} } },
  });
}

export interface TestWorker {
  worker: Worker;
  running: Promise<void>;
  stop(): Promise<void>;
}

/** A print worker run as its own process (`dist/src/worker/print-main.js`, as `npm start` runs it). */
export interface PrintWorkerProcess {
  child: ChildProcess;
  /** Its log lines so far (pino JSON). */
  lines: string[];
  exited: Promise<void>;
  /** Sends the worker process (not its Chromium) a signal. */
  kill(signal: NodeJS.Signals): void;
  /** The pids of every process under the worker (its Chromium), now. */
  descendants(): number[];
  /** SIGTERM to the worker (it drains and closes its browser), SIGKILL to the group after 30 s. */
  stop(): Promise<void>;
}

export class TestSystem {
  readonly taskQueue = `cards-test-${safeRandomUUID().slice(0, 8)}`;
  readonly printTaskQueue = `print-test-${safeRandomUUID().slice(0, 8)}`;
  /** Where this system's printed batches go: under a `.data` folder, as `npm start` keeps them. */
  readonly printDir = join(tmpdir(), `koto-print-${safeRandomUUID().slice(0, 8)}`, '.data', 'print');
  printWorker?: TestWorker & { renderer: PdfRenderer };
  app!: NestExpressApplication;
  baseUrl!: string;
  orm!: MikroORM;
  client!: Client;
  private workerConnection!: NativeConnection;
  private clientConnection!: Connection;
  cardWorker?: TestWorker;
  private tokens = new Map<string, string>();

  static async start(opts: { policy?: Partial<CardPolicy> } = {}): Promise<TestSystem> {
    const sys = new TestSystem();
    await sys.init(opts);
    return sys;
  }

  private async init(opts: { policy?: Partial<CardPolicy> }) {
    quietRuntime();
    process.env.TEMPORAL_TASK_QUEUE = this.taskQueue;
    process.env.PRINT_TASK_QUEUE = this.printTaskQueue;
    process.env.PRINT_DIR = this.printDir;
    process.env.CARD_POLICY_JSON = opts.policy ? JSON.stringify(opts.policy) : '';
    this.orm = await openOrm(process.env.DATABASE_URL!);
    this.workerConnection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS! });
    this.clientConnection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
    this.client = new Client({ connection: this.clientConnection });
    await this.startWorker();
    this.app = await createApp();
    await this.app.listen(0, '127.0.0.1');
    const addr = this.app.getHttpServer().address() as { port: number };
    this.baseUrl = `http://127.0.0.1:${addr.port}`;
  }

  async startWorker(): Promise<TestWorker> {
    const worker = await createCardWorker({
      connection: this.workerConnection,
      namespace: 'default',
      taskQueue: this.taskQueue,
      orm: this.orm,
      client: this.client,
      workflowBundlePath: process.env.TEST_WORKFLOW_BUNDLE,
      databaseUrl: process.env.DATABASE_URL,
      // A test file's worker stops within a minute even on a loaded machine (its afterAll allows two):
      // what it leaves unfinished belongs to cards no other file reads.
      tuning: { shutdownForceTime: '60s' },
    });
    const running = worker.run();
    this.cardWorker = {
      worker,
      running,
      stop: async () => {
        worker.shutdown();
        await running.catch((e: Error) => {
          if (e.name !== 'GracefulShutdownPeriodExpiredError') throw e;
        });
      },
    };
    return this.cardWorker;
  }

  /** The print worker (Chromium) on this system's print task queue; tests that print start it. */
  async startPrintWorker(opts: { chunkItems?: number } = {}): Promise<TestWorker & { renderer: PdfRenderer }> {
    const { worker, renderer } = await createPrintWorker({
      connection: this.workerConnection,
      namespace: 'default',
      taskQueue: this.printTaskQueue,
      orm: this.orm,
      ward: loadWardConfig(),
      publicUrl: this.baseUrl ?? 'http://localhost',
      printDir: this.printDir,
      chunkItems: opts.chunkItems,
    });
    const running = worker.run();
    this.printWorker = {
      worker,
      running,
      renderer,
      stop: async () => {
        worker.shutdown();
        await running;
        await renderer.close();
      },
    };
    return this.printWorker;
  }

  private printProcesses: PrintWorkerProcess[] = [];
  /**
   * The print worker as a child process on this system's print task queue (the build in `dist/`,
   * which `npm test` makes first), as `npm start` runs it; resolves once it polls its queue.
   */
  async startPrintWorkerProcess(opts: { chunkItems?: number } = {}): Promise<PrintWorkerProcess> {
    const child = spawn(process.execPath, ['--enable-source-maps', 'dist/src/worker/print-main.js'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        LOG_LEVEL: 'info',
        PRINT_TASK_QUEUE: this.printTaskQueue,
        PRINT_DIR: this.printDir,
        PUBLIC_URL: this.baseUrl,
        ...(opts.chunkItems ? { PRINT_CHUNK_ITEMS: String(opts.chunkItems) } : {}),
      },
    });
    const lines: string[] = [];
    let ready: () => void = () => undefined;
    const isReady = new Promise<void>((resolve) => (ready = resolve));
    let rest = '';
    child.stdout!.on('data', (b: Buffer) => {
      const parts = (rest + b.toString('utf8')).split('\n');
      rest = parts.pop() ?? '';
      for (const l of parts) {
        lines.push(l);
        if (l.includes('print worker ready')) ready();
      }
    });
    child.stderr!.on('data', (b: Buffer) => lines.push(b.toString('utf8')));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const proc: PrintWorkerProcess = {
      child,
      lines,
      exited,
      kill: (signal) => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      },
      descendants: () => descendantsOf(child.pid!),
      stop: async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const browser = descendantsOf(child.pid!);
        child.kill('SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, 30_000)))]).finally(() => clearTimeout(timer));
        proc.kill('SIGKILL');
        await exited;
        // Whatever of its browser is left behind is ended too (by pid: these are this test's processes).
        for (const pid of browser.filter(isRunning)) process.kill(pid, 'SIGKILL');
      },
    };
    this.printProcesses.push(proc);
    const failed = exited.then(() => {
      throw new Error(`the print worker process exited before it was ready:\n${lines.join('\n')}`);
    });
    await Promise.race([isReady, failed]);
    failed.catch(() => undefined);
    return proc;
  }

  /** Stops every print worker process this system started (see `PrintWorkerProcess.stop`). */
  async stopPrintWorkerProcesses(): Promise<void> {
    await Promise.all(this.printProcesses.map((p) => p.stop()));
  }

  /** A user of `role` with a fresh API token (created through the same service as the CLI). */
  async token(role: StaffRole, username = `${role}-${safeRandomUUID().slice(0, 6)}`, venueId = role === 'venue' ? 'kuyakusho' : undefined): Promise<string> {
    const cached = this.tokens.get(username);
    if (cached) return cached;
    const auth = this.app.get(AuthService);
    await auth.createUser({ username, role, venueId });
    const { token } = await auth.createToken(username, 'test');
    this.tokens.set(username, token);
    return token;
  }

  /** A staff user who signs in on the pages; ward and admin users get a TOTP secret. */
  async webUser(role: StaffRole, opts: { venueId?: string; totp?: boolean } = {}): Promise<{ username: string; password: string; totpSecret?: string }> {
    const username = `${role}-web-${safeRandomUUID().slice(0, 6)}`;
    const password = `pw-${safeRandomUUID()}`;
    await this.app.get(AuthService).createUser({ username, role, venueId: opts.venueId ?? (role === 'venue' ? 'kuyakusho' : undefined), displayName: `${role} テスト` });
    const web = this.app.get(WebAuthService);
    await web.setPassword(username, password);
    let totpSecret: string | undefined;
    if (opts.totp ?? ['ward', 'admin'].includes(role)) {
      totpSecret = WebAuthService.generateSecret();
      await web.enableTotpWithSecret(username, totpSecret);
    }
    return { username, password, totpSecret };
  }

  async http(method: string, path: string, opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) {
    const res = await fetch(this.baseUrl + path, {
      method,
      headers: {
        ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...opts.headers,
      },
      body: opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body),
    });
    const text = await res.text();
    let json: any;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, json, text, headers: res.headers };
  }

  async sql<T = Record<string, any>>(query: string, params: unknown[] = []): Promise<T[]> {
    return this.orm.em.fork().execute(query, params) as Promise<T[]>;
  }

  /**
   * A booking slot (normally made by the calendar's generator): `venueId`, start, length and
   * capacity; an existing slot is left as it is. Answers the slot key the reserve action takes.
   */
  async slot(venueId: string, startsAt: Date | string, lengthMs = 30 * 60_000, capacity = 5): Promise<{ venueId: string; startsAt: string }> {
    const start = new Date(startsAt);
    // A slot the calendar generated at the same time gets this capacity and length (tests use times
    // of their own, e.g. 10:10, so that test files sharing the database do not share slots).
    await this.sql(`insert into slot (venue_id, starts_at, ends_at, capacity) values (?, ?, ?, ?)
      on conflict (venue_id, starts_at) do update set ends_at = excluded.ends_at, capacity = excluded.capacity, open = true`, [
      venueId,
      start.toISOString(),
      new Date(start.getTime() + lengthMs).toISOString(),
      capacity,
    ]);
    return { venueId, startsAt: start.toISOString() };
  }

  private owner?: MikroORM;
  /** SQL as the schema's owner (MIGRATION_DATABASE_URL): for test-only triggers the application's role may not create. */
  async ownerSql<T = Record<string, any>>(query: string, params: unknown[] = []): Promise<T[]> {
    this.owner ??= await openOrm(process.env.MIGRATION_DATABASE_URL ?? process.env.DATABASE_URL!);
    return this.owner.em.fork().execute(query, params) as Promise<T[]>;
  }

  /**
   * Stops every part, each within `STOP_STEP_MS`: a step that takes longer is named on stderr and
   * left behind (the test file's process ends anyway), so that a loaded machine cannot hold a file's
   * afterAll past its limit and hide which part was slow.
   */
  async stop(): Promise<void> {
    const step = async (name: string, fn: () => Promise<unknown> | undefined) => {
      const started = Date.now();
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), STOP_STEP_MS)));
      const outcome = await Promise.race([Promise.resolve(fn()).then(() => 'done' as const), late]).finally(() => clearTimeout(timer));
      const ms = Date.now() - started;
      if (outcome === 'late' || ms > 20_000) process.stderr.write(`[test-system] stopping the ${name} took ${outcome === 'late' ? `more than ${STOP_STEP_MS}` : ms} ms\n`);
    };
    await step('owner connection', () => this.owner?.close());
    await step('API', () => this.app?.close());
    await step('card worker', () => this.cardWorker?.stop());
    await step('print worker', () => this.printWorker?.stop().catch(() => undefined));
    await step('print worker processes', () => this.stopPrintWorkerProcesses());
    await step('worker connection', () => this.workerConnection?.close());
    await step('client connection', () => this.clientConnection?.close());
    await step('database connection', () => this.orm?.close());
  }
}

/** How long each part may take to stop (see `TestSystem.stop`). */
const STOP_STEP_MS = 25_000;

/** Every process under `pid` (children, their children, ...), from `ps`. */
export function descendantsOf(pid: number): number[] {
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number));
  const found = new Set<number>([pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [p, pp] of rows) {
      if (found.has(pp) && !found.has(p)) {
        found.add(p);
        grew = true;
      }
    }
  }
  found.delete(pid);
  return [...found];
}

/** Whether a process is running (a zombie waiting for its parent is not). */
export function isRunning(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

let seq = 0;
/** A valid card for registration, unique per call. */
export function aCard(overrides: Record<string, unknown> = {}, resident: Record<string, unknown> = {}) {
  let cardId: string;
  // Never an id the My Number guard would refuse (a run of digits can form one by chance).
  do {
    seq++;
    cardId = `T${Date.now().toString(36)}${seq}${safeRandomUUID().slice(0, 4)}`.toUpperCase();
  } while (containsMyNumber(cardId));
  return {
    cardId,
    route: 'pickup',
    resident: {
      name: '江東 太郎',
      nameKana: 'コウトウ タロウ',
      birthDate: '1980-04-01',
      postalCode: '135-0016',
      address: '江東区東陽4-11-28',
      phone: '03-3647-9111',
      ...resident,
    },
    ...overrides,
  };
}

/** Polls `fn` until it returns a truthy value (the read model catches up asynchronously after timers). */
export async function eventually<T>(fn: () => Promise<T | undefined | false>, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/**
 * A start far enough ahead for anyone to book (R-4.3: 4 business days): `businessDays` business days
 * from today (Tokyo), at `time` Tokyo time, plus `offsetMinutes` so that tests do not share slots.
 */
export function bookableStart(businessDays = 6, time = '10:00', offsetMinutes = 0): Date {
  const day = addBusinessDays(tokyoDate(), businessDays);
  return new Date(Date.parse(`${day}T${time}:00+09:00`) + offsetMinutes * 60_000);
}
