/**
 * `npm start`: the whole system on one machine. Embedded PostgreSQL and the Temporal dev server
 * (state in files under .data/) unless DATABASE_URL / TEMPORAL_ADDRESS point elsewhere; migrations;
 * the worker and the API as child processes; demo data on the first start. Ctrl-C stops everything.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { migrate } from '../database/database.js';
import { type DemoUser, loadDemoData } from '../demo/demo-data.js';
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

const services: RunningService[] = [];
const children: ChildProcess[] = [];
let stopping = false;

async function stopAll(code: number): Promise<never> {
  if (stopping) process.exit(code);
  stopping = true;
  say('stopping…');
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((res) => {
          if (c.exitCode !== null || c.signalCode !== null) return res();
          c.once('exit', () => res());
          c.kill('SIGTERM');
          setTimeout(() => c.kill('SIGKILL'), 10_000).unref();
        }),
    ),
  );
  for (const s of services.reverse()) await s.stop().catch((e) => say(`stop failed: ${String(e)}`));
  rmSync(join(dataDir, 'local-stack.json'), { force: true });
  say('stopped');
  process.exit(code);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

function spawnChild(name: string, script: string, env: NodeJS.ProcessEnv): ChildProcess {
  const out = createWriteStream(join(logDir, `${name}.log`), { flags: 'a' });
  const child = spawn(process.execPath, ['--enable-source-maps', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  child.on('exit', (code, signal) => {
    if (stopping) return;
    say(`${name} exited (${signal ?? code}); see ${join(logDir, `${name}.log`)}`);
    void stopAll(1);
  });
  children.push(child);
  return child;
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
      const pg = await startEmbeddedPostgres({
        dir: join(dataDir, 'postgres'),
        port: Number(process.env.EMBEDDED_PG_PORT ?? 54329),
        database: 'cards',
        onLog: (l) => pgLog.write(l + '\n'),
      });
      services.push(pg);
      databaseUrl = pg.appUrl;
      migrationUrl = pg.url;
    })(),
    (async () => {
      if (temporalAddress) return;
      const temporal = await startTemporalDevServer({
        cliPath: process.env.TEMPORAL_CLI_PATH,
        port: Number(process.env.TEMPORAL_PORT ?? 7233),
        uiPort: Number(process.env.TEMPORAL_UI_PORT ?? 8233),
        dbFile: join(dataDir, 'temporal.db'),
        onLog: (l) => temporalLog.write(l),
      });
      services.push(temporal);
      temporalAddress = temporal.address;
      temporalUi = temporal.uiUrl;
    })(),
  ]);
  const applied = await migrate(migrationUrl!);
  if (applied.length > 0) say(`applied migrations: ${applied.join(', ')}`);

  const env = { ...process.env, DATABASE_URL: databaseUrl, MIGRATION_DATABASE_URL: undefined, TEMPORAL_ADDRESS: temporalAddress, PORT: String(port) };
  spawnChild('worker', 'dist/src/worker/main.js', env);
  spawnChild('api', 'dist/src/main.js', env);
  await waitForPort(port, 60_000);
  const apiUrl = `http://localhost:${port}`;
  await waitForHealth(`${apiUrl}/api/health`, 60_000);
  writeFileSync(join(dataDir, 'local-stack.json'), JSON.stringify({ databaseUrl, migrationDatabaseUrl: migrationUrl, temporalAddress, apiUrl }, null, 2));

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
  console.log('');
  console.log('  Ctrl-C stops everything; the data stays in .data/ for the next start.');
} catch (e) {
  say(`failed: ${(e as Error).stack ?? String(e)}`);
  await stopAll(1);
}
