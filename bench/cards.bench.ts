/**
 * `npm run bench:cards`: a performance report of the card system on this machine, each figure beside
 * its target. It starts its own stack in a temporary directory, the way `npm start` runs it (PostgreSQL
 * with durable commits, the Temporal dev server on a SQLite file), with the API and the worker both
 * as separate processes (as `npm start`'s supervisor runs them, on their own task queue) and in this
 * process (with a no-op worker), then measures, side by side in one run:
 *   1. registration of 10,000 cards over HTTP until every card is readable and its workflow has run
 *      its first task (the worker starts them from the outbox), against the bare rate of workflow starts; and each lever on its own: (a) requestEagerStart, (b) one process against
 *      separate processes, (c) the round trips of a registration (resident rows, first workflow task);
 *   2. sequential card actions over HTTP against a no-op Temporal Update, in both layouts, and the
 *      same actions sent straight to the card workflows as Updates (the split between API and
 *      workflow), with (d) the garbage collector's pauses during them;
 *   3. search over a read model of 530,000 cards;
 *   4. the CSV export of those cards: time and memory;
 *   5. the hand-over: 17,000 cards on `npm start`'s own stack (its supervisor, started afresh), against
 *      the bare start rate of that stack.
 * A report, not a test: it exits 0 whether or not the targets are met, and 1 only if it cannot run.
 * BENCH_SCALE=0.1 shrinks the runs, BENCH_ONLY=registration,updates,handover runs some parts.
 */
import { safeRandomUUID } from '../src/common/my-number.js';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { MikroORM } from '@mikro-orm/postgresql';
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createApp } from '../src/app.factory.js';
import { AuthService } from '../src/auth/auth.service.js';
import { UsersRepository } from '../src/auth/users.repository.js';
import type { CardInput } from '../src/cards/card.dto.js';
import { CardsRepository } from '../src/cards/cards.repository.js';
import { type WardConfig, loadWardConfig } from '../src/config/ward-config.js';
import { migrate, openOrm } from '../src/database/database.js';
import { freePort, startEmbeddedPostgres, startTemporalDevServer } from '../src/dev/local-stack.js';
import { SupervisedStack } from '../src/dev/supervised-stack.js';
import { createCardWorker } from '../src/worker/card-worker.js';
import type { ProjectCardInput } from '../activities/card.activities.js';
import { createCardActivities } from '../activities/create-card-activities.js';
import { type CardWorkflowInput, PATCHES_AT_START, cardActionUpdate, cardWorkflowId } from '../workflows/card-messages.js';
import { type Route, type StaffRole, register } from '../workflows/card-state-machine.js';
import type { cardWorkflow } from '../workflows/card.workflow.js';
import { type CpuSample, cpuMeter, cpuPer, cpuSecondsOf, findProcesses } from './cpu-meter.js';
import { startAppProcesses } from './app-processes.js';
import { waitForFirstTasks } from './first-tasks.js';
import { noopUpdate, type noopWorkflow } from './noop.workflow.js';
import { searchQueries, seedReadModel } from './read-model.js';

// ---- Sizes and targets -------------------------------------------------------------------------

/** BENCH_SCALE (default 1) shrinks the runs for a quick look; the report is meant at 1. */
const SCALE = Math.min(1, Math.max(0.01, Number(process.env.BENCH_SCALE ?? 1)));
const scaled = (n: number, batch = 100) => Math.max(batch, Math.round((n * SCALE) / batch) * batch);
/** BENCH_ONLY=registration,updates,search,export,handover runs some parts (updates need registration). */
const ONLY = new Set((process.env.BENCH_ONLY ?? 'registration,updates,search,export,handover').split(','));

const REGISTER_CARDS = scaled(10_000);
/** Each lever's runs, side by side in the same run. */
const LEVER_CARDS = scaled(1_000);
/** The previous vendor's hand-over, on `npm start`'s own stack. */
const HANDOVER_CARDS = scaled(17_000);
const REGISTER_BATCH = 1_000;
/** Batches in flight at once, as an importer with a little parallelism would send them. */
const REGISTER_IN_FLIGHT = 2;
const BARE_STARTS = scaled(3_000);
/** The API keeps 32 starts in flight per batch (CardsService); the bare run does the same. */
const BARE_IN_FLIGHT = 32;
const UPDATES = scaled(1_000);
/** Cards the actions cycle over: few enough that every one stays in the worker's cache. */
const UPDATE_CARDS = 50;
const READ_MODEL_CARDS = 530_000;
const SEARCHES = 200;

const TARGET_REGISTER_RATIO = 0.4;
const TARGET_UPDATE_P99_RATIO = 1.5;
const TARGET_SEARCH_P95_MS = 50;
const TARGET_EXPORT_GROWTH_MB = 150;
/** Flat means the second half of the export adds (almost) nothing to the first half's peak. */
const TARGET_EXPORT_SECOND_HALF_MB = 30;

// ---- Small helpers -----------------------------------------------------------------------------

const T0 = performance.now();
const LOAD_AT_START = loadavg().map((x) => x.toFixed(1)).join(' ');
const say = (m: string) => process.stderr.write(`[bench ${((performance.now() - T0) / 1000).toFixed(1).padStart(6)} s] ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MB = 1024 * 1024;

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Runs fn(0..count-1) with at most `concurrency` calls in flight. */
async function inPool(count: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) await fn(next++);
    }),
  );
}

/** Resolved like workflowsPath() in card-worker.ts: compiled JavaScript next to this file, else the source. */
function noopWorkflowPath(): string {
  const js = fileURLToPath(new URL('./noop.workflow.js', import.meta.url));
  return existsSync(js) ? js : js.replace(/\.js$/, '.ts');
}

/** Resident set size now; peak since the last reset where Linux offers it (VmHWM). */
const rss = () => process.memoryUsage().rss;
function resetPeakRss(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}
function peakRss(): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

interface ReportRow {
  figure: string;
  measured: string;
  target: string;
  pass?: boolean;
}
const report: ReportRow[] = [];

// ---- The stack ---------------------------------------------------------------------------------

/** Stopped in reverse order at the end, whatever happened. */
const cleanups: { name: string; run: () => Promise<unknown> }[] = [];
let cleaning: Promise<void> | undefined;
/** Runs the cleanups pushed so far, newest first; a second call while one runs waits for the same. */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (let c = cleanups.pop(); c; c = cleanups.pop()) {
      try {
        await c.run();
      } catch (e) {
        say(`cleanup of ${c.name} failed: ${String(e)}`);
      }
    }
  })().finally(() => (cleaning = undefined));
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    say(`${signal}: cleaning up`);
    // What was measured before the interruption is still worth reading.
    if (report.length > 0) printReport();
    void cleanup().then(() => process.exit(130));
  });
}
// The servers are child processes: never leave them running, whatever fails.
for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
  process.once(event, (e: unknown) => {
    say(`${event}: ${(e as Error)?.stack ?? String(e)}`);
    void cleanup().then(() => process.exit(1));
  });
}

interface Stack {
  baseUrl: string;
  client: Client;
  /** A client on the in-process card worker's own NativeConnection: what eager start needs. */
  workerClient: Client;
  cardQueue: string;
  pgUrl: string;
  temporalAddress: string;
  ward: WardConfig;
  /** The benchmark's own connections to PostgreSQL (seeding, counting). */
  orm: MikroORM;
  noopQueue: string;
  /** CPU seconds so far of this process, Temporal and PostgreSQL; undefined where /proc is missing. */
  cpu(): CpuSample | undefined;
  token(role: StaffRole): Promise<string>;
}

async function startStack(): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), 'koto-card-bench-'));
  cleanups.push({ name: 'temp dir', run: async () => rmSync(dir, { recursive: true, force: true }) });
  // As root, PostgreSQL runs as its own user, which must be able to reach its data directory.
  chmodSync(dir, 0o755);
  const [pgPort, temporalPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  say(`stack in ${dir}: PostgreSQL :${pgPort}, Temporal :${temporalPort}, API :${apiPort}`);
  // Each is stopped at the end even when the other failed to start.
  const [pg, temporal] = await Promise.all([
    // Durable commits (fsync on), as in production: not the tests' throw-away settings.
    startEmbeddedPostgres({ dir: join(dir, 'pg'), port: pgPort, database: 'cards_bench', ephemeral: false }).then((pg) => {
      cleanups.push({ name: 'PostgreSQL', run: () => pg.stop() });
      return pg;
    }),
    // File-backed with the WAL pragmas, as `npm start` runs it.
    startTemporalDevServer({ cliPath: process.env.TEMPORAL_CLI_PATH, port: temporalPort, dbFile: join(dir, 'temporal.db') }).then((temporal) => {
      cleanups.push({ name: 'Temporal', run: () => temporal.stop() });
      return temporal;
    }),
  ]);
  await migrate(pg.url);

  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  const suffix = safeRandomUUID().slice(0, 8);
  const cardQueue = `cards-bench-${suffix}`;
  const noopQueue = `noop-bench-${suffix}`;

  const workerOrm = await openOrm(pg.url);
  cleanups.push({ name: 'worker ORM', run: () => workerOrm.close() });
  const workerConnection = await NativeConnection.connect({ address: temporal.address });
  cleanups.push({ name: 'worker connection', run: () => workerConnection.close() });
  say('bundling the card workflows and the no-op workflow');
  const [cardWorker, noopWorker] = await Promise.all([
    // No workflowBundlePath: the worker bundles at start, as the worker process does.
    createCardWorker({ connection: workerConnection, namespace: 'default', taskQueue: cardQueue, orm: workerOrm, databaseUrl: pg.url }),
    Worker.create({ connection: workerConnection, namespace: 'default', taskQueue: noopQueue, workflowsPath: noopWorkflowPath() }),
  ]);
  for (const [name, worker] of [['card worker', cardWorker], ['no-op worker', noopWorker]] as const) {
    const running = worker.run();
    cleanups.push({
      name,
      run: async () => {
        worker.shutdown();
        await running;
      },
    });
  }

  process.env.DATABASE_URL = pg.url;
  process.env.TEMPORAL_ADDRESS = temporal.address;
  process.env.TEMPORAL_TASK_QUEUE = cardQueue;
  process.env.LOG_LEVEL = 'silent';
  // The ward's own policy from config/koto, not a test override.
  delete process.env.CARD_POLICY_JSON;
  const app = await createApp();
  await app.listen(apiPort, '127.0.0.1');
  cleanups.push({ name: 'API', run: () => app.close() });

  const clientConnection = await Connection.connect({ address: temporal.address });
  cleanups.push({ name: 'client connection', run: () => clientConnection.close() });
  const orm = await openOrm(pg.url);
  cleanups.push({ name: 'bench ORM', run: () => orm.close() });

  const meter = cpuMeter(temporalPort, join(dir, 'pg'));
  const tokens = new Map<StaffRole, string>();
  return {
    baseUrl: `http://127.0.0.1:${apiPort}`,
    client: new Client({ connection: clientConnection }),
    workerClient: new Client({ connection: workerConnection }),
    cardQueue,
    pgUrl: pg.url,
    temporalAddress: temporal.address,
    ward: loadWardConfig(),
    orm,
    noopQueue,
    cpu: () => meter?.(),
    // A user and token per role, made by the same service as the CLI's.
    async token(role) {
      const known = tokens.get(role);
      if (known) return known;
      const auth = app.get(AuthService);
      const username = `bench-${role}`;
      await auth.createUser({ username, role });
      const { token } = await auth.createToken(username, 'bench');
      tokens.set(role, token);
      return token;
    },
  };
}

async function sql<T = Record<string, unknown>>(s: Stack, query: string, params: unknown[] = []): Promise<T[]> {
  return s.orm.em.fork().execute(query, params) as Promise<T[]>;
}

async function http(baseUrl: string, method: string, path: string, token: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(baseUrl + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path.split('?')[0]} → ${res.status} ${text.slice(0, 500)}`);
  return text ? JSON.parse(text) : undefined;
}

// ---- Layouts: the API and the worker in this process, or as separate processes -----------------

/** An API to register cards and send actions to, and the task queue its worker polls. */
interface ApiTarget {
  baseUrl: string;
  taskQueue: string;
  /** CPU seconds so far of its own processes (the separate layout), beside this process's. */
  childCpu?: () => { api: number; worker: number };
}

/** One garbage collection pause: when it started (this process's performance.now()) and how long. */
interface GcPause {
  at: number;
  ms: number;
  kind: string;
}

/**
 * The API and the worker as separate processes, as `npm start`'s supervisor runs them
 * (dist/src/main.js, dist/src/worker/main.js, the same arguments), on the benchmark's PostgreSQL
 * and Temporal, on a task queue of their own. With --trace-gc, so that their pauses can be counted.
 */
interface Children {
  target: ApiTarget;
  pids: { api: number; worker: number };
  gc: Record<'api' | 'worker', GcPause[]>;
}

const TRACE_GC = /^\[\d+:0x[0-9a-f]+\]\s+(\d+) ms: (\S+(?: \S+)*?) [\d.]+ \([\d.]+\) -> [\d.]+ \([\d.]+\) MB, (?:pooled: [\d.]+ MB, )?([\d.]+) \/ [\d.]+ ms/;

async function startChildren(s: Stack): Promise<Children> {
  const taskQueue = `cards-bench-children-${safeRandomUUID().slice(0, 8)}`;
  const gc: Children['gc'] = { api: [], worker: [] };
  const { baseUrl, pids } = await startAppProcesses({
    pgUrl: s.pgUrl,
    temporalAddress: s.temporalAddress,
    taskQueue,
    nodeFlags: ['--trace-gc'],
    onStdoutLine: (name, line, spawnedAt) => {
      const m = TRACE_GC.exec(line);
      // The child's clock starts with its isolate, a few ms after the spawn: close enough for totals.
      if (m) gc[name].push({ at: spawnedAt + Number(m[1]), ms: Number(m[3]), kind: m[2] });
    },
    cleanups,
    say,
  });
  return { target: { baseUrl, taskQueue, childCpu: () => ({ api: cpuSecondsOf(pids.api), worker: cpuSecondsOf(pids.worker) }) }, pids, gc };
}

// ---- 1. Registration ---------------------------------------------------------------------------

const SURNAMES = [['佐藤', 'サトウ'], ['鈴木', 'スズキ'], ['高橋', 'タカハシ'], ['田中', 'タナカ'], ['伊藤', 'イトウ'], ['渡辺', 'ワタナベ'], ['山本', 'ヤマモト'], ['中村', 'ナカムラ'], ['小林', 'コバヤシ'], ['加藤', 'カトウ']];
const GIVEN = [['太郎', 'タロウ'], ['花子', 'ハナコ'], ['一郎', 'イチロウ'], ['美咲', 'ミサキ'], ['健太', 'ケンタ'], ['陽菜', 'ヒナ'], ['翔', 'ショウ'], ['結衣', 'ユイ']];
const TOWNS = [['135-0016', '東陽'], ['135-0061', '豊洲'], ['136-0072', '大島'], ['136-0071', '亀戸'], ['135-0011', '扇橋'], ['136-0076', '南砂']];
const ROUTE_MIX = ['pickup', 'pickup', 'pickup', 'pickup', 'pickup', 'pickup', 'pickup', 'pickup', 'counter', 'express'];

/** A valid card as the office's import sends it. Ids carry no long digit runs (the My Number filter). */
function benchCard(prefix: string, i: number) {
  const [name, kana] = SURNAMES[i % SURNAMES.length];
  const [given, givenKana] = GIVEN[(i * 7) % GIVEN.length];
  const [postalCode, town] = TOWNS[i % TOWNS.length];
  return {
    cardId: `${prefix}${String(i).padStart(7, '0')}`,
    route: ROUTE_MIX[i % ROUTE_MIX.length],
    resident: {
      name: `${name} ${given}`,
      nameKana: `${kana} ${givenKana}`,
      birthDate: `19${40 + (i % 60)}-0${1 + (i % 9)}-1${i % 10}`,
      postalCode,
      address: `江東区${town}${1 + (i % 5)}-${1 + (i % 20)}-${1 + (i % 15)}`,
      ...(i % 4 === 0 ? {} : { phone: `03-${3000 + (i % 7000)}-${String(i % 10_000).padStart(4, '0')}` }),
    },
  };
}

/** A bench card as the API's schema parses it (with its defaults), for writing residents directly. */
const asInput = (c: ReturnType<typeof benchCard>): CardInput => ({ ...c, resident: { ...c.resident, nameCategory: 'legal' } }) as CardInput;

/**
 * Registers `count` cards in batches over HTTP; resolves when the API has answered every batch. The API
 * answers a batch once every card of it is readable (or 202 with the rest `pending` after its wait).
 */
async function registerOverHttp(baseUrl: string, token: string, prefix: string, count: number, batch: number, inFlight: number): Promise<void> {
  await inPool(Math.ceil(count / batch), inFlight, async (b) => {
    const cards = Array.from({ length: Math.min(batch, count - b * batch) }, (_, j) => benchCard(prefix, b * batch + j + 1));
    const { results } = (await http(baseUrl, 'POST', '/api/cards', token, { cards })) as { results: { status: string }[] };
    const created = results.filter((r) => r.status === 'created' || r.status === 'pending').length;
    if (created !== cards.length) throw new Error(`batch ${b}: ${created} of ${cards.length} created`);
  });
}

/** Waits until the workflows of the bench cards `prefix`1..`count` have run their first tasks (`waitForLive`). */
const waitForLive = (client: Client, prefix: string, count: number, timeoutMs: number) =>
  waitForFirstTasks(client, Array.from({ length: count }, (_, i) => benchCard(prefix, i + 1).cardId), timeoutMs, say);

/** Polls the read model until `count` rows with the prefix exist; returns the time it saw them. */
async function waitForRows(orm: MikroORM, prefix: string, count: number, timeoutMs: number): Promise<number> {
  const until = Date.now() + timeoutMs;
  let seen = 0;
  while (Date.now() < until) {
    const [row] = (await orm.em.fork().execute(`select count(*) as n from card where card_id like ?`, [`${prefix}%`])) as { n: string }[];
    seen = Number(row.n);
    if (seen >= count) return performance.now();
    await sleep(50);
  }
  throw new Error(`only ${seen} of ${count} ${prefix}… cards reached the read model in ${timeoutMs} ms`);
}

async function bareStarts(client: Client, prefix: string, count: number, cpu: () => CpuSample | undefined): Promise<{ rate: number; cpu?: string }> {
  // Nobody polls this queue: only the start itself is measured.
  const taskQueue = `unpolled-${prefix}-${safeRandomUUID().slice(0, 8)}`;
  const cpu0 = cpu();
  const t0 = performance.now();
  await inPool(count, BARE_IN_FLIGHT, async (i) => {
    await client.workflow.start<typeof noopWorkflow>('noopWorkflow', { taskQueue, workflowId: `${prefix}-${i}`, args: [] });
  });
  const rate = count / ((performance.now() - t0) / 1000);
  return { rate, cpu: cpuPer(cpu0, cpu(), count) };
}

interface RegistrationRun {
  rate: number;
  seconds: number;
  answeredSeconds: number;
  /** CPU ms per card: Temporal / node (API, card worker, this process) / PostgreSQL. */
  cpu?: string;
}

/** Registers `count` cards over HTTP and times it until the API has answered and every card is readable. */
async function timedRegistration(s: Stack, target: ApiTarget, prefix: string, count: number): Promise<RegistrationRun> {
  const token = await s.token('office');
  const cpu = () => {
    const c = s.cpu();
    const children = target.childCpu?.();
    return c && children ? { ...c, node: c.node + children.api + children.worker, api: children.api, worker: children.worker } : c;
  };
  const cpu0 = cpu();
  const t0 = performance.now();
  let answeredAt = 0;
  const posting = registerOverHttp(target.baseUrl, token, prefix, count, REGISTER_BATCH, REGISTER_IN_FLIGHT).then(() => (answeredAt = performance.now()));
  const [, projectedAt] = await Promise.all([posting, waitForRows(s.orm, prefix, count, 900_000)]);
  // Every card readable and every workflow past its first task (its timer set): registered.
  const liveAt = await waitForLive(s.client, prefix, count, 900_000);
  const end = Math.max(answeredAt, projectedAt, liveAt);
  const seconds = (end - t0) / 1000;
  // cpuPer splits node's share into the API, the card worker and this process.
  return { rate: count / seconds, seconds, answeredSeconds: (answeredAt - t0) / 1000, cpu: cpuPer(cpu0, cpu(), count) };
}

/**
 * Lever (a): the card workflows started by a client on the in-process worker's own NativeConnection,
 * with and without requestEagerStart, timed until every card is readable. No HTTP and no resident
 * rows: the start, the first workflow task and its projection only.
 */
async function directStarts(s: Stack, client: Client, taskQueue: string, prefix: string, count: number, eager: boolean): Promise<{ rate: number; eagerly: number }> {
  let eagerly = 0;
  // The residents first (a card row refers to its resident), outside the timing.
  const repo = new CardsRepository(s.orm.em);
  const cards = Array.from({ length: count }, (_, i) => benchCard(prefix, i + 1));
  for (let i = 0; i < count; i += REGISTER_BATCH) await repo.insertResidents(cards.slice(i, i + REGISTER_BATCH).map(asInput));
  const t0 = performance.now();
  await inPool(count, BARE_IN_FLIGHT, async (i) => {
    const c = cards[i];
    const args: CardWorkflowInput = {
      registration: { cardId: c.cardId, route: c.route as CardWorkflowInput['registration']['route'], venueId: s.ward.venueForPostalCode(c.resident.postalCode), hasPhone: Boolean(c.resident.phone) },
      policy: s.ward.policy,
      actor: { userId: 'bench-office', role: 'office', channel: 'api' },
      patchesAtStart: [...PATCHES_AT_START],
    };
    const handle = await client.workflow.start<typeof cardWorkflow>('cardWorkflow', {
      workflowId: cardWorkflowId(c.cardId),
      taskQueue,
      args: [args],
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      requestEagerStart: eager,
    });
    if ((handle as { eagerlyStarted?: boolean }).eagerlyStarted) eagerly++;
  });
  const at = await waitForRows(s.orm, prefix, count, 600_000);
  return { rate: count / ((at - t0) / 1000), eagerly };
}

/**
 * Lever (c): a registration's first projection as it was written before (a transaction of four
 * statements: five round trips with BEGIN and COMMIT), to set against projectCard's one statement.
 */
async function projectInTransaction(orm: MikroORM, { card, events }: ProjectCardInput): Promise<void> {
  await orm.em.fork().transactional(async (tx) => {
    await tx.execute(
      `insert into card (card_id, route, state, seq, venue_id, late, proposal_kinds, received_at, notice_mailed_at,
         renoticed_at, issued_at, closed_at, expires_on, booking_number, snapshot, updated_at)
       values (?, ?, ?, ?, ?, ?, ?::text[], ?, ?, ?, ?, ?, ?, ?, ?::jsonb, now())
       on conflict (card_id) do update set route = excluded.route, state = excluded.state, seq = excluded.seq,
         venue_id = excluded.venue_id, late = excluded.late, proposal_kinds = excluded.proposal_kinds,
         notice_mailed_at = excluded.notice_mailed_at, renoticed_at = excluded.renoticed_at,
         issued_at = excluded.issued_at, closed_at = excluded.closed_at, expires_on = excluded.expires_on,
         booking_number = excluded.booking_number, snapshot = excluded.snapshot, updated_at = now()
       where card.seq < excluded.seq`,
      [card.cardId, card.route, card.state, card.seq, card.venueId ?? null, card.late, `{}`, new Date(card.receivedAt).toISOString(), null, null, null, null, card.expiresOn ?? null, null, JSON.stringify(card)],
    );
    await tx.execute(
      `insert into card_event (card_id, seq, type, from_state, to_state, at, actor_user, actor_role, channel, reason, data)
       values ${events.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb)').join(', ')} on conflict (card_id, seq) do nothing`,
      events.flatMap((e) => [card.cardId, e.seq, e.type, e.fromState, e.toState, new Date(e.at).toISOString(), e.actor.userId, e.actor.role, e.actor.channel, e.reason ?? null, e.data ? JSON.stringify(e.data) : null]),
    );
    await tx.execute(`delete from card_stuck where card_id = ?`, [card.cardId]);
  });
}

/** Lever (c): `count` first projections (32 at a time) the old way and with projectCard; ms per card each. */
async function projectionStatements(s: Stack, count: number): Promise<{ transactionMs: number; oneMs: number }> {
  const repo = new CardsRepository(s.orm.em);
  const activities = createCardActivities({ orm: s.orm });
  const time = async (prefix: string, project: (input: ProjectCardInput) => Promise<void>) => {
    const cards = Array.from({ length: count }, (_, i) => benchCard(prefix, i + 1));
    for (let i = 0; i < count; i += REGISTER_BATCH) await repo.insertResidents(cards.slice(i, i + REGISTER_BATCH).map(asInput));
    const inputs = cards.map((c) => register({ cardId: c.cardId, route: c.route as Route, venueId: s.ward.venueForPostalCode(c.resident.postalCode), hasPhone: true }, { userId: 'bench-office', role: 'office', channel: 'api' }, Date.now()));
    const t0 = performance.now();
    await inPool(count, BARE_IN_FLIGHT, async (i) => project({ card: inputs[i].card, events: inputs[i].events }));
    return (performance.now() - t0) / count;
  };
  // Alternated twice, so that neither goes first on a colder database.
  const a1 = await time('PT', (x) => projectInTransaction(s.orm, x));
  const b1 = await time('PO', activities.projectCard);
  const a2 = await time('PU', (x) => projectInTransaction(s.orm, x));
  const b2 = await time('PP', activities.projectCard);
  return { transactionMs: (a1 + a2) / 2, oneMs: (b1 + b2) / 2 };
}

/** Lever (c): the residents of 1,000 cards written one statement per card, against one statement for all. */
async function residentStatements(s: Stack): Promise<{ perRowMs: number; oneMs: number }> {
  const repo = new CardsRepository(s.orm.em);
  const rows = (prefix: string) => Array.from({ length: REGISTER_BATCH }, (_, i) => asInput(benchCard(prefix, i + 1)));
  const perRow = rows('RR');
  const one = rows('RO');
  let t = performance.now();
  for (const c of perRow) await repo.insertResidents([c]);
  const perRowMs = performance.now() - t;
  t = performance.now();
  await repo.insertResidents(one);
  const oneMs = performance.now() - t;
  return { perRowMs, oneMs };
}

async function benchRegistration(s: Stack, children: Children): Promise<void> {
  const inProcess: ApiTarget = { baseUrl: s.baseUrl, taskQueue: s.cardQueue };
  const token = await s.token('office');
  say('warm-up: 300 cards over HTTP through each layout, 200 bare starts, 200 direct starts each way');
  await registerOverHttp(inProcess.baseUrl, token, 'W', 300, 100, REGISTER_IN_FLIGHT);
  await registerOverHttp(children.target.baseUrl, token, 'X', 300, 100, REGISTER_IN_FLIGHT);
  await Promise.all([waitForRows(s.orm, 'W', 300, 60_000), waitForRows(s.orm, 'X', 300, 60_000)]);
  await bareStarts(s.client, 'warm', 200, s.cpu);
  await directStarts(s, s.workerClient, s.cardQueue, 'WE', 200, true);
  await directStarts(s, s.workerClient, s.cardQueue, 'WN', 200, false);

  say(`bare client.workflow.start: ${BARE_STARTS} starts, ${BARE_IN_FLIGHT} in flight`);
  const bare = await bareStarts(s.client, 'bare', BARE_STARTS, s.cpu);
  say(`  ${bare.rate.toFixed(0)} starts/s; CPU per start (Temporal / node / PostgreSQL): ${bare.cpu ?? 'n/a'}`);

  say(`registration, production layout (API and worker processes): ${REGISTER_CARDS} cards in batches of ${REGISTER_BATCH}, ${REGISTER_IN_FLIGHT} in flight`);
  const separate = await timedRegistration(s, children.target, 'B', REGISTER_CARDS);
  say(`  API answered after ${separate.answeredSeconds.toFixed(1)} s, all readable after ${separate.seconds.toFixed(1)} s: ${separate.rate.toFixed(0)} cards/s; CPU per card ${separate.cpu ?? 'n/a'}`);

  say(`lever (b): the same registration with the API and the worker in one process (${LEVER_CARDS} cards each way)`);
  const one = await timedRegistration(s, inProcess, 'L', LEVER_CARDS);
  const two = await timedRegistration(s, children.target, 'M', LEVER_CARDS);
  say(`  one process ${one.rate.toFixed(0)} cards/s (CPU ${one.cpu ?? 'n/a'}); separate ${two.rate.toFixed(0)} cards/s (CPU ${two.cpu ?? 'n/a'})`);

  say(`lever (a): ${LEVER_CARDS} card workflows started on the in-process worker's NativeConnection, eager and not`);
  const eager = await directStarts(s, s.workerClient, s.cardQueue, 'E', LEVER_CARDS, true);
  const lazy = await directStarts(s, s.workerClient, s.cardQueue, 'N', LEVER_CARDS, false);
  // The production layout: the API's process has no worker, so nothing can take the first task there.
  const remote = await directStarts(s, s.workerClient, children.target.taskQueue, 'R', 200, true);
  say(`  eager ${eager.rate.toFixed(0)} cards/s (${eager.eagerly} started eagerly); not eager ${lazy.rate.toFixed(0)} cards/s; to the worker process's queue: ${remote.eagerly} of 200 eagerly`);

  say('lever (c): the residents of a batch of 1,000, one statement per card against one statement');
  const residents = await residentStatements(s);
  say(`  one per card ${residents.perRowMs.toFixed(0)} ms, one statement ${residents.oneMs.toFixed(0)} ms`);
  const projections = await projectionStatements(s, LEVER_CARDS);
  say(`  first projection: a transaction of 3 statements ${projections.transactionMs.toFixed(2)} ms per card, one statement ${projections.oneMs.toFixed(2)} ms (${LEVER_CARDS} each, ${BARE_IN_FLIGHT} at a time)`);
  const first = await firstTask(s);
  say(`  a registered card's history: ${first}`);

  const ratio = separate.rate / bare.rate;
  report.push(
    { figure: `Bare workflow.start (${BARE_STARTS}, ${BARE_IN_FLIGHT} in flight)`, measured: `${bare.rate.toFixed(0)} starts/s`, target: 'reference' },
    {
      figure: `Registration over HTTP until readable and started (${REGISTER_CARDS.toLocaleString('en')} cards, API and worker processes)`,
      measured: `${separate.rate.toFixed(0)} cards/s (${separate.seconds.toFixed(1)} s; answered after ${separate.answeredSeconds.toFixed(1)} s)`,
      target: `≥ ${(TARGET_REGISTER_RATIO * bare.rate).toFixed(0)} cards/s`,
    },
    { figure: 'Registration / bare start rate', measured: ratio.toFixed(2), target: `≥ ${TARGET_REGISTER_RATIO.toFixed(2)}`, pass: ratio >= TARGET_REGISTER_RATIO },
    {
      figure: `(b) one process against separate (${LEVER_CARDS.toLocaleString('en')} cards each)`,
      measured: `${one.rate.toFixed(0)} against ${two.rate.toFixed(0)} cards/s (${(one.rate / bare.rate).toFixed(2)} / ${(two.rate / bare.rate).toFixed(2)} × bare)`,
      target: 'lever',
    },
    {
      figure: `(a) requestEagerStart, worker in the same process (${LEVER_CARDS.toLocaleString('en')} starts until readable)`,
      measured: `${eager.rate.toFixed(0)} against ${lazy.rate.toFixed(0)} cards/s without (${eager.eagerly} of ${LEVER_CARDS} eager)`,
      target: 'lever',
    },
    { figure: '(a) requestEagerStart by a client with no worker on its connection (as the API is)', measured: `${remote.eagerly} of 200 started eagerly (so the worker starts registrations)`, target: 'lever' },
    {
      figure: '(c) residents of 1,000 cards: one statement per card / one statement',
      measured: `${residents.perRowMs.toFixed(0)} / ${residents.oneMs.toFixed(0)} ms`,
      target: 'lever',
    },
    {
      figure: `(c) first projection, ${BARE_IN_FLIGHT} at a time: transaction of 3 statements / one statement`,
      measured: `${projections.transactionMs.toFixed(2)} / ${projections.oneMs.toFixed(2)} ms per card (wall)`,
      target: 'lever',
    },
    { figure: '(c) first workflow task of a registration', measured: first, target: 'lever' },
  );
  if (bare.cpu && separate.cpu) {
    report.push(
      { figure: 'CPU per bare start (Temporal / node / PG)', measured: bare.cpu, target: 'info' },
      { figure: 'CPU per registered card (Temporal / node / PG)', measured: separate.cpu, target: 'info' },
    );
  }
}

/** What a registration's history holds: its workflow tasks and the commands of the first. */
async function firstTask(s: Stack): Promise<string> {
  const history = await s.client.workflow.getHandle(cardWorkflowId(`B${String(1).padStart(7, '0')}`)).fetchHistory();
  const events = history.events ?? [];
  const name = (t: unknown) => String(proto.temporal.api.enums.v1.EventType[t as number] ?? t).replace('EVENT_TYPE_', '').toLowerCase();
  const tasks = events.filter((e) => name(e.eventType) === 'workflow_task_completed').length;
  const firstCompleted = events.findIndex((e) => name(e.eventType) === 'workflow_task_completed');
  const after = events.slice(firstCompleted + 1).map((e) => name(e.eventType));
  return `${tasks} workflow task(s); the first records ${after.join(', ')}`;
}

// ---- 2. Updates --------------------------------------------------------------------------------

/** Nearest-rank p99 of the samples that did not overlap a pause. */
function withoutGc(samples: { t0: number; ms: number }[], pauses: GcPause[]): { p99: number; hit: number; gcMs: number } {
  let hit = 0;
  let gcMs = 0;
  const clean: number[] = [];
  for (const x of samples) {
    const overlapping = pauses.filter((p) => p.at < x.t0 + x.ms && p.at + p.ms > x.t0);
    if (overlapping.length > 0) {
      hit++;
      gcMs += overlapping.reduce((sum, p) => sum + p.ms, 0);
    } else clean.push(x.ms);
  }
  clean.sort((a, b) => a - b);
  return { p99: clean.length ? percentile(clean, 99) : NaN, hit, gcMs };
}

/** A fresh Idempotency-Key with no digits: a random UUID can hold what the My Number guard refuses. */
const keyWithoutDigits = () => safeRandomUUID().replace(/\d/g, (d) => 'ghijklmnop'[Number(d)]);

async function benchUpdates(s: Stack, children: Children): Promise<void> {
  const token = await s.token('ward');
  const act = async (baseUrl: string, cardId: string, action: 'pull_out' | 'release_hold') => {
    const body = action === 'pull_out' ? { reason: '区の指示により引き抜き（ベンチマーク）' } : {};
    const result = (await http(baseUrl, 'POST', `/api/cards/${cardId}/actions/${action}`, token, body, { 'idempotency-key': keyWithoutDigits() })) as { card: { state: string } };
    if ((action === 'pull_out') !== (result.card.state === 'on_hold')) throw new Error(`${action} on ${cardId} left it ${result.card.state}`);
  };
  // The in-process API's cards (L…) and the API process's (B…): each layout acts on cards its own worker runs.
  const layouts = [
    { name: 'separate', baseUrl: children.target.baseUrl, cards: Array.from({ length: UPDATE_CARDS }, (_, i) => `B${String(i + 1).padStart(7, '0')}`) },
    { name: 'one', baseUrl: s.baseUrl, cards: Array.from({ length: UPDATE_CARDS }, (_, i) => `L${String(i + 1).padStart(7, '0')}`) },
  ];
  // The split of the production layout's time: the same actions sent straight to the worker
  // process's card workflows as Updates (no HTTP, no API), on cards of their own.
  const directCards = Array.from({ length: UPDATE_CARDS }, (_, i) => `B${String(UPDATE_CARDS + i + 1).padStart(7, '0')}`);
  const direct = async (cardId: string, action: 'pull_out' | 'release_hold') => {
    const result = await s.client.workflow.getHandle(cardWorkflowId(cardId)).executeUpdate(cardActionUpdate, {
      args: [{ action, actor: { userId: 'bench-office', role: 'office', channel: 'api' }, reason: action === 'pull_out' ? '区の指示により引き抜き（ベンチマーク）' : undefined }],
      updateId: `bench-direct:${keyWithoutDigits()}`,
    });
    if ((action === 'pull_out') !== (result.card.state === 'on_hold')) throw new Error(`${action} on ${cardId} left it ${result.card.state}`);
  };
  const handle = await s.client.workflow.start<typeof noopWorkflow>('noopWorkflow', { taskQueue: s.noopQueue, workflowId: `noop-${safeRandomUUID()}`, args: [] });
  say(`warm-up: one pull_out / release_hold on each of ${UPDATE_CARDS} cards per layout, 50 bare Updates`);
  for (const l of layouts) {
    for (const cardId of l.cards) {
      await act(l.baseUrl, cardId, 'pull_out');
      await act(l.baseUrl, cardId, 'release_hold');
    }
  }
  for (const cardId of directCards) {
    await direct(cardId, 'pull_out');
    await direct(cardId, 'release_hold');
  }
  for (let i = 0; i < 50; i++) await handle.executeUpdate(noopUpdate);

  // One of each in turn, never two at once: every series sees the same machine, load and heap.
  say(`${UPDATES} HTTP actions per layout (alternating pull_out / release_hold) and ${UPDATES} bare Updates, sequential, interleaved`);
  globalThis.gc?.();
  const pauses: GcPause[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) pauses.push({ at: e.startTime, ms: e.duration, kind: String((e as { detail?: { kind?: number } }).detail?.kind ?? '') });
  });
  observer.observe({ entryTypes: ['gc'] });
  const samples: Record<'separate' | 'one' | 'direct' | 'bare', { t0: number; ms: number }[]> = { separate: [], one: [], direct: [], bare: [] };
  const phaseStart = performance.now();
  for (let i = 0; i < UPDATES; i++) {
    const action = i % 2 === 0 ? 'pull_out' : 'release_hold';
    for (const l of layouts) {
      const t0 = performance.now();
      await act(l.baseUrl, l.cards[Math.floor(i / 2) % l.cards.length], action);
      samples[l.name as 'separate' | 'one'].push({ t0, ms: performance.now() - t0 });
    }
    const td = performance.now();
    await direct(directCards[Math.floor(i / 2) % directCards.length], action);
    samples.direct.push({ t0: td, ms: performance.now() - td });
    const t0 = performance.now();
    await handle.executeUpdate(noopUpdate);
    samples.bare.push({ t0, ms: performance.now() - t0 });
  }
  const phaseEnd = performance.now();
  await sleep(100);
  observer.disconnect();
  await handle.terminate('benchmark done');

  const stats = (k: keyof typeof samples) => {
    const sorted = samples[k].map((x) => x.ms).sort((a, b) => a - b);
    return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
  };
  const [sep, one, bare, dir] = [stats('separate'), stats('one'), stats('bare'), stats('direct')];
  say(`  production layout p50 ${sep.p50.toFixed(1)} ms, p99 ${sep.p99.toFixed(1)} ms; one process p50 ${one.p50.toFixed(1)}, p99 ${one.p99.toFixed(1)} ms; bare p50 ${bare.p50.toFixed(1)} ms, p99 ${bare.p99.toFixed(1)} ms`);
  // The tail, to tell a few slow requests from a slow cluster: each series' slowest eight.
  for (const k of ['separate', 'one', 'direct', 'bare'] as const) {
    say(`  slowest ${k}: ${samples[k].map((x) => x.ms).sort((a, b) => b - a).slice(0, 8).map((ms) => ms.toFixed(1)).join(' ')} ms`);
  }

  // Lever (d): the collector's share. In this process (one-process layout, and the bare client) the
  // pauses are known to the microsecond; the children's come from --trace-gc, to a few ms.
  const phaseMs = phaseEnd - phaseStart;
  const inPhase = (p: GcPause) => p.at >= phaseStart && p.at <= phaseEnd;
  const total = (ps: GcPause[]) => ps.filter(inPhase).reduce((sum, p) => sum + p.ms, 0);
  const max = (ps: GcPause[]) => Math.max(0, ...ps.filter(inPhase).map((p) => p.ms));
  const oneGc = withoutGc(samples.one, pauses);
  const bareGc = withoutGc(samples.bare, pauses);
  const childPauses = [...children.gc.api, ...children.gc.worker];
  const sepGc = withoutGc(samples.separate, childPauses);
  const gcLine = (name: string, ps: GcPause[]) =>
    `${name}: ${ps.filter(inPhase).length} pauses, ${total(ps).toFixed(0)} ms (${((100 * total(ps)) / phaseMs).toFixed(1)} % of the phase), longest ${max(ps).toFixed(1)} ms`;
  for (const l of [gcLine('this process', pauses), gcLine('API process', children.gc.api), gcLine('worker process', children.gc.worker)]) say(`  GC ${l}`);
  say(`  actions overlapping a pause: one process ${oneGc.hit} (p99 without them ${oneGc.p99.toFixed(1)} ms), separate ${sepGc.hit} (${sepGc.p99.toFixed(1)} ms), bare ${bareGc.hit} (${bareGc.p99.toFixed(1)} ms)`);

  report.push(
    { figure: `Bare Update (${UPDATES}, sequential) p50`, measured: `${bare.p50.toFixed(1)} ms`, target: 'reference' },
    { figure: 'Bare Update p99', measured: `${bare.p99.toFixed(1)} ms`, target: 'reference' },
    { figure: `HTTP card action (${UPDATES}, sequential, API and worker processes) p50`, measured: `${sep.p50.toFixed(1)} ms (${(sep.p50 / bare.p50).toFixed(2)} × bare)`, target: 'info' },
    {
      figure: 'HTTP card action p99',
      measured: `${sep.p99.toFixed(1)} ms (${(sep.p99 / bare.p99).toFixed(2)} × bare)`,
      target: `≤ ${(TARGET_UPDATE_P99_RATIO * bare.p99).toFixed(1)} ms (${TARGET_UPDATE_P99_RATIO} × bare)`,
      pass: sep.p99 <= TARGET_UPDATE_P99_RATIO * bare.p99,
    },
    {
      figure: 'Split: the same action as an Update straight to the worker process (no HTTP, no API) p50 / p99',
      measured: `${dir.p50.toFixed(1)} / ${dir.p99.toFixed(1)} ms (${(dir.p50 / bare.p50).toFixed(2)} / ${(dir.p99 / bare.p99).toFixed(2)} × bare)`,
      target: 'info',
    },
    { figure: '(b) HTTP action p99, one process', measured: `${one.p99.toFixed(1)} ms (${(one.p99 / bare.p99).toFixed(2)} × bare)`, target: 'lever' },
    {
      figure: '(d) GC pauses in the action phase: API / worker / this process',
      measured: `${total(children.gc.api).toFixed(0)} / ${total(children.gc.worker).toFixed(0)} / ${total(pauses).toFixed(0)} ms of ${(phaseMs / 1000).toFixed(0)} s; longest ${max(children.gc.api).toFixed(1)} / ${max(children.gc.worker).toFixed(1)} / ${max(pauses).toFixed(1)} ms`,
      target: 'lever',
    },
    {
      figure: '(d) p99 without the actions a pause overlapped: separate / one / bare',
      measured: `${sepGc.p99.toFixed(1)} (${sepGc.hit} hit) / ${oneGc.p99.toFixed(1)} (${oneGc.hit}) / ${bareGc.p99.toFixed(1)} ms (${bareGc.hit})`,
      target: 'lever',
    },
  );
}

// ---- 3. Search ---------------------------------------------------------------------------------

async function benchSearch(s: Stack): Promise<void> {
  const [{ n }] = await sql<{ n: string }>(s, `select count(*) as n from card`);
  const seed = READ_MODEL_CARDS - Number(n);
  say(`seeding ${seed} cards into the read model (${n} are there already)`);
  const t = performance.now();
  if (seed > 0) await seedReadModel(s.orm, seed);
  say(`  seeded in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  const token = await s.token('office');
  const queries = searchQueries(SEARCHES + 20);
  // The first requests pay for cold caches and plans; the report measures the rest.
  for (const path of queries.slice(0, 20)) await http(s.baseUrl, 'GET', path, token);
  say(`search: ${SEARCHES} requests, three filters and a sort`);
  const timings: { ms: number; path: string; items: number }[] = [];
  for (const path of queries.slice(20)) {
    const t1 = performance.now();
    const page = (await http(s.baseUrl, 'GET', path, token)) as { items: unknown[] };
    timings.push({ ms: performance.now() - t1, path, items: page.items.length });
  }
  const sorted = timings.map((x) => x.ms).sort((a, b) => a - b);
  const [p50, p95, max] = [percentile(sorted, 50), percentile(sorted, 95), sorted[sorted.length - 1]];
  say(`  p50 ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, max ${max.toFixed(1)} ms`);
  for (const slow of [...timings].sort((a, b) => b.ms - a.ms).slice(0, 3)) say(`  slowest: ${slow.ms.toFixed(1)} ms (${slow.items} items) ${slow.path}`);
  report.push(
    { figure: `Search (${READ_MODEL_CARDS.toLocaleString('en')} cards) p50`, measured: `${p50.toFixed(1)} ms`, target: 'info' },
    { figure: `Search p95 (${SEARCHES} requests)`, measured: `${p95.toFixed(1)} ms`, target: `≤ ${TARGET_SEARCH_P95_MS} ms`, pass: p95 <= TARGET_SEARCH_P95_MS },
  );
}

// ---- 4. Export ---------------------------------------------------------------------------------

async function benchExport(s: Stack): Promise<void> {
  const token = await s.token('ward');
  const [{ n }] = await sql<{ n: string }>(s, `select count(*) as n from card`);
  const expected = Number(n);
  globalThis.gc?.();
  await sleep(200);
  const before = rss();
  const hwm = resetPeakRss();
  let rows = -1; // the header is no card
  let peak = before;
  let peakFirstHalf = before;
  const sampler = setInterval(() => {
    const now = rss();
    if (now > peak) peak = now;
    if (rows < expected / 2 && now > peakFirstHalf) peakFirstHalf = now;
  }, 50);
  say(`CSV export of ${expected} cards; RSS before ${(before / MB).toFixed(0)} MB`);
  const t0 = performance.now();
  let bytes = 0;
  try {
    const res = await fetch(`${s.baseUrl}/api/cards.csv`, { headers: { authorization: `Bearer ${token}` } });
    if (!res.ok || !res.body) throw new Error(`GET /api/cards.csv → ${res.status} ${await res.text()}`);
    // Count records by their line ends; nothing is kept (the bench must not hold the file either).
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      bytes += chunk.length;
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) rows++;
    }
  } finally {
    clearInterval(sampler);
  }
  const seconds = (performance.now() - t0) / 1000;
  const kernelPeak = hwm ? peakRss() : undefined;
  if (kernelPeak !== undefined && kernelPeak > peak) peak = kernelPeak;
  const growth = (peak - before) / MB;
  const secondHalf = (peak - peakFirstHalf) / MB;
  say(`  ${rows} rows, ${(bytes / MB).toFixed(0)} MB in ${seconds.toFixed(1)} s; RSS peak ${(peak / MB).toFixed(0)} MB (+${growth.toFixed(0)} MB, second half +${secondHalf.toFixed(0)} MB)`);
  report.push(
    { figure: 'CSV export rows', measured: `${rows.toLocaleString('en')}`, target: `${expected.toLocaleString('en')}`, pass: rows === expected },
    { figure: 'CSV export time', measured: `${seconds.toFixed(1)} s (${(rows / seconds).toFixed(0)} rows/s, ${(bytes / MB).toFixed(0)} MB)`, target: 'info' },
    { figure: 'CSV export RSS before → peak', measured: `${(before / MB).toFixed(0)} → ${(peak / MB).toFixed(0)} MB`, target: 'info' },
    { figure: 'CSV export RSS growth', measured: `+${growth.toFixed(0)} MB`, target: `< ${TARGET_EXPORT_GROWTH_MB} MB`, pass: growth < TARGET_EXPORT_GROWTH_MB },
    {
      figure: 'CSV export RSS growth in 2nd half',
      measured: `+${secondHalf.toFixed(0)} MB`,
      target: `< ${TARGET_EXPORT_SECOND_HALF_MB} MB (flat)`,
      pass: secondHalf < TARGET_EXPORT_SECOND_HALF_MB,
    },
  );
}

// ---- 5. The hand-over: 17,000 cards on `npm start`'s own stack ----------------------------------

/**
 * The previous vendor's hand-over starts about 17,000 cards at once. `npm start`'s supervisor
 * (dist/src/dev/start.js) in a directory of its own, on free ports: its PostgreSQL, its Temporal dev
 * server, its API and worker processes. The bare start rate is measured on the same stack first.
 */
async function benchHandover(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'koto-card-handover-'));
  chmodSync(dir, 0o755);
  cleanups.push({ name: 'hand-over temp dir', run: async () => rmSync(dir, { recursive: true, force: true }) });
  say(`hand-over: starting npm start's supervisor in ${dir}`);
  const stack = await SupervisedStack.launch(join(dir, 'data'), { LOG_LEVEL: 'warn' }, (line) => {
    if (line.startsWith('[start]')) say(`  supervisor: ${line.slice(8)}`);
  });
  const pids = new Set<number>();
  cleanups.push({
    name: 'npm start stack',
    run: async () => {
      for (const p of Object.values(stack.stackFile()?.pids ?? {})) if (p) pids.add(p);
      if (stack.child.exitCode === null) await stack.signal('SIGTERM').catch((e: Error) => say(e.message));
      stack.killAll([...pids]);
    },
  });
  const file = await stack.waitHealthy(300_000);
  const orm = await openOrm(file.databaseUrl);
  cleanups.push({ name: 'hand-over ORM', run: () => orm.close() });
  const connection = await Connection.connect({ address: file.temporalAddress });
  cleanups.push({ name: 'hand-over connection', run: () => connection.close() });
  const client = new Client({ connection });
  const auth = new AuthService(new UsersRepository(orm.em));
  await auth.createUser({ username: 'bench-handover', role: 'office' });
  const { token } = await auth.createToken('bench-handover', 'bench');
  const { temporal, postgres, api, worker } = file.pids;
  const cpu = (): CpuSample | undefined => {
    if (!temporal || !postgres || !api || !worker) return undefined;
    try {
      const backends = findProcesses((_argv, ppid) => ppid === postgres);
      return {
        node: cpuSecondsOf(api) + cpuSecondsOf(worker) + (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
        temporal: cpuSecondsOf(temporal),
        postgres: cpuSecondsOf(postgres) + backends.reduce((sum, pid) => sum + cpuSecondsOf(pid), 0),
      };
    } catch {
      return undefined;
    }
  };

  say('hand-over warm-up: 300 cards, 200 bare starts');
  await registerOverHttp(stack.apiUrl, token, 'HW', 300, 100, REGISTER_IN_FLIGHT);
  await waitForRows(orm, 'HW', 300, 60_000);
  await bareStarts(client, 'hwarm', 200, cpu);
  say(`hand-over: bare client.workflow.start on this stack, ${BARE_STARTS} starts`);
  const bare = await bareStarts(client, 'hbare', BARE_STARTS, cpu);
  say(`  ${bare.rate.toFixed(0)} starts/s`);
  say(`hand-over: ${HANDOVER_CARDS.toLocaleString('en')} cards over HTTP in batches of ${REGISTER_BATCH}, ${REGISTER_IN_FLIGHT} in flight`);
  const cpu0 = cpu();
  const t0 = performance.now();
  let answeredAt = 0;
  const posting = registerOverHttp(stack.apiUrl, token, 'H', HANDOVER_CARDS, REGISTER_BATCH, REGISTER_IN_FLIGHT).then(() => (answeredAt = performance.now()));
  const [, projectedAt] = await Promise.all([posting, waitForRows(orm, 'H', HANDOVER_CARDS, 3_600_000)]);
  const liveAt = await waitForLive(client, 'H', HANDOVER_CARDS, 3_600_000);
  const seconds = (Math.max(answeredAt, projectedAt, liveAt) - t0) / 1000;
  const rate = HANDOVER_CARDS / seconds;
  const perCard = cpuPer(cpu0, cpu(), HANDOVER_CARDS);
  const minutes = (x: number) => `${Math.floor(x / 60)} min ${String(Math.round(x % 60)).padStart(2, '0')} s`;
  say(`  all readable after ${minutes(seconds)}: ${rate.toFixed(0)} cards/s (${(rate / bare.rate).toFixed(2)} × bare); CPU per card ${perCard ?? 'n/a'}`);
  report.push(
    { figure: 'Hand-over stack (npm start): bare workflow.start', measured: `${bare.rate.toFixed(0)} starts/s`, target: 'reference' },
    {
      figure: `Hand-over: ${HANDOVER_CARDS.toLocaleString('en')} cards over HTTP until readable and started`,
      measured: `${minutes(seconds)} (${rate.toFixed(0)} cards/s)`,
      target: `≤ ${minutes(HANDOVER_CARDS / (TARGET_REGISTER_RATIO * bare.rate))}`,
    },
    { figure: 'Hand-over / bare start rate', measured: (rate / bare.rate).toFixed(2), target: `≥ ${TARGET_REGISTER_RATIO.toFixed(2)}`, pass: rate >= TARGET_REGISTER_RATIO * bare.rate },
  );
  if (perCard) report.push({ figure: 'Hand-over CPU per card (Temporal / node / PG)', measured: perCard, target: 'info' });
}

// ---- Report ------------------------------------------------------------------------------------

function printReport(): void {
  const head: ReportRow & { result: string } = { figure: 'Figure', measured: 'Measured', target: 'Target', result: 'Result' };
  const rows = report.map((r) => ({ ...r, result: r.pass === undefined ? '' : r.pass ? 'PASS' : 'FAIL' }));
  const width = (k: keyof typeof head) => Math.max(...[head, ...rows].map((r) => String(r[k]).length));
  const w = { figure: width('figure'), measured: width('measured'), target: width('target'), result: width('result') };
  const line = (r: typeof head) => `| ${r.figure.padEnd(w.figure)} | ${r.measured.padEnd(w.measured)} | ${r.target.padEnd(w.target)} | ${r.result.padEnd(w.result)} |`;
  const rule = `|${'-'.repeat(w.figure + 2)}|${'-'.repeat(w.measured + 2)}|${'-'.repeat(w.target + 2)}|${'-'.repeat(w.result + 2)}|`;
  console.log('');
  const load = loadavg().map((x) => x.toFixed(1)).join(' ');
  console.log(`Card system benchmark — ${new Date().toISOString()}, Node ${process.versions.node}, ${process.platform}-${process.arch}, ${cpus().length} CPUs`);
  // Everything shares these CPUs: other load on the machine moves every figure.
  console.log(`Load average at start ${LOAD_AT_START}, at end ${load}`);
  console.log(line(head));
  console.log(rule);
  for (const r of rows) console.log(line(r));
  const judged = rows.filter((r) => r.result);
  console.log(`${judged.filter((r) => r.result === 'PASS').length} of ${judged.length} targets met.`);
}

let exitCode = 0;
try {
  if (['registration', 'updates', 'search', 'export'].some((p) => ONLY.has(p))) {
    const stack = await startStack();
    if (ONLY.has('registration') || ONLY.has('updates')) {
      const children = await startChildren(stack);
      await benchRegistration(stack, children);
      if (ONLY.has('updates')) await benchUpdates(stack, children);
    }
    if (ONLY.has('search')) await benchSearch(stack);
    if (ONLY.has('export')) await benchExport(stack);
    // One stack at a time on this machine: the hand-over's starts after this one has stopped.
    await cleanup();
  }
  if (ONLY.has('handover')) await benchHandover();
} catch (e) {
  say(`failed: ${(e as Error | undefined)?.stack ?? String(e)}`);
  exitCode = 1;
} finally {
  if (report.length > 0) printReport();
  say('cleaning up');
  await cleanup();
  say(`done in ${((performance.now() - T0) / 1000).toFixed(0)} s`);
}
process.exit(exitCode);
