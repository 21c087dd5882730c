/**
 * `npm run drill`: crash and restart drills against the system as `npm start` runs it. It starts the
 * supervisor (dist/src/dev/start.js) in a temporary directory on free ports, then, one drill at a time,
 * kills a process with SIGKILL in the middle of real work, lets the supervisor restart it, retries what
 * the client saw fail, and checks that nothing was lost or doubled:
 *   - every card's read-model row (state, seq) equals its workflow's `card` query;
 *   - every card has each event exactly once: card_event seqs 1..seq, no gap, no repeat;
 *   - every card of the batch has exactly one resident row, and every bulk job has finished.
 * A report, like the benchmarks: it exits 0 when every drill ends with nothing lost or doubled, 1 otherwise.
 */
import { safeRandomUUID } from '../src/common/my-number.js';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { MikroORM } from '@mikro-orm/postgresql';
import { Client, Connection } from '@temporalio/client';
import { AuthService } from '../src/auth/auth.service.js';
import { UsersRepository } from '../src/auth/users.repository.js';
import { WebAuthRepository } from '../src/auth/web-auth.repository.js';
import { WebAuthService } from '../src/auth/web-auth.service.js';
import { cookieNames } from '../src/auth/web-cookies.js';
import { loadAppConfig } from '../src/config/app-config.js';
import { openOrm } from '../src/database/database.js';
import { type StackFile, SupervisedStack, isAlive, waitUntil } from '../src/dev/supervised-stack.js';
import { cardQuery, cardWorkflowId } from '../workflows/card-messages.js';

// ---- Sizes -------------------------------------------------------------------------------------

/** Cards per registration batch (one POST /api/cards). */
const BATCH = Number(process.env.DRILL_BATCH ?? 500);
/** Cards of the bulk worklist job (each first taken to notice_mailed by four actions). */
const BULK = Number(process.env.DRILL_BULK ?? 100);
/** Re-notice proposals open this long after the notice is mailed (production: about three months). */
const RENOTICE_AFTER_MS = 3_000;
/** How long the system has, after a restart, to bring the read model level with the workflows. */
const SETTLE_MS = 180_000;

// ---- Small helpers -----------------------------------------------------------------------------

const T0 = performance.now();
const say = (m: string) => process.stderr.write(`[drill ${((performance.now() - T0) / 1000).toFixed(1).padStart(6)} s] ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function inPool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

const SURNAMES = [['佐藤', 'サトウ'], ['鈴木', 'スズキ'], ['高橋', 'タカハシ'], ['田中', 'タナカ'], ['伊藤', 'イトウ']];
const GIVEN = [['太郎', 'タロウ'], ['花子', 'ハナコ'], ['一郎', 'イチロウ'], ['美咲', 'ミサキ']];
const TOWNS = [['135-0016', '東陽'], ['135-0061', '豊洲'], ['136-0072', '大島'], ['136-0071', '亀戸']];

/** A valid card as an import sends it. Ids carry no long digit runs (the My Number filter). */
function drillCard(prefix: string, i: number) {
  const [name, kana] = SURNAMES[i % SURNAMES.length];
  const [given, givenKana] = GIVEN[(i * 3) % GIVEN.length];
  const [postalCode, town] = TOWNS[i % TOWNS.length];
  return {
    cardId: `${prefix}-${String(i).padStart(5, '0')}`,
    route: i % 10 === 0 ? 'counter' : 'pickup',
    resident: {
      name: `${name} ${given}`,
      nameKana: `${kana} ${givenKana}`,
      birthDate: `19${50 + (i % 40)}-0${1 + (i % 9)}-1${i % 10}`,
      postalCode,
      address: `江東区${town}${1 + (i % 5)}-${1 + (i % 20)}-${1 + (i % 15)}`,
      ...(i % 3 === 0 ? {} : { phone: `03-${3000 + (i % 6000)}-${String(i % 10_000).padStart(4, '0')}` }),
    },
  };
}

// ---- The stack ---------------------------------------------------------------------------------

interface Drill {
  stack: SupervisedStack;
  file: StackFile;
  orm: MikroORM;
  client: Client;
  connection: Connection;
  officeToken: string;
  /** A signed-in ward session (second factor verified) for the worklist pages. */
  ward: { cookie: string; csrf: string };
}

type Victim = 'worker' | 'api' | 'temporal' | 'postgres';

interface Outcome {
  name: string;
  cards: number;
  seconds: number;
  /** What the client saw while the process was down. */
  seen: string;
  /** What was checked, beyond the read model against the workflows. */
  checked: string;
  problems: string[];
}

const outcomes: Outcome[] = [];
/** DRILL_ONLY=3,4 runs only those drills. */
const only = process.env.DRILL_ONLY?.split(',').map(Number);
const wanted = (n: number) => !only || only.includes(n);

async function sql<T = Record<string, unknown>>(d: Drill, query: string, params: unknown[] = []): Promise<T[]> {
  return d.orm.em.fork().execute(query, params) as Promise<T[]>;
}

async function register(d: Drill, cards: ReturnType<typeof drillCard>[]): Promise<{ status: number; results?: { cardId: string; status: string }[]; text: string }> {
  const res = await fetch(`${d.stack.apiUrl}/api/cards`, {
    method: 'POST',
    headers: { authorization: `Bearer ${d.officeToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ cards }),
  });
  const text = await res.text();
  return { status: res.status, results: res.ok ? (JSON.parse(text) as { results: { cardId: string; status: string }[] }).results : undefined, text: text.slice(0, 300) };
}

/** Kills one process of the stack with SIGKILL; resolves with its pid. */
function kill9(d: Drill, name: Victim): number {
  const pid = d.stack.stackFile()?.pids[name];
  if (!pid || !isAlive(pid)) throw new Error(`no ${name} process to kill`);
  process.kill(pid, 'SIGKILL');
  say(`kill -9 ${name} (pid ${pid})`);
  return pid;
}

/** Waits until the supervisor has started the process again and the system is healthy. */
async function waitRestarted(d: Drill, name: Victim, oldPid: number): Promise<void> {
  const pid = await waitUntil(`a new ${name} process`, 60_000, () => {
    const p = d.stack.stackFile()?.pids[name];
    return p && p !== oldPid && isAlive(p) ? p : undefined;
  });
  await d.stack.waitHealthy(120_000);
  say(`${name} restarted by the supervisor (pid ${pid}); health up`);
}

async function rowsWithPrefix(d: Drill, prefix: string): Promise<number> {
  const [row] = await sql<{ n: string }>(d, `select count(*) as n from card where card_id like ?`, [`${prefix}-%`]);
  return Number(row.n);
}

// ---- The checks --------------------------------------------------------------------------------

/**
 * Compares the read model with the workflows for every card id, once the system has settled (the
 * projection runs after the workflow has moved on): the differences that remain after SETTLE_MS.
 */
async function check(d: Drill, cardIds: string[]): Promise<string[]> {
  const until = Date.now() + SETTLE_MS;
  for (;;) {
    // A connection that PostgreSQL's restart broke fails once; the pool opens a new one.
    const problems = await differences(d, cardIds).catch((e: Error) => [`the check could not run: ${e.message}`]);
    if (problems.length === 0 || Date.now() > until) return problems;
    await sleep(1000);
  }
}

async function differences(d: Drill, cardIds: string[]): Promise<string[]> {
  const problems: string[] = [];
  const rows = new Map(
    (await sql<{ card_id: string; state: string; seq: number }>(d, `select card_id, state, seq from card where card_id = any(?::text[])`, [`{${cardIds.join(',')}}`])).map((r) => [r.card_id, r]),
  );
  const events = new Map(
    (
      await sql<{ card_id: string; n: string; distinct_seqs: string; min_seq: number; max_seq: number }>(
        d,
        `select card_id, count(*) as n, count(distinct seq) as distinct_seqs, min(seq) as min_seq, max(seq) as max_seq from card_event where card_id = any(?::text[]) group by card_id`,
        [`{${cardIds.join(',')}}`],
      )
    ).map((r) => [r.card_id, r]),
  );
  const residents = new Map(
    (await sql<{ card_id: string; n: string }>(d, `select card_id, count(*) as n from card_resident where card_id = any(?::text[]) group by card_id`, [`{${cardIds.join(',')}}`])).map((r) => [r.card_id, Number(r.n)]),
  );
  await inPool(cardIds, 16, async (cardId) => {
    let wf: { state: string; seq: number } | undefined;
    try {
      wf = await d.client.workflow.getHandle(cardWorkflowId(cardId)).query(cardQuery);
    } catch (e) {
      problems.push(`${cardId}: no workflow answers (${(e as Error).message.slice(0, 100)})`);
      return;
    }
    const row = rows.get(cardId);
    if (!row) problems.push(`${cardId}: lost from the read model (workflow ${wf.state} seq ${wf.seq})`);
    else if (row.state !== wf.state || row.seq !== wf.seq) problems.push(`${cardId}: read model ${row.state} seq ${row.seq}, workflow ${wf.state} seq ${wf.seq}`);
    const ev = events.get(cardId);
    const n = Number(ev?.n ?? 0);
    if (n !== wf.seq || Number(ev?.distinct_seqs ?? 0) !== n || (n > 0 && (ev!.min_seq !== 1 || ev!.max_seq !== wf.seq))) {
      problems.push(`${cardId}: ${n} events (seqs ${ev?.min_seq ?? '-'}..${ev?.max_seq ?? '-'}) for workflow seq ${wf.seq}`);
    }
    if (residents.get(cardId) !== 1) problems.push(`${cardId}: ${residents.get(cardId) ?? 0} resident rows`);
  });
  return problems;
}

// ---- The drills --------------------------------------------------------------------------------

/**
 * One registration batch with a process killed while the API works through it; the client retries the
 * batch (as an importer does after an error or a lost answer) once the system is healthy again.
 */
async function registrationDrill(d: Drill, name: string, prefix: string, victim: Victim): Promise<void> {
  say(`— ${name}`);
  const t0 = performance.now();
  const cards = Array.from({ length: BATCH }, (_, i) => drillCard(prefix, i + 1));
  const first = register(d, cards).catch((e: Error) => ({ status: 0, results: undefined, text: `${e.message} (${String((e.cause as Error | undefined)?.message ?? '')})` }));
  // Kill while the batch is under way: once the first cards have reached the read model.
  await waitUntil('the batch to be under way', 60_000, async () => (await rowsWithPrefix(d, prefix)) >= Math.min(20, BATCH) || undefined, 50);
  const pid = kill9(d, victim);
  const answer = await first;
  const seen =
    answer.status === 200 || answer.status === 201
      ? `the batch was answered (${answer.results!.filter((r) => r.status === 'created').length} created)`
      : `the batch failed (${answer.status || 'no answer'}: ${answer.text.slice(0, 80)})`;
  say(seen);
  await waitRestarted(d, victim, pid);
  const retry = await register(d, cards);
  if (!retry.results) throw new Error(`the retried batch failed: ${retry.status} ${retry.text}`);
  const created = retry.results.filter((r) => r.status === 'created').length;
  const exists = retry.results.filter((r) => r.status === 'exists').length;
  say(`retried the batch: ${created} created, ${exists} already there`);
  const problems = await check(d, cards.map((c) => c.cardId));
  if (created + exists !== cards.length) problems.push(`the retry answered ${created + exists} of ${cards.length} cards`);
  outcomes.push({ name, cards: cards.length, seconds: (performance.now() - t0) / 1000, seen, problems, checked: 'every event once, one resident row per card, every card of the batch answered' });
  say(problems.length === 0 ? 'nothing lost or doubled' : `${problems.length} difference(s)`);
}

async function act(d: Drill, cardId: string, action: string): Promise<void> {
  const res = await fetch(`${d.stack.apiUrl}/api/cards/${cardId}/actions/${action}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${d.officeToken}`, 'content-type': 'application/json', 'idempotency-key': `drill-${cardId}-${action}` },
    body: '{}',
  });
  if (!res.ok) throw new Error(`${action} on ${cardId}: ${res.status} ${(await res.text()).slice(0, 200)}`);
}

/**
 * A bulk approval of re-notice proposals started on the worklist page (as a ward user's form does),
 * with a process killed while the API works through it. Nothing is retried by hand: the job itself
 * carries on (its per-card keys make repeats no-ops), also in a restarted API.
 */
async function bulkDrill(d: Drill, name: string, prefix: string, victim: Victim): Promise<void> {
  say(`— ${name}`);
  const cards = Array.from({ length: BULK }, (_, i) => ({ ...drillCard(prefix, i + 1), route: 'pickup' }));
  const ids = cards.map((c) => c.cardId);
  const registered = await register(d, cards);
  if (!registered.results) throw new Error(`registration for the bulk drill failed: ${registered.status} ${registered.text}`);
  say(`taking ${BULK} cards to notice_mailed; re-notice proposals open ${RENOTICE_AFTER_MS / 1000} s later`);
  await inPool(ids, 8, async (id) => {
    for (const action of ['inspect', 'ship_to_venue', 'receive_at_venue', 'mail_notice']) await act(d, id, action);
  });
  await waitUntil('every re-notice proposal in the read model', 120_000, async () => {
    const [row] = await sql<{ n: string }>(d, `select count(*) as n from card where card_id = any(?::text[]) and 'renotice' = any(proposal_kinds)`, [`{${ids.join(',')}}`]);
    return Number(row.n) === ids.length || undefined;
  }, 500);
  const t0 = performance.now();
  const jobKey = safeRandomUUID();
  const form = new URLSearchParams({ _csrf: d.ward.csrf, jobKey, decision: 'approve' });
  for (const id of ids) form.append('cardIds', id);
  const res = await fetch(`${d.stack.apiUrl}/worklists/renotice/bulk`, {
    method: 'POST',
    headers: { cookie: d.ward.cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
    redirect: 'manual',
  });
  if (res.status !== 303) throw new Error(`the bulk form was answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
  const jobId = res.headers.get('location')!.split('/').pop()!;
  say(`bulk job ${jobId} started for ${BULK} cards`);
  const job = () => sql<{ done: number; failed: number; status: string; failures: Record<string, string> | null }>(d, `select done, failed, status, failures from bulk_job where id = ?`, [jobId]).then((r) => r[0]);
  await waitUntil('the bulk job to be under way', 60_000, async () => ((await job()).done >= Math.min(10, BULK) ? true : undefined), 50);
  const at = await job();
  const pid = kill9(d, victim);
  const seen = `killed at ${at.done} of ${BULK} cards done`;
  await waitRestarted(d, victim, pid);
  const finished = await waitUntil('the bulk job to finish', SETTLE_MS, async () => {
    const j = await job();
    return j.status === 'finished' ? j : undefined;
  }, 500).catch(() => undefined);
  const problems: string[] = [];
  if (!finished) problems.push(`bulk job ${jobId} did not finish within ${SETTLE_MS / 1000} s`);
  else {
    say(`bulk job finished: ${finished.done} done, ${finished.failed} failed`);
    if (finished.done !== BULK || finished.failed !== 0) problems.push(`bulk job ${jobId}: ${finished.done} done, ${finished.failed} failed ${JSON.stringify(finished.failures ?? {}).slice(0, 300)}`);
  }
  problems.push(...(await check(d, ids)));
  // Approved exactly once: every card's workflow holds one approve_renotice event.
  const approvals = await sql<{ card_id: string; n: string }>(d, `select card_id, count(*) as n from card_event where card_id = any(?::text[]) and type = 'approve_renotice' group by card_id`, [`{${ids.join(',')}}`]);
  const approved = new Map(approvals.map((r) => [r.card_id, Number(r.n)]));
  for (const id of ids) if (approved.get(id) !== 1) problems.push(`${id}: approved ${approved.get(id) ?? 0} times`);
  outcomes.push({ name, cards: BULK, seconds: (performance.now() - t0) / 1000, seen, problems, checked: 'every event once, the job finished with every card approved exactly once' });
  say(problems.length === 0 ? 'nothing lost or doubled' : `${problems.length} difference(s)`);
}

/** A ward user with a password and a second factor, signed in as the sign-in pages do it. */
async function wardSession(orm: MikroORM, auth: AuthService, file: StackFile, dataDir: string): Promise<{ cookie: string; csrf: string }> {
  const config = loadAppConfig({ ...process.env, PORT: new URL(file.apiUrl).port, DATABASE_URL: file.databaseUrl, DATA_KEY: readFileSync(join(dataDir, 'data.key'), 'utf8').trim() });
  const web = new WebAuthService(new WebAuthRepository(orm.em), config);
  await auth.createUser({ username: 'drill-ward', role: 'ward' });
  const password = `drill-${safeRandomUUID()}`;
  await web.setPassword('drill-ward', password);
  const secret = WebAuthService.generateSecret();
  await web.enableTotpWithSecret('drill-ward', secret);
  const signedIn = await web.signIn('drill-ward', password);
  if (!signedIn.ok) throw new Error(`the ward user could not sign in: ${signedIn.reason}`);
  const verified = await web.verifySecondFactor(signedIn, await WebAuthService.totp(secret));
  if (!verified.ok) throw new Error(`the ward user's second factor was refused: ${verified.reason}`);
  return { cookie: `${cookieNames(config).session}=${verified.token}`, csrf: verified.session.csrf_token };
}

// ---- Main --------------------------------------------------------------------------------------

function printReport(): void {
  const line = '─'.repeat(96);
  console.log('');
  console.log('Crash and restart drills (npm run drill)');
  console.log(line);
  for (const o of outcomes) {
    console.log(`${o.name}`);
    console.log(`  ${o.cards} cards, ${o.seconds.toFixed(1)} s; ${o.seen}`);
    if (o.problems.length === 0) console.log(`  ✓ nothing lost or doubled (read model = workflows; ${o.checked})`);
    else {
      console.log(`  ✗ ${o.problems.length} difference(s):`);
      for (const p of o.problems.slice(0, 20)) console.log(`      ${p}`);
      if (o.problems.length > 20) console.log(`      … and ${o.problems.length - 20} more`);
    }
  }
  console.log(line);
}

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'koto-card-drill-'));
  // As root, PostgreSQL runs as its own user, which must be able to reach its data directory.
  chmodSync(dir, 0o755);
  say(`starting the supervisor (npm start's) in ${dir}`);
  const stack = await SupervisedStack.launch(join(dir, 'data'), { CARD_POLICY_JSON: JSON.stringify({ renoticeAfterMs: RENOTICE_AFTER_MS }) }, (line) => {
    // The supervisor's own lines (exits, restarts), not the banner.
    if (line.startsWith('[start]')) say(`  supervisor: ${line.slice(8)}`);
  });
  const pids = new Set<number>();
  const stop = async () => {
    for (const p of Object.values(stack.stackFile()?.pids ?? {})) if (p) pids.add(p);
    if (stack.child.exitCode === null) await stack.signal('SIGTERM').catch((e: Error) => say(e.message));
    stack.killAll([...pids]);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      say(`${signal}: stopping the stack`);
      void stop().finally(() => process.exit(130));
    });
  }
  let d: Drill | undefined;
  try {
    const file = await stack.waitHealthy(180_000);
    say(`stack up: API ${stack.apiUrl}, Temporal ${file.temporalAddress}`);
    const orm = await openOrm(file.databaseUrl);
    const connection = await Connection.connect({ address: file.temporalAddress });
    const auth = new AuthService(new UsersRepository(orm.em));
    await auth.createUser({ username: 'drill-office', role: 'office' });
    const { token } = await auth.createToken('drill-office', 'drill');
    const ward = await wardSession(orm, auth, file, join(dir, 'data'));
    d = { stack, file, orm, connection, client: new Client({ connection }), officeToken: token, ward };

    if (wanted(1)) await registrationDrill(d, `1. kill -9 the worker during a registration batch of ${BATCH} cards, retry the batch`, 'DRW', 'worker');
    if (wanted(2)) await registrationDrill(d, `2. kill -9 the API during a registration batch of ${BATCH} cards, retry the batch`, 'DRA', 'api');
    if (wanted(3)) await bulkDrill(d, `3. kill -9 the worker during a bulk worklist job (re-notice approval of ${BULK} cards)`, 'DBW', 'worker');
    if (wanted(4)) await bulkDrill(d, `4. kill -9 the API during a bulk worklist job (re-notice approval of ${BULK} cards)`, 'DBA', 'api');
    if (wanted(5)) await registrationDrill(d, `5. kill -9 the Temporal dev server during a registration batch of ${BATCH} cards, retry the batch`, 'DRT', 'temporal');
    if (wanted(6)) await registrationDrill(d, `6. kill -9 PostgreSQL (the postmaster) during a registration batch of ${BATCH} cards, retry the batch`, 'DRP', 'postgres');

    printReport();
    return outcomes.every((o) => o.problems.length === 0) ? 0 : 1;
  } catch (e) {
    say(`the drill could not run: ${(e as Error).stack ?? String(e)}`);
    printReport();
    return 1;
  } finally {
    await d?.connection.close().catch(() => {});
    await d?.orm.close().catch(() => {});
    say('stopping the stack');
    await stop();
    const left = [...pids].filter((p) => isAlive(p));
    if (left.length > 0) say(`processes still alive after the stop: ${left.join(', ')}`);
    rmSync(dir, { recursive: true, force: true });
  }
}

process.exit(await main());
