/**
 * `npm start`'s supervisor (dist/src/dev/start.js) run as a child process in a directory of its own, on
 * free ports: what the supervisor test and `npm run drill` crash and restart. Run from the project root
 * after the build (`npm test` and `npm run drill` build first).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort } from './local-stack.js';

/** The pids the supervisor writes to local-stack.json; a child being restarted has none. */
export interface StackPids {
  supervisor: number;
  postgres?: number;
  temporal?: number;
  worker?: number;
  api?: number;
}

export interface StackFile {
  databaseUrl: string;
  migrationDatabaseUrl: string;
  temporalAddress: string;
  apiUrl: string;
  pids: StackPids;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether a process exists (a zombie not yet reaped counts as existing). */
export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function waitUntil<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined, everyMs = 200): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export class SupervisedStack {
  /** Everything the supervisor printed. */
  output = '';
  private exited: Promise<number | null>;

  private constructor(
    readonly dataDir: string,
    readonly ports: { api: number; temporal: number; temporalUi: number; postgres: number },
    readonly child: ChildProcess,
  ) {
    child.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((res) => child.once('exit', (code) => res(code)));
  }

  /** Starts the supervisor with its data in `dataDir` (which, as root, must be reachable by PostgreSQL's own user). */
  static async launch(dataDir: string, env: NodeJS.ProcessEnv = {}, echo?: (line: string) => void): Promise<SupervisedStack> {
    const ports = { api: await freePort(), temporal: await freePort(), temporalUi: await freePort(), postgres: await freePort() };
    const child = spawn(process.execPath, ['--enable-source-maps', resolve('dist/src/dev/start.js')], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        // Its own embedded PostgreSQL and Temporal dev server, whatever the caller's environment names.
        DATABASE_URL: undefined,
        MIGRATION_DATABASE_URL: undefined,
        TEMPORAL_ADDRESS: undefined,
        DATA_KEY: undefined,
        DEMO: '0',
        LOG_LEVEL: 'info',
        ...env,
        DATA_DIR: dataDir,
        PORT: String(ports.api),
        TEMPORAL_PORT: String(ports.temporal),
        TEMPORAL_UI_PORT: String(ports.temporalUi),
        EMBEDDED_PG_PORT: String(ports.postgres),
      },
    });
    const stack = new SupervisedStack(dataDir, ports, child);
    if (echo) {
      let partial = '';
      const lines = (d: Buffer) => {
        const all = (partial + d.toString()).split('\n');
        partial = all.pop()!;
        for (const l of all) if (l.trim()) echo(l);
      };
      child.stdout!.on('data', lines);
      child.stderr!.on('data', lines);
    }
    return stack;
  }

  get apiUrl(): string {
    return `http://localhost:${this.ports.api}`;
  }

  /** local-stack.json as the supervisor last wrote it, or undefined before it has. */
  stackFile(): StackFile | undefined {
    const file = join(this.dataDir, 'local-stack.json');
    if (!existsSync(file)) return undefined;
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as StackFile;
    } catch {
      return undefined; // being written
    }
  }

  async healthy(): Promise<boolean> {
    try {
      const res = await fetch(`${this.apiUrl}/api/health`);
      return res.ok && ((await res.json()) as { status: string }).status === 'up';
    } catch {
      return false;
    }
  }

  /** Waits for /api/health to answer "up" and local-stack.json to name a worker and an API pid. */
  async waitHealthy(timeoutMs: number): Promise<StackFile> {
    return waitUntil(`a healthy stack (supervisor output: ${this.output.slice(-2000)})`, timeoutMs, async () => {
      if (this.child.exitCode !== null) throw new Error(`the supervisor exited (${this.child.exitCode}): ${this.output.slice(-2000)}`);
      const file = this.stackFile();
      if (!file?.pids.worker || !file.pids.api) return undefined;
      return (await this.healthy()) ? file : undefined;
    });
  }

  /** Sends a signal to the supervisor alone and waits for it to exit; its exit code. */
  async signal(signal: NodeJS.Signals, timeoutMs = 90_000): Promise<number | null> {
    this.child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the supervisor did not exit within ${timeoutMs} ms of ${signal}: ${this.output.slice(-2000)}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Last resort for a failed run: kill -9 every process of the stack. */
  killAll(pids: (number | undefined)[]): void {
    for (const pid of [this.child.pid, ...pids]) {
      if (isAlive(pid)) {
        try {
          process.kill(pid!, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
  }
}
