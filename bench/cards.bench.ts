/**
 * `npm run bench:cards`: a performance report of the card system on this machine, each figure beside
 * its target. It starts its own stack in a temporary directory, the way `npm start` runs it (PostgreSQL
 * with durable commits, the Temporal dev server on a SQLite file), with the card worker, a no-op worker
 * and the API in this process, then measures:
 *   1. registration of 10,000 cards over HTTP, against the bare rate of workflow starts;
 *   2. sequential card actions over HTTP, against a no-op Temporal Update;
 *   3. search over a read model of 530,000 cards;
 *   4. the CSV export of those cards: time and memory.
 * A report, not a test: it exits 0 whether or not the targets are met, and 1 only if it cannot run.
 */
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { MikroORM } from '@mikro-orm/postgresql';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createApp } from '../src/app.factory.js';
import { AuthService } from '../src/auth/auth.service.js';
import { migrate, openOrm } from '../src/database/database.js';
import { freePort, startEmbeddedPostgres, startTemporalDevServer } from '../src/dev/local-stack.js';
import { createCardWorker } from '../src/worker/card-worker.js';
import type { StaffRole } from '../workflows/card-state-machine.js';
import { noopUpdate, type noopWorkflow } from './noop.workflow.js';
import { searchQueries, seedReadModel } from './read-model.js';

// ---- Sizes and targets -------------------------------------------------------------------------

const REGISTER_CARDS = 10_000;
const REGISTER_BATCH = 1_000;
/** Batches in flight at once, as an importer with a little parallelism would send them. */
const REGISTER_IN_FLIGHT = 2;
const BARE_STARTS = 3_000;
/** The API keeps 32 starts in flight per batch (CardsService); the bare run does the same. */
const BARE_IN_FLIGHT = 32;
const UPDATES = 1_000;
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

/** CPU seconds (user + system, reaped children included) of a process, from /proc (Linux). */
function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Clock ticks are 1/100 s on Linux.
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
}

/** Processes whose command line and parent match; empty where there is no /proc. */
function findProcesses(match: (argv: string[], ppid: number) => boolean): number[] {
  if (!existsSync('/proc/self/stat')) return [];
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (match(argv, ppid)) found.push(Number(entry));
    } catch {
      // gone in the meantime
    }
  }
  return found;
}

interface CpuSample {
  node: number;
  temporal: number;
  postgres: number;
}

/**
 * Where the CPU goes: this process (API, workers, benchmark), the Temporal server and PostgreSQL
 * (postmaster, its live backends, and through the postmaster's reaped children the ones gone).
 */
function cpuMeter(temporalPort: number, pgDir: string): (() => CpuSample) | undefined {
  try {
    const [temporal] = findProcesses((argv) => argv.includes('start-dev') && argv[argv.indexOf('--port') + 1] === String(temporalPort));
    const postmaster = Number(readFileSync(join(pgDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (!temporal || !postmaster) return undefined;
    return () => {
      const usage = process.cpuUsage();
      const backends = findProcesses((_argv, ppid) => ppid === postmaster);
      return {
        node: (usage.user + usage.system) / 1e6,
        temporal: cpuSecondsOf(temporal),
        postgres: cpuSecondsOf(postmaster) + backends.reduce((sum, pid) => sum + cpuSecondsOf(pid), 0),
      };
    };
  } catch {
    return undefined;
  }
}

/** CPU milliseconds per unit of work between two samples, as "Temporal / node / PostgreSQL". */
function cpuPer(a: CpuSample | undefined, b: CpuSample | undefined, units: number): string | undefined {
  if (!a || !b) return undefined;
  const ms = (k: keyof CpuSample) => (((b[k] - a[k]) * 1000) / units).toFixed(1);
  return `${ms('temporal')} / ${ms('node')} / ${ms('postgres')} ms`;
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
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const c of cleanups.reverse()) {
      try {
        await c.run();
      } catch (e) {
        say(`cleanup of ${c.name} failed: ${String(e)}`);
      }
    }
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    say(`${signal}: cleaning up`);
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
  const [pg, temporal] = await Promise.all([
    // Durable commits (fsync on), as in production: not the tests' throw-away settings.
    startEmbeddedPostgres({ dir: join(dir, 'pg'), port: pgPort, database: 'cards_bench', ephemeral: false }),
    // File-backed with the WAL pragmas, as `npm start` runs it.
    startTemporalDevServer({ cliPath: process.env.TEMPORAL_CLI_PATH, port: temporalPort, dbFile: join(dir, 'temporal.db') }),
  ]);
  cleanups.push({ name: 'PostgreSQL', run: () => pg.stop() });
  cleanups.push({ name: 'Temporal', run: () => temporal.stop() });
  await migrate(pg.url);

  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  const suffix = randomUUID().slice(0, 8);
  const cardQueue = `cards-bench-${suffix}`;
  const noopQueue = `noop-bench-${suffix}`;

  const workerOrm = await openOrm(pg.url);
  cleanups.push({ name: 'worker ORM', run: () => workerOrm.close() });
  const workerConnection = await NativeConnection.connect({ address: temporal.address });
  cleanups.push({ name: 'worker connection', run: () => workerConnection.close() });
  say('bundling the card workflows and the no-op workflow');
  const [cardWorker, noopWorker] = await Promise.all([
    // No workflowBundlePath: the worker bundles at start, as the worker process does.
    createCardWorker({ connection: workerConnection, namespace: 'default', taskQueue: cardQueue, orm: workerOrm }),
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

async function http(s: Stack, method: string, path: string, token: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(s.baseUrl + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path.split('?')[0]} → ${res.status} ${text.slice(0, 500)}`);
  return text ? JSON.parse(text) : undefined;
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

/** Registers `count` cards in batches over HTTP; resolves when the API has answered every batch. */
async function registerOverHttp(s: Stack, prefix: string, count: number, batch: number, inFlight: number): Promise<void> {
  const token = await s.token('office');
  await inPool(Math.ceil(count / batch), inFlight, async (b) => {
    const cards = Array.from({ length: Math.min(batch, count - b * batch) }, (_, j) => benchCard(prefix, b * batch + j + 1));
    const { results } = (await http(s, 'POST', '/api/cards', token, { cards })) as { results: { status: string }[] };
    const created = results.filter((r) => r.status === 'created' || r.status === 'pending').length;
    if (created !== cards.length) throw new Error(`batch ${b}: ${created} of ${cards.length} created`);
  });
}

/** Polls the read model until `count` rows with the prefix exist; returns the time it saw them. */
async function waitForRows(s: Stack, prefix: string, count: number, timeoutMs: number): Promise<number> {
  const until = Date.now() + timeoutMs;
  let seen = 0;
  while (Date.now() < until) {
    const [row] = await sql<{ n: string }>(s, `select count(*) as n from card where card_id like ?`, [`${prefix}%`]);
    seen = Number(row.n);
    if (seen >= count) return performance.now();
    await sleep(50);
  }
  throw new Error(`only ${seen} of ${count} ${prefix}… cards reached the read model in ${timeoutMs} ms`);
}

async function bareStarts(s: Stack, prefix: string, count: number): Promise<{ rate: number; cpu?: string }> {
  // Nobody polls this queue: only the start itself is measured.
  const taskQueue = `unpolled-${prefix}-${randomUUID().slice(0, 8)}`;
  const cpu0 = s.cpu();
  const t0 = performance.now();
  await inPool(count, BARE_IN_FLIGHT, async (i) => {
    await s.client.workflow.start<typeof noopWorkflow>('noopWorkflow', { taskQueue, workflowId: `${prefix}-${i}`, args: [] });
  });
  const rate = count / ((performance.now() - t0) / 1000);
  return { rate, cpu: cpuPer(cpu0, s.cpu(), count) };
}

async function benchRegistration(s: Stack): Promise<void> {
  say('warm-up: 300 cards over HTTP, 200 bare starts');
  await registerOverHttp(s, 'W', 300, 100, REGISTER_IN_FLIGHT);
  await waitForRows(s, 'W', 300, 60_000);
  await bareStarts(s, 'warm', 200);

  say(`bare client.workflow.start: ${BARE_STARTS} starts, ${BARE_IN_FLIGHT} in flight`);
  const bare = await bareStarts(s, 'bare', BARE_STARTS);
  say(`  ${bare.rate.toFixed(0)} starts/s; CPU per start (Temporal / node / PostgreSQL): ${bare.cpu ?? 'n/a'}`);

  say(`registration: ${REGISTER_CARDS} cards in batches of ${REGISTER_BATCH}, ${REGISTER_IN_FLIGHT} in flight`);
  const cpu0 = s.cpu();
  const t0 = performance.now();
  let answeredAt = 0;
  const posting = registerOverHttp(s, 'B', REGISTER_CARDS, REGISTER_BATCH, REGISTER_IN_FLIGHT).then(() => (answeredAt = performance.now()));
  const [, projectedAt] = await Promise.all([posting, waitForRows(s, 'B', REGISTER_CARDS, 480_000)]);
  const cpu = cpuPer(cpu0, s.cpu(), REGISTER_CARDS);
  const seconds = (projectedAt - t0) / 1000;
  const rate = REGISTER_CARDS / seconds;
  say(`  API answered all batches after ${((answeredAt - t0) / 1000).toFixed(1)} s; all rows projected after ${seconds.toFixed(1)} s: ${rate.toFixed(0)} cards/s`);
  say(`  CPU per card (Temporal / node / PostgreSQL): ${cpu ?? 'n/a'}`);

  report.push(
    { figure: `Bare workflow.start (${BARE_STARTS}, ${BARE_IN_FLIGHT} in flight)`, measured: `${bare.rate.toFixed(0)} starts/s`, target: 'reference' },
    {
      figure: `Registration end to end (${REGISTER_CARDS} cards, HTTP)`,
      measured: `${rate.toFixed(0)} cards/s (${seconds.toFixed(1)} s)`,
      target: `≥ ${(TARGET_REGISTER_RATIO * bare.rate).toFixed(0)} cards/s`,
    },
    {
      figure: 'Registration / bare start rate',
      measured: (rate / bare.rate).toFixed(2),
      target: `≥ ${TARGET_REGISTER_RATIO.toFixed(2)}`,
      pass: rate >= TARGET_REGISTER_RATIO * bare.rate,
    },
  );
  if (bare.cpu && cpu) {
    report.push(
      { figure: 'CPU per bare start (Temporal / node / PG)', measured: bare.cpu, target: 'info' },
      { figure: 'CPU per registered card (Temporal / node / PG)', measured: cpu, target: 'info' },
    );
  }
}

// ---- 2. Updates --------------------------------------------------------------------------------

async function benchUpdates(s: Stack): Promise<void> {
  const token = await s.token('ward');
  const cards = Array.from({ length: UPDATE_CARDS }, (_, i) => `B${String(i + 1).padStart(7, '0')}`);
  const act = async (cardId: string, action: 'pull_out' | 'release_hold') => {
    const body = action === 'pull_out' ? { reason: '区の指示により引き抜き（ベンチマーク）' } : {};
    const result = (await http(s, 'POST', `/api/cards/${cardId}/actions/${action}`, token, body, { 'idempotency-key': randomUUID() })) as { card: { state: string } };
    if ((action === 'pull_out') !== (result.card.state === 'on_hold')) throw new Error(`${action} on ${cardId} left it ${result.card.state}`);
  };
  const handle = await s.client.workflow.start<typeof noopWorkflow>('noopWorkflow', { taskQueue: s.noopQueue, workflowId: `noop-${randomUUID()}`, args: [] });
  say(`warm-up: one pull_out / release_hold on each of ${UPDATE_CARDS} cards, 50 bare Updates`);
  for (const cardId of cards) {
    await act(cardId, 'pull_out');
    await act(cardId, 'release_hold');
  }
  for (let i = 0; i < 50; i++) await handle.executeUpdate(noopUpdate);

  // One of each in turn, never two at once: both series see the same machine, load and heap.
  say(`${UPDATES} HTTP actions (alternating pull_out / release_hold) and ${UPDATES} bare Updates, sequential, interleaved`);
  globalThis.gc?.();
  const httpMs: number[] = [];
  const bareMs: number[] = [];
  for (let i = 0; i < UPDATES; i++) {
    let t = performance.now();
    await act(cards[Math.floor(i / 2) % cards.length], i % 2 === 0 ? 'pull_out' : 'release_hold');
    httpMs.push(performance.now() - t);
    t = performance.now();
    await handle.executeUpdate(noopUpdate);
    bareMs.push(performance.now() - t);
  }
  await handle.terminate('benchmark done');

  httpMs.sort((a, b) => a - b);
  bareMs.sort((a, b) => a - b);
  const [h50, h99, b50, b99] = [percentile(httpMs, 50), percentile(httpMs, 99), percentile(bareMs, 50), percentile(bareMs, 99)];
  say(`  HTTP p50 ${h50.toFixed(1)} ms, p99 ${h99.toFixed(1)} ms; bare p50 ${b50.toFixed(1)} ms, p99 ${b99.toFixed(1)} ms`);
  report.push(
    { figure: `Bare Update (${UPDATES}, sequential) p50`, measured: `${b50.toFixed(1)} ms`, target: 'reference' },
    { figure: 'Bare Update p99', measured: `${b99.toFixed(1)} ms`, target: 'reference' },
    { figure: `HTTP card action (${UPDATES}, sequential) p50`, measured: `${h50.toFixed(1)} ms (${(h50 / b50).toFixed(2)} × bare)`, target: 'info' },
    {
      figure: 'HTTP card action p99',
      measured: `${h99.toFixed(1)} ms (${(h99 / b99).toFixed(2)} × bare)`,
      target: `≤ ${(TARGET_UPDATE_P99_RATIO * b99).toFixed(1)} ms (${TARGET_UPDATE_P99_RATIO} × bare)`,
      pass: h99 <= TARGET_UPDATE_P99_RATIO * b99,
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
  for (const path of queries.slice(0, 20)) await http(s, 'GET', path, token);
  say(`search: ${SEARCHES} requests, three filters and a sort`);
  const timings: { ms: number; path: string; items: number }[] = [];
  for (const path of queries.slice(20)) {
    const t1 = performance.now();
    const page = (await http(s, 'GET', path, token)) as { items: unknown[] };
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
  const stack = await startStack();
  await benchRegistration(stack);
  await benchUpdates(stack);
  await benchSearch(stack);
  await benchExport(stack);
} catch (e) {
  say(`failed: ${(e as Error).stack ?? String(e)}`);
  exitCode = 1;
} finally {
  if (report.length > 0) printReport();
  say('cleaning up');
  await cleanup();
  say(`done in ${((performance.now() - T0) / 1000).toFixed(0)} s`);
}
process.exit(exitCode);
