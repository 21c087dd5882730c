/**
 * The API and the card worker as separate processes, as `npm start`'s supervisor runs them
 * (dist/src/main.js, dist/src/worker/main.js), on a benchmark's PostgreSQL and Temporal and a task
 * queue of their own: shared by `bench:cards` and `bench:booking`.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { freePort } from '../src/dev/local-stack.js';

export interface AppProcessesOptions {
  pgUrl: string;
  temporalAddress: string;
  taskQueue: string;
  /** Extra Node.js flags (e.g. `--trace-gc`) for both processes. */
  nodeFlags?: string[];
  /** Extra environment for both processes. */
  env?: Record<string, string>;
  /** Each line a process writes to its standard output (ignored without this). */
  onStdoutLine?: (name: 'api' | 'worker', line: string, spawnedAt: number) => void;
  /** Where the processes' stops are registered (run newest first by the benchmark). */
  cleanups: { name: string; run: () => Promise<unknown> }[];
  say: (message: string) => void;
}

export interface AppProcesses {
  baseUrl: string;
  pids: { api: number; worker: number };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts both processes and waits until the API answers healthy (at most 180 s). */
export async function startAppProcesses(o: AppProcessesOptions): Promise<AppProcesses> {
  const port = await freePort();
  const env = {
    ...process.env,
    DATABASE_URL: o.pgUrl,
    TEMPORAL_ADDRESS: o.temporalAddress,
    TEMPORAL_TASK_QUEUE: o.taskQueue,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    ...o.env,
  };
  const spawnOne = (name: 'api' | 'worker', script: string) => {
    const spawnedAt = performance.now();
    const child = spawn(process.execPath, ['--enable-source-maps', ...(o.nodeFlags ?? []), resolve(script)], {
      env,
      stdio: ['ignore', o.onStdoutLine ? 'pipe' : 'ignore', 'pipe'],
    });
    if (o.onStdoutLine) {
      let partial = '';
      child.stdout!.on('data', (d: Buffer) => {
        const lines = (partial + d.toString()).split('\n');
        partial = lines.pop()!;
        for (const l of lines) o.onStdoutLine!(name, l, spawnedAt);
      });
    }
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    const exited = new Promise<void>((res) => child.once('exit', () => res()));
    let stopping = false;
    child.once('exit', (code, signal) => {
      if (!stopping) o.say(`the ${name} process exited (${code ?? signal}): ${err}`);
    });
    o.cleanups.push({
      name: `${name} process`,
      run: async () => {
        stopping = true;
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        await Promise.race([exited, sleep(20_000)]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      },
    });
    return child;
  };
  const worker = spawnOne('worker', 'dist/src/worker/main.js');
  const api = spawnOne('api', 'dist/src/main.js');
  const baseUrl = `http://127.0.0.1:${port}`;
  for (const until = Date.now() + 180_000; ; ) {
    try {
      const res = await fetch(`${baseUrl}/api/health`);
      if (res.ok && ((await res.json()) as { status: string }).status === 'up') break;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error('the API and worker processes did not become healthy within 180 s');
    await sleep(250);
  }
  return { baseUrl, pids: { api: api.pid!, worker: worker.pid! } };
}
