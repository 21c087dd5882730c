/**
 * `npm run bench:history`: how large a card's Temporal history grows over a two-year life, and when
 * it continues as new. On its own stack (embedded PostgreSQL, a Temporal dev server, the card worker
 * and the API, in this process), on the ward's production policy (config/koto/ward.json) scaled as
 * test/recorded-histories.test.ts scales it (one day = 20 ms, so two years take about 15 s), it
 * drives a few cards through two years over HTTP, with a `policyChanged` signal every month (24):
 *   - issued: notice, booking and no-show, the re-notice proposal rejected, a booking made and
 *     cancelled every month, two holds and their releases, issued in month 24;
 *   - discarded: notice, re-notice approved and mailed, the discard period stretched by the monthly
 *     policy changes, bookings made and cancelled, a hold, then a policy change that brings the
 *     discard proposal back within reach, approved;
 *   - worst case: ten bookings made and cancelled every month for 24 months (240 pairs), then issued;
 *   - beyond it: twenty a month (480 pairs), enough to pass the point where the card continues as new.
 * Then, per card: events and history bytes (the protobuf encoding of fetchHistory, as the server
 * stores and counts it) of every run, the number of runs (continue-as-new), and the largest run as
 * a share of Temporal's per-run limits (51,200 events, 50 MB; warnings at 10,240 events and 10 MB).
 * A report, not a test: it exits 1 only if a card failed its story or a run passed a warning level.
 */
import { safeRandomUUID } from '../src/common/my-number.js';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createApp } from '../src/app.factory.js';
import { AuthService } from '../src/auth/auth.service.js';
import { loadWardConfig, scaledPolicy } from '../src/config/ward-config.js';
import { migrate, openOrm } from '../src/database/database.js';
import { freePort, startEmbeddedPostgres, startTemporalDevServer } from '../src/dev/local-stack.js';
import { cardRuns } from '../src/worker/capture-history.js';
import { createCardWorker } from '../src/worker/card-worker.js';
import type { StaffRole } from '../workflows/card-state-machine.js';
import { cardWorkflowId, policyChangedSignal } from '../workflows/card-messages.js';
import type { CardPolicy } from '../workflows/card-timers.js';

/** One day of the production policy, in this bench's milliseconds. */
const DAY = 20;
const MONTH = 30 * DAY;
const MONTHS = 24;
const LIMIT_EVENTS = 51_200;
const LIMIT_BYTES = 50 * 1024 * 1024;
const WARN_EVENTS = 10_240;
const WARN_BYTES = 10 * 1024 * 1024;

const T0 = performance.now();
const say = (m: string) => process.stderr.write(`[bench:history ${((performance.now() - T0) / 1000).toFixed(1).padStart(5)} s] ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const POLICY: CardPolicy = scaledPolicy(loadWardConfig(undefined, '').policy, DAY);

const cleanups: { name: string; run: () => Promise<unknown> }[] = [];

interface Stack {
  baseUrl: string;
  client: Client;
  token(role: StaffRole): Promise<string>;
  sql<T>(query: string, params?: unknown[]): Promise<T[]>;
}

async function startStack(): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), 'koto-card-bench-history-'));
  cleanups.push({ name: 'temp dir', run: async () => rmSync(dir, { recursive: true, force: true }) });
  chmodSync(dir, 0o755);
  const [pgPort, temporalPort] = [await freePort(), await freePort()];
  const [pg, tmp] = await Promise.all([
    startEmbeddedPostgres({ dir: join(dir, 'pg'), port: pgPort, database: 'cards_bench_history', ephemeral: false }),
    startTemporalDevServer({ cliPath: process.env.TEMPORAL_CLI_PATH, port: temporalPort, dbFile: join(dir, 'temporal.db') }),
  ]);
  cleanups.push({ name: 'PostgreSQL', run: () => pg.stop() });
  cleanups.push({ name: 'Temporal', run: () => tmp.stop() });
  await migrate(pg.url);
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  const taskQueue = `cards-history-${safeRandomUUID().slice(0, 8)}`;
  const orm = await openOrm(pg.url);
  cleanups.push({ name: 'ORM', run: () => orm.close() });
  const workerConnection = await NativeConnection.connect({ address: tmp.address });
  cleanups.push({ name: 'worker connection', run: () => workerConnection.close() });
  const worker = await createCardWorker({ connection: workerConnection, namespace: 'default', taskQueue, orm, databaseUrl: pg.url });
  const running = worker.run();
  cleanups.push({
    name: 'worker',
    run: async () => {
      worker.shutdown();
      await running;
    },
  });
  Object.assign(process.env, { DATABASE_URL: pg.url, TEMPORAL_ADDRESS: tmp.address, TEMPORAL_TASK_QUEUE: taskQueue, LOG_LEVEL: 'silent', CARD_POLICY_JSON: JSON.stringify(POLICY) });
  const app = await createApp();
  const apiPort = await freePort();
  await app.listen(apiPort, '127.0.0.1');
  cleanups.push({ name: 'API', run: () => app.close() });
  const connection = await Connection.connect({ address: tmp.address });
  cleanups.push({ name: 'client connection', run: () => connection.close() });
  const tokens = new Map<StaffRole, string>();
  return {
    baseUrl: `http://127.0.0.1:${apiPort}`,
    client: new Client({ connection }),
    async token(role) {
      const known = tokens.get(role);
      if (known) return known;
      const auth = app.get(AuthService);
      await auth.createUser({ username: `bench-${role}`, role, venueId: role === 'venue' ? 'kuyakusho' : undefined });
      const { token } = await auth.createToken(`bench-${role}`, 'bench');
      tokens.set(role, token);
      return token;
    },
    sql: <T>(query: string, params: unknown[] = []) => orm.em.fork().execute(query, params) as Promise<T[]>,
  };
}

/** One card's life, driven over HTTP. */
class Life {
  private keys = 0;
  actions = 0;
  signals = 0;
  constructor(
    private readonly s: Stack,
    readonly cardId: string,
    private readonly tokens: Record<StaffRole, string>,
  ) {}

  async register(): Promise<void> {
    const res = await fetch(`${this.s.baseUrl}/api/cards`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.tokens.office}`, 'content-type': 'application/json' },
      body: JSON.stringify({ cardId: this.cardId, route: 'pickup', resident: { name: '江東 太郎', nameKana: 'コウトウ タロウ', birthDate: '1980-04-01', postalCode: '135-0016', address: '江東区東陽4-11-28', phone: '03-3647-9111' } }),
    });
    if (res.status !== 200) throw new Error(`register ${this.cardId}: ${res.status} ${await res.text()}`);
  }

  async act(role: StaffRole, action: string, body: Record<string, unknown> = {}): Promise<void> {
    const res = await fetch(`${this.s.baseUrl}/api/cards/${this.cardId}/actions/${action}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.tokens[role]}`, 'content-type': 'application/json', 'idempotency-key': `${this.cardId}-${++this.keys}` },
      body: JSON.stringify(body),
    });
    if (res.status !== 200) throw new Error(`${this.cardId} ${action}: ${res.status} ${(await res.text()).slice(0, 300)}`);
    this.actions++;
  }

  /** A slot `inMs` from now, `lengthMs` long (the no-show timer fires its grace after the end). */
  async reserve(inMs: number, lengthMs = 30 * 60_000): Promise<void> {
    // A slot of its own (the calendar's generator is not part of this bench); the ward books from today.
    const start = new Date(Date.now() + inMs);
    await this.s.sql(`insert into slot (venue_id, starts_at, ends_at, capacity) values ('kuyakusho', ?, ?, 1000) on conflict do nothing`, [start.toISOString(), new Date(start.getTime() + lengthMs).toISOString()]);
    return this.act('ward', 'reserve', { data: { venueId: 'kuyakusho', startsAt: start.toISOString() } });
  }

  /** A booking far enough ahead that it is cancelled before its no-show timer. */
  async reserveAndCancel(): Promise<void> {
    await this.reserve(30 * 86_400_000);
    await this.act('callcenter', 'cancel_reservation');
  }

  async policy(p: Partial<CardPolicy>): Promise<void> {
    await this.s.client.workflow.getHandle(cardWorkflowId(this.cardId)).signal(policyChangedSignal, { ...POLICY, ...p });
    this.signals++;
  }

  async proposal(kind: string): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const [row] = await this.s.sql<{ proposal_kinds: string[] }>('select proposal_kinds from card where card_id = ?', [this.cardId]);
      if (row?.proposal_kinds.includes(kind)) return;
      await sleep(20);
    }
    throw new Error(`${this.cardId}: no ${kind} proposal after 30 s`);
  }

  async toNotice(): Promise<void> {
    await this.register();
    await this.act('office', 'inspect');
    await this.act('office', 'ship_to_venue');
    await this.act('venue', 'receive_at_venue');
    await this.act('office', 'mail_notice');
  }

  finished(): Promise<{ state: string }> {
    return this.s.client.workflow.getHandle(cardWorkflowId(this.cardId)).result();
  }
}

/** Waits until `month` months after `start` (scaled time). */
const untilMonth = (start: number, month: number) => sleep(Math.max(0, start + month * MONTH - performance.now()));
/** The monthly policy change: the re-notice period moves between 90 and 120 days. */
const monthly = (m: number): Partial<CardPolicy> => ({ renoticeAfterMs: (m % 2 ? 120 : 90) * DAY });

async function issuedCard(life: Life): Promise<void> {
  const start = performance.now();
  await life.toNotice();
  // Month 1: a booking the resident misses; the venue confirms the no-show.
  await untilMonth(start, 1);
  // A slot that ends within the scaled hour: the resident does not come.
  await life.reserve(200, 100);
  await life.proposal('no_show');
  await life.act('venue', 'confirm_no_show');
  for (let m = 1; m <= MONTHS; m++) {
    await untilMonth(start, m);
    await life.policy(monthly(m));
    if (m === 4) {
      // The re-notice proposal (90-120 days after the notice): the resident called, rejected.
      await life.proposal('renotice');
      await life.act('ward', 'reject_proposal', { reason: '本人から連絡あり', data: { kind: 'renotice' } });
    }
    if (m === 6 || m === 14) {
      await life.act('office', 'pull_out', { reason: '区からの引き抜き指示' });
      await life.act('office', 'release_hold');
    }
    if (m < MONTHS) await life.reserveAndCancel();
  }
  await life.reserve(86_400_000);
  await life.act('venue', 'issue');
  if ((await life.finished()).state !== 'issued') throw new Error(`${life.cardId} not issued`);
}

async function discardedCard(life: Life): Promise<void> {
  const start = performance.now();
  await life.toNotice();
  for (let m = 1; m <= MONTHS; m++) {
    await untilMonth(start, m);
    // The ward stretches the discard period (two years) until the last month, which brings it back.
    await life.policy({ ...monthly(m), discardAfterRenoticeMs: (m === MONTHS ? 90 : 730) * DAY });
    if (m === 4) {
      await life.proposal('renotice');
      await life.act('ward', 'approve_renotice');
      await life.act('office', 'mail_renotice');
    }
    if (m === 10) {
      await life.act('office', 'pull_out', { reason: '区からの引き抜き指示' });
      await life.act('office', 'release_hold');
    }
    if (m < MONTHS) await life.reserveAndCancel();
  }
  await life.proposal('discard');
  await life.act('ward', 'approve_discard');
  if ((await life.finished()).state !== 'discarded') throw new Error(`${life.cardId} not discarded`);
}

/** `perMonth` bookings made and cancelled every month, as fast as the API answers. */
async function busyCard(life: Life, perMonth: number): Promise<void> {
  await life.toNotice();
  for (let m = 1; m <= MONTHS; m++) {
    await life.policy(monthly(m));
    for (let i = 0; i < perMonth; i++) await life.reserveAndCancel();
  }
  await life.reserve(86_400_000);
  await life.act('venue', 'issue');
  if ((await life.finished()).state !== 'issued') throw new Error(`${life.cardId} not issued`);
}

interface Run {
  events: number;
  bytes: number;
  continuedAsNew: boolean;
}

async function measure(s: Stack, cardId: string): Promise<Run[]> {
  const runs = await cardRuns(s.client, cardId);
  return runs.map((h) => ({
    events: h.events?.length ?? 0,
    bytes: proto.temporal.api.history.v1.History.encode(h).finish().length,
    continuedAsNew: Boolean(h.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes),
  }));
}

const pct = (n: number, of: number) => `${((n / of) * 100).toFixed(2)} %`;
const kb = (b: number) => `${(b / 1024).toFixed(1)} KB`;

async function main(): Promise<void> {
  say('starting PostgreSQL, Temporal, the card worker and the API');
  const s = await startStack();
  const roles: StaffRole[] = ['office', 'venue', 'callcenter', 'ward'];
  const tokens = Object.fromEntries(await Promise.all(roles.map(async (r) => [r, await s.token(r)]))) as Record<StaffRole, string>;
  const suffix = safeRandomUUID().slice(0, 6).toUpperCase();
  const stories: [string, Life, (l: Life) => Promise<void>][] = [
    ['issued (2 years)', new Life(s, `HIST-ISSUED-${suffix}`, tokens), issuedCard],
    ['discarded (2 years)', new Life(s, `HIST-DISCARD-${suffix}`, tokens), discardedCard],
    ['worst case (240 bookings)', new Life(s, `HIST-WORST-${suffix}`, tokens), (l) => busyCard(l, 10)],
    // Twice the worst case, to see where Temporal suggests continuing as new and the card does.
    ['beyond it (480 bookings)', new Life(s, `HIST-EXTREME-${suffix}`, tokens), (l) => busyCard(l, 20)],
  ];
  say(`two years at ${DAY} ms a day (${((MONTHS * MONTH) / 1000).toFixed(1)} s), four cards at once`);
  const t0 = performance.now();
  const outcomes = await Promise.allSettled(
    stories.map(async ([name, life, story]) => {
      await story(life);
      say(`${name}: done after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }),
  );
  let failed = false;
  const continued: [string, Run[]][] = [];
  console.log(`\nHistory growth: one card per story, production policy scaled (1 day = ${DAY} ms), ${MONTHS} monthly policy changes`);
  console.log(
    `${'card'.padEnd(27)} ${'actions'.padStart(7)} ${'signals'.padStart(7)} ${'runs'.padStart(4)}  ${'events per run'.padEnd(16)} ${'bytes per run'.padEnd(22)} ${'largest vs 51,200 ev'.padStart(20)} ${'vs 50 MB'.padStart(9)}`,
  );
  for (const [i, [name, life]] of stories.entries()) {
    const outcome = outcomes[i];
    if (outcome.status === 'rejected') {
      failed = true;
      console.log(`${name.padEnd(27)} FAILED: ${String(outcome.reason)}`);
      continue;
    }
    const runs = await measure(s, life.cardId);
    const maxEvents = Math.max(...runs.map((r) => r.events));
    const maxBytes = Math.max(...runs.map((r) => r.bytes));
    if (runs.length > 1) continued.push([name, runs]);
    if (maxEvents >= WARN_EVENTS || maxBytes >= WARN_BYTES) failed = true;
    console.log(
      `${name.padEnd(27)} ${String(life.actions).padStart(7)} ${String(life.signals).padStart(7)} ${String(runs.length).padStart(4)}  ${runs.map((r) => r.events).join(' + ').padEnd(16)} ${runs.map((r) => kb(r.bytes)).join(' + ').padEnd(22)} ${pct(maxEvents, LIMIT_EVENTS).padStart(20)} ${pct(maxBytes, LIMIT_BYTES).padStart(9)}`,
    );
  }
  for (const [name, runs] of continued) console.log(`${name}: continued as new after ${runs.filter((r) => r.continuedAsNew).map((r) => r.events.toLocaleString()).join(', ')} events (Temporal's suggestion; the next run starts with the card and its recent requests)`);
  console.log(`limits per run: ${LIMIT_EVENTS.toLocaleString()} events / 50 MB (warnings at ${WARN_EVENTS.toLocaleString()} events / 10 MB); a card continues as new when Temporal suggests it (workflowInfo().continueAsNewSuggested)`);
  if (failed) process.exitCode = 1;
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const c of cleanups.reverse()) {
      try {
        await c.run();
      } catch (e) {
        say(`stopping ${c.name}: ${(e as Error).message}`);
      }
    }
    process.exit(process.exitCode ?? 0);
  });
