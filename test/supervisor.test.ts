/**
 * The `npm start` supervisor for real (dist/src/dev/start.js with its own embedded PostgreSQL and
 * Temporal dev server in a temporary directory): a worker killed with SIGKILL is started again and the
 * system becomes healthy again, and so are a killed Temporal dev server and PostgreSQL; SIGTERM to the
 * supervisor alone stops every process of the stack.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type StackFile, SupervisedStack, isAlive, waitUntil } from '../src/dev/supervised-stack.js';

describe('npm start supervisor', () => {
  let dir: string;
  let stack: SupervisedStack | undefined;
  const seen = new Set<number>();

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'koto-card-supervisor-'));
    // As root, PostgreSQL runs as its own user, which must be able to reach its data directory.
    chmodSync(dir, 0o755);
  });

  afterAll(() => {
    // Only after a failure is anything left to kill.
    stack?.killAll([...seen]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('restarts a killed worker, Temporal dev server and PostgreSQL, and stops every child on SIGTERM to the supervisor alone', async () => {
    stack = await SupervisedStack.launch(join(dir, 'data'));
    const first: StackFile = await stack.waitHealthy(120_000);
    const pids = first.pids;
    for (const pid of Object.values(pids)) if (pid) seen.add(pid);
    expect(pids.supervisor).toBe(stack.child.pid);
    for (const name of ['postgres', 'temporal', 'worker', 'api'] as const) expect(isAlive(pids[name])).toBe(true);

    process.kill(pids.worker!, 'SIGKILL');
    const restarted = await waitUntil('a new worker pid in local-stack.json', 30_000, () => {
      const w = stack!.stackFile()?.pids.worker;
      return w && w !== pids.worker && isAlive(w) ? w : undefined;
    });
    seen.add(restarted);
    expect(stack.output).toMatch(/worker exited \(SIGKILL\) after [\d.]+ s; restarting it in 1 s/);
    // The new worker polls again: it says so in its log, and the health check is up.
    await waitUntil('the restarted worker to be ready', 90_000, () => readFileSync(join(dir, 'data/logs/worker.log'), 'utf8').split('worker ready').length - 1 >= 2 || undefined);
    await stack.waitHealthy(30_000);
    expect(isAlive(pids.worker)).toBe(false);
    // The other processes were not disturbed.
    expect(stack.stackFile()?.pids).toMatchObject({ postgres: pids.postgres, temporal: pids.temporal, api: pids.api });

    // The Temporal dev server and PostgreSQL, killed, are started again on the same ports and data.
    for (const name of ['temporal', 'postgres'] as const) {
      const before = stack.stackFile()!.pids[name]!;
      process.kill(before, 'SIGKILL');
      const after = await waitUntil(`a new ${name} pid in local-stack.json`, 60_000, () => {
        const p = stack!.stackFile()?.pids[name];
        return p && p !== before && isAlive(p) ? p : undefined;
      });
      seen.add(after);
      expect(stack.output).toContain(`${name} (pid ${before}) exited`);
      await stack.waitHealthy(60_000);
    }

    const code = await stack.signal('SIGTERM');
    expect(code).toBe(0);
    expect(stack.output).toContain('[start] stopped');
    // Orphans are reaped by init a moment after the supervisor has gone.
    const survivors = await waitUntil('every child to be gone', 10_000, () => {
      const alive = [...seen].filter((pid) => isAlive(pid));
      return alive.length === 0 ? alive : undefined;
    }).catch(() => [...seen].filter((pid) => isAlive(pid)));
    expect(survivors).toEqual([]);
  }, 240_000);
});
