/**
 * `npm run bench:booking`: a performance report of booking (issue 9) on this machine, each figure
 * beside its target. It starts its own stack in a temporary directory as `npm start` runs it
 * (PostgreSQL with durable commits, the Temporal dev server on a SQLite file). The bookings go to
 * an API process and a card worker process of their own, as `npm start`'s supervisor runs them
 * (`BENCH_LAYOUT=one`: to the API and card worker in this process instead); this process also runs
 * a no-op worker, an API for the service-level month query, and the clients. At one concurrency
 * (CLIENTS) it measures:
 *   1. bookings over HTTP across many slots (cards booking and changing their booking at random);
 *   2. bookings over HTTP on one hot slot;
 *   (1 and 2 together at least 10,000 contended attempts; overbookings and double bookings counted);
 *   the split: bookings as in 1 sent straight to the cards' workflows as Updates (no HTTP, no API);
 *   3. the slot claim's SQL alone on the same database (the claim activity's transaction);
 *   4. a no-op Update straight to Temporal (half right before 1, half right after it);
 *   5. the residents' month of free slots (BookingService.monthAvailability, and its API) with
 *      50,000 bookings in the database.
 * A report, not a test: it exits 0 whether or not the targets are met, and 1 only if it cannot run.
 */
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { MikroORM } from '@mikro-orm/postgresql';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createCardActivities } from '../activities/create-card-activities.js';
import { createApp } from '../src/app.factory.js';
import { AuthService } from '../src/auth/auth.service.js';
import { BookingService, isSlotFull } from '../src/booking/booking.service.js';
import { addBusinessDays, addDays, tokyoDate } from '../src/calendar/business-days.js';
import { safeRandomUUID } from '../src/common/my-number.js';
import { migrate, openOrm } from '../src/database/database.js';
import { freePort, startEmbeddedPostgres, startTemporalDevServer } from '../src/dev/local-stack.js';
import { createCardWorker } from '../src/worker/card-worker.js';
import { cardActionUpdate, cardWorkflowId } from '../workflows/card-messages.js';
import type { StaffRole } from '../workflows/card-state-machine.js';
import { startAppProcesses } from './app-processes.js';
import { type CpuSample, cpuMeter, cpuPer, cpuSecondsOf } from './cpu-meter.js';
import { noopUpdate, type noopWorkflow } from './noop.workflow.js';

// ---- Sizes and targets -------------------------------------------------------------------------

/** Concurrent clients in every measured phase. */
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 32);
/** Cards that book: each client books with its own cards, so that no card has two requests at once. */
const CARDS = Number(process.env.BENCH_CARDS ?? 640);
const SPREAD_ATTEMPTS = Number(process.env.BENCH_SPREAD ?? 8_000);
const HOT_ATTEMPTS = Number(process.env.BENCH_HOT ?? 2_400);
/** The split: bookings over many slots sent straight to the cards' workflows (not counted as contended attempts over HTTP). */
const STRAIGHT_ATTEMPTS = Number(process.env.BENCH_STRAIGHT ?? 2_000);
/** Many slots: half again as many places as cards, so that slots fill up and free again as cards change, and claims on one slot contend. */
const SPREAD_SLOTS = 60;
const SPREAD_CAPACITY = 16;
const HOT_CAPACITY = 40;
const CLAIMS = 5_000;
const NOOP_UPDATES = Number(process.env.BENCH_NOOP ?? 5_000);
const SEEDED_BOOKINGS = 50_000;
const MONTH_QUERIES = 300;

/** `separate` (default): the bookings go to an API process and a card worker process, as in production. */
const LAYOUT = process.env.BENCH_LAYOUT === 'one' ? 'one' : 'separate';

const TARGET_RATE_RATIO = 0.5;
const TARGET_P99_RATIO = 1.5;
const TARGET_MONTH_P95_MS = 100;

// ---- Small helpers -----------------------------------------------------------------------------

const T0 = performance.now();
const LOAD_AT_START = loadavg().map((x) => x.toFixed(1)).join(' ');
const say = (m: string) => process.stderr.write(`[bench:booking ${((performance.now() - T0) / 1000).toFixed(1).padStart(6)} s] ${m}\n`);

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
  app: Awaited<ReturnType<typeof createApp>>;
  workerOrm: MikroORM;
  client: Client;
  /** The benchmark's own connections to PostgreSQL (seeding, counting). */
  orm: MikroORM;
  noopQueue: string;
  /** CPU seconds so far of this process, Temporal and PostgreSQL; undefined where /proc is missing. */
  cpu(): CpuSample | undefined;
  token(role: StaffRole): Promise<string>;
}

async function startStack(): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), 'koto-booking-bench-'));
  cleanups.push({ name: 'temp dir', run: async () => rmSync(dir, { recursive: true, force: true }) });
  // As root, PostgreSQL runs as its own user, which must be able to reach its data directory.
  chmodSync(dir, 0o755);
  const [pgPort, temporalPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  say(`stack in ${dir}: PostgreSQL :${pgPort}, Temporal :${temporalPort}, API :${apiPort}`);
  const [pg, temporal] = await Promise.all([
    // Durable commits (fsync on), as in production: not the tests' throw-away settings.
    startEmbeddedPostgres({ dir: join(dir, 'pg'), port: pgPort, database: 'booking_bench', ephemeral: false }),
    // File-backed with the WAL pragmas, as `npm start` runs it.
    startTemporalDevServer({ cliPath: process.env.TEMPORAL_CLI_PATH, port: temporalPort, dbFile: join(dir, 'temporal.db') }),
  ]);
  cleanups.push({ name: 'PostgreSQL', run: () => pg.stop() });
  cleanups.push({ name: 'Temporal', run: () => temporal.stop() });
  await migrate(pg.url);

  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  const suffix = safeRandomUUID().slice(0, 8);
  const cardQueue = `cards-bbench-${suffix}`;
  const noopQueue = `noop-bbench-${suffix}`;

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
  if (LAYOUT === 'separate') say('starting the API and card worker processes');
  const children =
    LAYOUT === 'separate'
      ? await startAppProcesses({
          pgUrl: pg.url,
          temporalAddress: temporal.address,
          taskQueue: `cards-bbench-children-${suffix}`,
          // This process's API generates the calendar.
          env: { SLOT_GENERATION_MINUTES: '0' },
          cleanups,
          say,
        })
      : undefined;
  const tokens = new Map<StaffRole, string>();
  return {
    baseUrl: children?.baseUrl ?? `http://127.0.0.1:${apiPort}`,
    app,
    workerOrm,
    client: new Client({ connection: clientConnection }),
    orm,
    noopQueue,
    // This process's CPU and the API's and worker's processes' (the separate layout).
    cpu: () => {
      const c = meter?.();
      if (!c || !children) return c;
      const [api, worker] = [cpuSecondsOf(children.pids.api), cpuSecondsOf(children.pids.worker)];
      return { ...c, node: c.node + api + worker, api, worker };
    },
    // A user and token per role, made by the same service as the CLI's.
    async token(role) {
      const known = tokens.get(role);
      if (known) return known;
      const auth = app.get(AuthService);
      const username = `bench-${role}`;
      await auth.createUser({ username, role, venueId: role === 'venue' ? 'kuyakusho' : undefined });
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


// ---- Cards ready to book ----------------------------------------------------------------------

function benchCard(i: number) {
  return {
    cardId: `BK${String(i).padStart(6, '0')}`,
    route: 'pickup',
    resident: { name: '江東 花子', nameKana: 'コウトウ ハナコ', birthDate: '1985-05-05', postalCode: '135-0016', address: `江東区東陽4-${1 + (i % 20)}-${1 + (i % 15)}` },
  };
}

/** `count` pickup cards registered and received at the city hall venue (bookable). */
async function cardsAtVenue(s: Stack, count: number): Promise<string[]> {
  const office = await s.token('office');
  const venue = await s.token('venue');
  const cards = Array.from({ length: count }, (_, i) => benchCard(i + 1));
  for (let i = 0; i < cards.length; i += 500) await http(s, 'POST', '/api/cards', office, { cards: cards.slice(i, i + 500) });
  const ids = cards.map((c) => c.cardId);
  await inPool(ids.length, CLIENTS, async (i) => {
    for (const [action, token] of [['inspect', office], ['ship_to_venue', office], ['receive_at_venue', venue]] as const) {
      await http(s, 'POST', `/api/cards/${ids[i]}/actions/${action}`, token, {}, { 'idempotency-key': safeRandomUUID() });
    }
  });
  return ids;
}

/** Slots at the city hall venue on `day`, every 15 minutes from 09:00. */
async function makeSlots(s: Stack, day: string, count: number, capacity: number, fromMinute = 0): Promise<{ venueId: string; startsAt: string }[]> {
  const slots = Array.from({ length: count }, (_, i) => {
    const start = new Date(Date.parse(`${day}T09:00:00+09:00`) + (fromMinute + i * 15) * 60_000);
    return { venueId: 'kuyakusho', startsAt: start.toISOString(), endsAt: new Date(start.getTime() + 15 * 60_000).toISOString() };
  });
  for (const x of slots) await sql(s, `insert into slot (venue_id, starts_at, ends_at, capacity) values (?, ?, ?, ?) on conflict do nothing`, [x.venueId, x.startsAt, x.endsAt, capacity]);
  return slots.map(({ venueId, startsAt }) => ({ venueId, startsAt }));
}

interface Outcome {
  ok: number;
  full: number;
  other: number;
  /** Latencies (ms) of every attempt, and of the successful ones. */
  all: number[];
  booked: number[];
  seconds: number;
  otherSample?: string;
}

type Slot = { venueId: string; startsAt: string };
/** How one booking attempt ended: booked, refused as full, or anything else (with a sample). */
type Answer = { kind: 'ok' } | { kind: 'full' } | { kind: 'other'; sample: string };

/**
 * `attempts` bookings by CLIENTS clients; client k books with cards k, k+CLIENTS, … in turn (one
 * request per card at a time), into the slot `pick()` chooses, each sent by `send`.
 */
async function bookWith(cards: string[], attempts: number, pick: () => Slot, send: (card: string, slot: Slot) => Promise<Answer>): Promise<Outcome> {
  const out: Outcome = { ok: 0, full: 0, other: 0, all: [], booked: [], seconds: 0 };
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, k) => {
      const mine = cards.filter((_, i) => i % CLIENTS === k);
      for (let n = 0; next < attempts; n++) {
        next++;
        const t = performance.now();
        const answer = await send(mine[n % mine.length], pick());
        const ms = performance.now() - t;
        out.all.push(ms);
        if (answer.kind === 'ok') {
          out.ok++;
          out.booked.push(ms);
        } else if (answer.kind === 'full') out.full++;
        else {
          out.other++;
          out.otherSample ??= answer.sample;
        }
      }
    }),
  );
  out.seconds = (performance.now() - t0) / 1000;
  out.all.sort((a, b) => a - b);
  out.booked.sort((a, b) => a - b);
  return out;
}

/** Bookings over HTTP, as the call center's API client sends them. */
async function bookOverHttp(s: Stack, cards: string[], attempts: number, pick: () => Slot): Promise<Outcome> {
  const token = await s.token('callcenter');
  return bookWith(cards, attempts, pick, async (card, slot) => {
    const res = await fetch(`${s.baseUrl}/api/cards/${card}/actions/reserve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': safeRandomUUID() },
      body: JSON.stringify({ data: slot }),
    });
    const text = await res.text();
    if (res.status === 200) return { kind: 'ok' };
    if (res.status === 409 && text.includes('SLOT_FULL')) return { kind: 'full' };
    return { kind: 'other', sample: `${res.status} ${text.slice(0, 200)}` };
  });
}

/**
 * The same bookings sent straight to the cards' workflows as `reserve` Updates (no HTTP, no API,
 * so no pre-check either: a full slot is refused by the claim): the split of a booking's cost
 * between the API and the workflow with its claim.
 */
async function bookStraight(s: Stack, cards: string[], attempts: number, pick: () => Slot): Promise<Outcome> {
  const actor = { userId: 'bench-callcenter', role: 'callcenter' as const, channel: 'api' as const };
  return bookWith(cards, attempts, pick, async (card, slot) => {
    // The benchmark's slots are 15 minutes long (makeSlots).
    const data = { ...slot, endsAt: new Date(Date.parse(slot.startsAt) + 15 * 60_000).toISOString() };
    try {
      await s.client.workflow.getHandle(cardWorkflowId(card)).executeUpdate(cardActionUpdate, { args: [{ action: 'reserve', actor, data }], updateId: `bench-straight:${safeRandomUUID()}` });
      return { kind: 'ok' };
    } catch (e) {
      return isSlotFull(e) ? { kind: 'full' } : { kind: 'other', sample: String((e as Error).message).slice(0, 200) };
    }
  });
}

/** Overbooked slots, slots whose count differs from their bookings, cards with two active bookings, and cards whose read model disagrees. */
async function integrity(s: Stack): Promise<{ overbooked: number; miscounted: number; doubled: number; disagreeing: number }> {
  const [over] = await sql<{ n: string }>(s, `select count(*) as n from slot where booked > capacity`);
  const [mis] = await sql<{ n: string }>(
    s,
    `select count(*) as n from slot s where s.booked <> (select count(*) from booking b where b.venue_id = s.venue_id and b.starts_at = s.starts_at and b.status = 'booked')`,
  );
  const [dbl] = await sql<{ n: string }>(s, `select count(*) as n from (select card_id from booking where status = 'booked' group by card_id having count(*) > 1) d`);
  const [dis] = await sql<{ n: string }>(
    s,
    `select count(*) as n from card c left join booking b on b.card_id = c.card_id and b.status = 'booked'
      where c.card_id like 'BK%' and ((c.state = 'reserved') <> (b.card_id is not null)
         or (b.card_id is not null and (c.snapshot->'booking'->>'startsAt')::timestamptz <> b.starts_at))`,
  );
  return { overbooked: Number(over.n), miscounted: Number(mis.n), doubled: Number(dbl.n), disagreeing: Number(dis.n) };
}

const fmt = (o: Outcome) =>
  `${o.ok} booked, ${o.full} SLOT_FULL, ${o.other} other in ${o.seconds.toFixed(1)} s: ${(o.ok / o.seconds).toFixed(1)} bookings/s, ${(o.all.length / o.seconds).toFixed(1)} attempts/s; ` +
  `p50/p99 all ${percentile(o.all, 50).toFixed(0)}/${percentile(o.all, 99).toFixed(0)} ms, booked ${o.booked.length ? `${percentile(o.booked, 50).toFixed(0)}/${percentile(o.booked, 99).toFixed(0)}` : '-'} ms`;

async function benchBookings(s: Stack): Promise<{ spread: Outcome; hot: Outcome; straight: Outcome; bare: BareResult; halves: [BareResult, BareResult] }> {
  say(`preparing ${CARDS} cards at their venue`);
  const cards = await cardsAtVenue(s, CARDS);
  const day = addBusinessDays(tokyoDate(), 6);
  const spreadSlots = await makeSlots(s, day, SPREAD_SLOTS, SPREAD_CAPACITY);
  const [hotSlot] = await makeSlots(s, addDays(day, 1), 1, HOT_CAPACITY);
  say('warm-up: 200 bookings');
  await bookOverHttp(s, cards, 200, () => spreadSlots[Math.floor(Math.random() * spreadSlots.length)]);

  const bare = await bareUpdates(s);
  say(`bare no-op Update, first half: ${Math.ceil(NOOP_UPDATES / 2)} by ${CLIENTS} clients`);
  const before = await bare.run(Math.ceil(NOOP_UPDATES / 2));
  say(`many slots: ${SPREAD_ATTEMPTS} attempts by ${CLIENTS} clients over ${SPREAD_SLOTS} slots of ${SPREAD_CAPACITY} (${SPREAD_SLOTS * SPREAD_CAPACITY} places for ${CARDS} cards)`);
  const cpu0 = s.cpu();
  const spread = await bookOverHttp(s, cards, SPREAD_ATTEMPTS, () => spreadSlots[Math.floor(Math.random() * spreadSlots.length)]);
  say(`  ${fmt(spread)}; CPU per attempt (Temporal / node / PostgreSQL): ${cpuPer(cpu0, s.cpu(), SPREAD_ATTEMPTS) ?? 'n/a'}`);
  if (spread.otherSample) say(`  other answers, e.g. ${spread.otherSample}`);
  say(`bare no-op Update, second half: ${Math.floor(NOOP_UPDATES / 2)} by ${CLIENTS} clients`);
  const after = await bare.run(Math.floor(NOOP_UPDATES / 2));

  say(`one hot slot of ${HOT_CAPACITY}: ${HOT_ATTEMPTS} attempts by ${CLIENTS} clients (cards move in and out of it by changing)`);
  // Half the attempts go to the hot slot, half move a card back out of it (a change frees a place).
  let flip = 0;
  const hot = await bookOverHttp(s, cards, HOT_ATTEMPTS, () => (flip++ % 2 === 0 ? hotSlot : spreadSlots[Math.floor(Math.random() * spreadSlots.length)]));
  say(`  ${fmt(hot)}`);
  if (hot.otherSample) say(`  other answers, e.g. ${hot.otherSample}`);

  say(`many slots, straight to the cards' workflows as reserve Updates (no HTTP, no API, no pre-check): ${STRAIGHT_ATTEMPTS} attempts`);
  const cpu1 = s.cpu();
  const straight = await bookStraight(s, cards, STRAIGHT_ATTEMPTS, () => spreadSlots[Math.floor(Math.random() * spreadSlots.length)]);
  say(`  ${fmt(straight)}; CPU per attempt (Temporal / node / PostgreSQL): ${cpuPer(cpu1, s.cpu(), STRAIGHT_ATTEMPTS) ?? 'n/a'}`);
  if (straight.otherSample) say(`  other answers, e.g. ${straight.otherSample}`);
  return { spread, hot, straight, bare: bare.total(), halves: [before, after] };
}

// ---- The claim's SQL alone, and the bare Update -------------------------------------------------

async function claimsAlone(s: Stack): Promise<{ rate: number; p50: number; p99: number }> {
  const activities = createCardActivities({ orm: s.workerOrm });
  const day = addBusinessDays(tokyoDate(), 12);
  const slots = await makeSlots(s, day, SPREAD_SLOTS, Math.ceil(CLAIMS / SPREAD_SLOTS / 2));
  const lat: number[] = [];
  let full = 0;
  const t0 = performance.now();
  await inPool(CLAIMS, CLIENTS, async (i) => {
    const slot = slots[i % slots.length];
    const t = performance.now();
    try {
      // The claim activity's transaction, as the card's Update runs it (a new card every time).
      await activities.claimBooking({ cardId: `CQ${String(i).padStart(6, '0')}`, requestId: `claim-bench-${i}`, venueId: slot.venueId, startsAt: slot.startsAt, endsAt: slot.startsAt });
    } catch (e) {
      if (!String((e as Error).message).includes('SLOT_FULL')) throw e;
      full++;
    }
    lat.push(performance.now() - t);
  });
  const seconds = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  say(`  ${CLAIMS} claims (${full} refused, slot full) in ${seconds.toFixed(1)} s: ${(CLAIMS / seconds).toFixed(0)} claims/s, p50/p99 ${percentile(lat, 50).toFixed(1)}/${percentile(lat, 99).toFixed(1)} ms`);
  return { rate: CLAIMS / seconds, p50: percentile(lat, 50), p99: percentile(lat, 99) };
}

type BareResult = { rate: number; p50: number; p99: number };

/**
 * The bare no-op Update, at the same concurrency, run in blocks (`run`): the benchmark runs half of
 * them right before the many-slot bookings and half right after, so that the reference is measured
 * in the same minutes as what it is compared with (this machine's speed drifts by a tenth or more
 * from one minute to the next). `total()` is over both blocks: all Updates over both blocks' time,
 * percentiles over all their latencies.
 */
async function bareUpdates(s: Stack): Promise<{ run: (count: number) => Promise<BareResult>; total: () => BareResult }> {
  // One no-op workflow per client, as each booking client has its own cards.
  const handles = await Promise.all(
    Array.from({ length: CLIENTS }, (_, k) =>
      s.client.workflow.start<typeof noopWorkflow>('noopWorkflow', { taskQueue: s.noopQueue, workflowId: `noop-booking-${k}-${safeRandomUUID().slice(0, 6)}`, args: [] }),
    ),
  );
  const all: number[] = [];
  let seconds = 0;
  const block = async (count: number, keep: boolean) => {
    const lat: number[] = [];
    const t0 = performance.now();
    await inPool(count, CLIENTS, async (i) => {
      const t = performance.now();
      await handles[i % CLIENTS].executeUpdate(noopUpdate, { updateId: `u-${i}-${safeRandomUUID().slice(0, 6)}` });
      lat.push(performance.now() - t);
    });
    const took = (performance.now() - t0) / 1000;
    if (keep) {
      all.push(...lat);
      seconds += took;
    }
    lat.sort((a, b) => a - b);
    return { rate: count / took, p50: percentile(lat, 50), p99: percentile(lat, 99) };
  };
  await block(200, false);
  return {
    async run(count) {
      const cpu0 = s.cpu();
      const r = await block(count, true);
      say(`  ${count} no-op Updates: ${r.rate.toFixed(0)} updates/s, p50/p99 ${r.p50.toFixed(0)}/${r.p99.toFixed(0)} ms; CPU per Update (Temporal / node / PostgreSQL): ${cpuPer(cpu0, s.cpu(), count) ?? 'n/a'}`);
      return r;
    },
    total() {
      const sorted = [...all].sort((a, b) => a - b);
      return { rate: all.length / seconds, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
    },
  };
}

// ---- The residents' month -----------------------------------------------------------------------

async function benchMonth(s: Stack): Promise<{ service: number[]; api: number[]; bookings: number }> {
  // Every venue, 180 days from tomorrow, 18 slots a day of 10 places; 50,000 bookings spread over them.
  say(`seeding slots and ${SEEDED_BOOKINGS.toLocaleString('en')} bookings`);
  const from = addDays(tokyoDate(), 1);
  await sql(
    s,
    `insert into slot (venue_id, starts_at, ends_at, capacity)
     select v, (d::date + time '09:00' + (k * interval '25 minutes')) at time zone 'Asia/Tokyo',
               (d::date + time '09:00' + (k * interval '25 minutes') + interval '25 minutes') at time zone 'Asia/Tokyo', 10
       from unnest(array['kuyakusho', 'toyosu', 'oshima']) v, generate_series(?::date, ?::date + 179, interval '1 day') d, generate_series(0, 17) k
     on conflict do nothing`,
    [from, from],
  );
  await sql(
    s,
    `with places as (
       select s.venue_id, s.starts_at, s.ends_at, g from slot s, generate_series(1, 5) g
        where s.starts_at >= ?::date and s.booked = 0 order by md5(s.venue_id || s.starts_at::text || g) limit ${SEEDED_BOOKINGS})
     insert into booking (card_id, request_id, booking_number, venue_id, starts_at, ends_at)
     select 'SEED' || row_number() over (), 'seed-' || row_number() over (), null, venue_id, starts_at, ends_at from places`,
    [from],
  );
  await sql(s, `update slot s set booked = b.n from (select venue_id, starts_at, count(*) as n from booking where status = 'booked' group by 1, 2) b where b.venue_id = s.venue_id and b.starts_at = s.starts_at`);
  await sql(s, 'analyze slot');
  await sql(s, 'analyze booking');
  const [count] = await sql<{ n: string }>(s, `select count(*) as n from booking where status = 'booked'`);
  const booking = s.app.get(BookingService);
  const venues = ['kuyakusho', 'toyosu', 'oshima'];
  const months = [0, 1, 2, 3, 4, 5].map((m) => {
    const d = new Date(Date.parse(`${from}T00:00:00Z`));
    d.setUTCDate(1);
    d.setUTCMonth(d.getUTCMonth() + m);
    return d.toISOString().slice(0, 7);
  });
  const service: number[] = [];
  const api: number[] = [];
  const token = await s.token('callcenter');
  for (let i = 0; i < MONTH_QUERIES; i++) {
    const venue = venues[i % venues.length];
    const month = months[i % months.length];
    let t = performance.now();
    const days = await booking.monthAvailability(venue, month);
    service.push(performance.now() - t);
    if (days.length < 28) throw new Error(`month ${month}: ${days.length} days`);
    t = performance.now();
    await http(s, 'GET', `/api/venues/${venue}/availability?month=${month}`, token);
    api.push(performance.now() - t);
  }
  service.sort((a, b) => a - b);
  api.sort((a, b) => a - b);
  say(`  month query over ${Number(count.n).toLocaleString('en')} bookings: service p50/p95 ${percentile(service, 50).toFixed(1)}/${percentile(service, 95).toFixed(1)} ms, API p50/p95 ${percentile(api, 50).toFixed(1)}/${percentile(api, 95).toFixed(1)} ms`);
  return { service, api, bookings: Number(count.n) };
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
  console.log(`Booking benchmark — ${new Date().toISOString()}, Node ${process.versions.node}, ${process.platform}-${process.arch}, ${cpus().length} CPUs, ${CLIENTS} clients, ${LAYOUT === 'separate' ? 'API and card worker as separate processes' : 'API and card worker in the benchmark process'}`);
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
  const { spread, hot, straight, bare, halves } = await benchBookings(stack);
  // A request that timed out (503) may still be applied by its card: let the cards settle first.
  let checked = await integrity(stack);
  const atEnd = checked;
  for (let waited = 0; checked.disagreeing > 0 && waited < 120_000; waited += 2_000) {
    await new Promise((r) => setTimeout(r, 2_000));
    checked = await integrity(stack);
  }
  say(`integrity right after the runs: ${JSON.stringify(atEnd)}; settled: ${JSON.stringify(checked)}`);
  // A transaction PostgreSQL ended as a deadlock waited deadlock_timeout (1 s) first, then was retried.
  const [dl] = await sql<{ n: string }>(stack, `select deadlocks as n from pg_stat_database where datname = current_database()`);
  say(`PostgreSQL deadlocks during the runs: ${dl.n}`);
  say(`the claim's SQL alone: ${CLAIMS} claims by ${CLIENTS} clients`);
  const claims = await claimsAlone(stack);
  const month = await benchMonth(stack);
  const attempts = spread.all.length + hot.all.length;
  const rate = spread.ok / spread.seconds;
  const p99 = percentile(spread.booked, 99);
  report.push(
    { figure: 'Contended attempts (many slots + hot slot)', measured: attempts.toLocaleString('en'), target: '≥ 10,000', pass: attempts >= 10_000 },
    { figure: `Many slots: bookings over HTTP (${SPREAD_SLOTS}×${SPREAD_CAPACITY} places, ${CARDS} cards)`, measured: `${rate.toFixed(1)} bookings/s (${spread.ok} booked, ${spread.full} full, ${spread.other} other)`, target: 'info' },
    { figure: 'Many slots: booking p50 / p99', measured: `${percentile(spread.booked, 50).toFixed(0)} / ${p99.toFixed(0)} ms`, target: 'info' },
    { figure: 'Many slots: refusal (SLOT_FULL) p50 / p99', measured: `${percentile(spread.all, 50).toFixed(0)} / ${percentile(spread.all, 99).toFixed(0)} ms (all attempts)`, target: 'info' },
    { figure: `Hot slot (${HOT_CAPACITY} places): bookings over HTTP`, measured: `${(hot.ok / hot.seconds).toFixed(1)} bookings/s (${hot.ok} booked, ${hot.full} full, ${hot.other} other), p50/p99 ${hot.booked.length ? `${percentile(hot.booked, 50).toFixed(0)}/${percentile(hot.booked, 99).toFixed(0)}` : '-'} ms`, target: 'info' },
    {
      figure: 'Split: many slots, straight to the workflows (no HTTP, no API, no pre-check)',
      measured: `${(straight.ok / straight.seconds).toFixed(1)} bookings/s, ${(straight.all.length / straight.seconds).toFixed(1)} attempts/s (${straight.ok} booked, ${straight.full} full, ${straight.other} other), p50/p99 ${percentile(straight.booked, 50).toFixed(0)}/${percentile(straight.booked, 99).toFixed(0)} ms`,
      target: 'info',
    },
    { figure: 'Overbooked slots (booked > capacity)', measured: String(checked.overbooked), target: '0', pass: checked.overbooked === 0 },
    { figure: 'Slots whose count ≠ their active bookings', measured: String(checked.miscounted), target: '0', pass: checked.miscounted === 0 },
    { figure: 'Cards with two active bookings', measured: String(checked.doubled), target: '0', pass: checked.doubled === 0 },
    { figure: 'Cards whose read model disagrees with their booking (settled)', measured: `${checked.disagreeing} (right after the runs: ${atEnd.disagreeing})`, target: '0', pass: checked.disagreeing === 0 },
    { figure: "Claim SQL alone (the activity's transaction)", measured: `${claims.rate.toFixed(0)} claims/s, p50/p99 ${claims.p50.toFixed(1)}/${claims.p99.toFixed(1)} ms`, target: 'reference' },
    {
      figure: 'Bare no-op Update (half right before, half right after the many-slot bookings)',
      measured: `${bare.rate.toFixed(0)} updates/s, p50/p99 ${bare.p50.toFixed(0)}/${bare.p99.toFixed(0)} ms (halves ${halves.map((h) => `${h.rate.toFixed(0)}/s, p99 ${h.p99.toFixed(0)}`).join(' and ')})`,
      target: 'reference',
    },
    { figure: 'Booking rate / bare Update rate', measured: (rate / bare.rate).toFixed(2), target: `≥ ${TARGET_RATE_RATIO}`, pass: rate >= TARGET_RATE_RATIO * bare.rate },
    { figure: 'Booking p99 / bare Update p99', measured: (p99 / bare.p99).toFixed(2), target: `≤ ${TARGET_P99_RATIO}`, pass: p99 <= TARGET_P99_RATIO * bare.p99 },
    {
      figure: 'Split: straight to the workflows, rate / p99 against the bare Update',
      measured: `${(straight.ok / straight.seconds / bare.rate).toFixed(2)} (attempts ${(straight.all.length / straight.seconds / bare.rate).toFixed(2)}) / ${(percentile(straight.booked, 99) / bare.p99).toFixed(2)}`,
      target: 'info',
    },
    { figure: `Month of free slots, BookingService (${month.bookings.toLocaleString('en')} bookings) p95`, measured: `${percentile(month.service, 95).toFixed(1)} ms`, target: `≤ ${TARGET_MONTH_P95_MS} ms`, pass: percentile(month.service, 95) <= TARGET_MONTH_P95_MS },
    { figure: 'Month of free slots, GET /api/venues/{v}/availability p95', measured: `${percentile(month.api, 95).toFixed(1)} ms`, target: `≤ ${TARGET_MONTH_P95_MS} ms`, pass: percentile(month.api, 95) <= TARGET_MONTH_P95_MS },
  );
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
