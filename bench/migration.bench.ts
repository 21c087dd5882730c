/**
 * `npm run bench:migration`: the previous vendor's hand-over (R-11.1), 17,000 rows of a CP932 export
 * through the real import (MigrationService, as the CLI and the page run it) to live workflows and
 * the read model, on `npm start`'s own stack (its supervisor in a directory of its own, on free
 * ports: PostgreSQL, the Temporal dev server, the API and worker processes). Beside it, the bare
 * workflow-start rate of the same stack, measured first; then the time of a re-run of the same
 * files, which creates nothing. Targets (issue 11): rows/s ≥ 0.4 × the bare start rate; a re-run in
 * ≤ 10 % of the first run's time. BENCH_SCALE=0.1 shrinks the run. A report, not a test.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';
import { waitForFirstTasks } from './first-tasks.js';
import { safeRandomUUID } from '../src/common/my-number.js';
import { loadWardConfig } from '../src/config/ward-config.js';
import { openOrm } from '../src/database/database.js';
import { SupervisedStack } from '../src/dev/supervised-stack.js';
import { LEGACY_GAIJI_CSV, legacyExport, legacyMappingFile, legacyRow } from '../src/migration/legacy-fixture.js';
import { MigrationService } from '../src/migration/migration.service.js';
import { EraTable } from '../src/printing/japanese-era.js';
import type { noopWorkflow } from './noop.workflow.js';

const SCALE = Math.min(1, Math.max(0.01, Number(process.env.BENCH_SCALE ?? 1)));
const ROWS = Math.round(17_000 * SCALE);
const BARE_STARTS = Math.max(200, Math.round(3_000 * SCALE));
const BARE_IN_FLIGHT = 32;
const TARGET_RATIO = 0.4;
const TARGET_RERUN = 0.1;

const T0 = performance.now();
const LOAD_AT_START = loadavg().map((x) => x.toFixed(1)).join(' ');
const say = (m: string) => process.stderr.write(`[bench ${((performance.now() - T0) / 1000).toFixed(1).padStart(6)} s] ${m}\n`);
const report: { figure: string; measured: string; target: string; pass?: boolean }[] = [];
const cleanups: { name: string; run: () => Promise<unknown> }[] = [];
async function cleanup(): Promise<void> {
  for (let c = cleanups.pop(); c; c = cleanups.pop()) {
    try {
      await c.run();
    } catch (e) {
      say(`cleanup of ${c.name} failed: ${String(e)}`);
    }
  }
}

async function inPool(count: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, async () => {
    while (next < count) await fn(next++);
  }));
}

/** Bare `workflow.start`s on a queue nobody polls: only the start is measured. */
async function bareStarts(client: Client, prefix: string, count: number): Promise<number> {
  const taskQueue = `unpolled-${prefix}-${safeRandomUUID().slice(0, 8)}`;
  const t0 = performance.now();
  await inPool(count, BARE_IN_FLIGHT, async (i) => {
    await client.workflow.start<typeof noopWorkflow>('noopWorkflow', { taskQueue, workflowId: `${prefix}-${i}`, args: [] });
  });
  return count / ((performance.now() - t0) / 1000);
}

/** The export: rows spread over the ward's towns and the usual states, every tenth name with a 外字. */
function exportRows(prefix: string, count: number): Buffer {
  const towns = loadWardConfig().towns;
  const states = ['30', '30', '30', '31', '20', '20', '10', '50'];
  const venues: Record<string, string> = { kuyakusho: 'K01', toyosu: 'T01', oshima: 'O01' };
  const rows = Array.from({ length: count }, (_, i) => {
    const town = towns[i % towns.length];
    const status = states[i % states.length];
    return legacyRow(`${prefix}${String(i).padStart(6, '0')}`, {
      氏名: i % 10 === 0 ? '\uE000橋 一郎' : '江東 太郎',
      郵便番号: town.postalCode.replace('-', ''),
      住所: `東京都江東区${town.town}1-${(i % 30) + 1}-1`,
      会場: venues[town.venueId] ?? 'K01',
      状態: status,
      予約番号: status === '10' ? '' : `${prefix}N${String(i).padStart(7, '0')}`,
      通知日: status === '10' || status === '20' ? '' : 'R6.4.10',
    });
  });
  return legacyExport(rows);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'koto-migration-bench-'));
  chmodSync(dir, 0o755);
  cleanups.push({ name: 'temp dir', run: async () => rmSync(dir, { recursive: true, force: true }) });
  say(`starting npm start's supervisor in ${dir}`);
  const stack = await SupervisedStack.launch(join(dir, 'data'), { LOG_LEVEL: 'warn' }, (line) => {
    if (line.startsWith('[start]')) say(`  supervisor: ${line.slice(8)}`);
  });
  cleanups.push({
    name: 'npm start stack',
    run: async () => {
      const pids = Object.values(stack.stackFile()?.pids ?? {});
      if (stack.child.exitCode === null) await stack.signal('SIGTERM').catch((e: Error) => say(e.message));
      stack.killAll(pids);
    },
  });
  const file = await stack.waitHealthy(300_000);
  const orm = await openOrm(file.databaseUrl);
  cleanups.push({ name: 'ORM', run: () => orm.close() });
  const connection = await Connection.connect({ address: file.temporalAddress });
  cleanups.push({ name: 'connection', run: () => connection.close() });
  const client = new Client({ connection });
  const service = new MigrationService({ em: orm.em, ward: loadWardConfig(), eras: EraTable.load(), taskQueue: 'cards' });
  const user = { username: 'bench-migration', role: 'office' };
  const files = (prefix: string, count: number) => ({ fileName: `${prefix}.csv`, export: exportRows(prefix, count), mapping: legacyMappingFile(), gaiji: Buffer.from(LEGACY_GAIJI_CSV) });

  say('warm-up: 300 rows imported, 200 bare starts');
  await service.run(service.prepare(files('BW', 300)), user);
  await bareStarts(client, 'warm', 200);
  say(`bare client.workflow.start on this stack: ${BARE_STARTS} starts, ${BARE_IN_FLIGHT} in flight`);
  const bare = await bareStarts(client, 'bare', BARE_STARTS);
  say(`  ${bare.toFixed(0)} starts/s`);

  const input = files('BM', ROWS);
  say(`import: ${ROWS.toLocaleString('en')} rows (${(input.export.length / 1024 / 1024).toFixed(1)} MB CP932), until every card is readable`);
  const t0 = performance.now();
  let last = 0;
  const first = await service.run(service.prepare(input), user, {
    ...(process.env.BENCH_PARALLEL ? { parallelBatches: Number(process.env.BENCH_PARALLEL) } : {}),
    ...(process.env.BENCH_BATCH ? { batchSize: Number(process.env.BENCH_BATCH) } : {}),
    onProgress: (p) => {
      if (p.done - last >= ROWS / 10) {
        last = p.done;
        say(`  ${p.done} rows (${(p.done / ((performance.now() - t0) / 1000)).toFixed(0)} rows/s)`);
      }
    },
  });
  // Every card readable (the run waits for it) and every workflow past its first task.
  const liveAt = await waitForFirstTasks(client, Array.from({ length: ROWS }, (_, i) => `BM${String(i).padStart(6, '0')}`), 600_000, say);
  const seconds = (liveAt - t0) / 1000;
  const rate = ROWS / seconds;
  say(`  ${first.imported} imported, ${first.refused} refused in ${seconds.toFixed(1)} s: ${rate.toFixed(0)} rows/s (${(rate / bare).toFixed(2)} × bare)`);

  say('re-run of the same files');
  const t1 = performance.now();
  const again = await service.run(service.prepare(input), user);
  const rerun = (performance.now() - t1) / 1000;
  const events = await orm.em.fork().execute<{ n: string }[]>(`select count(*) as n from card_event where card_id like 'BM%' and type = 'migrated'`);
  say(`  ${rerun.toFixed(1)} s; ${again.imported} imported rows in the run, ${events[0].n} migrated events (one per card)`);

  const minutes = (x: number) => `${Math.floor(x / 60)} min ${String(Math.round(x % 60)).padStart(2, '0')} s`;
  report.push(
    { figure: 'Bare workflow.start (npm start stack)', measured: `${bare.toFixed(0)} starts/s`, target: 'reference' },
    { figure: `Import of ${ROWS.toLocaleString('en')} rows until readable and started`, measured: `${minutes(seconds)} (${rate.toFixed(0)} rows/s)`, target: `≤ ${minutes(ROWS / (TARGET_RATIO * bare))}` },
    { figure: 'Import rows/s / bare start rate', measured: (rate / bare).toFixed(2), target: `≥ ${TARGET_RATIO}`, pass: rate >= TARGET_RATIO * bare },
    { figure: 'Re-run of the same files (creates nothing)', measured: `${rerun.toFixed(1)} s (${((rerun / seconds) * 100).toFixed(1)} %)`, target: `≤ ${(TARGET_RERUN * 100).toFixed(0)} % of the first run`, pass: rerun <= TARGET_RERUN * seconds && Number(events[0].n) === first.imported },
  );
}

let exitCode = 0;
try {
  await main();
} catch (e) {
  say(`failed: ${(e as Error | undefined)?.stack ?? String(e)}`);
  exitCode = 1;
} finally {
  if (report.length) {
    console.log('');
    console.log(`Migration benchmark — ${new Date().toISOString()}, Node ${process.versions.node}, ${cpus().length} CPUs; load average at start ${LOAD_AT_START}, at end ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
    for (const r of report) console.log(`| ${r.figure} | ${r.measured} | ${r.target} | ${r.pass === undefined ? '' : r.pass ? 'PASS' : 'FAIL'} |`);
  }
  say('cleaning up');
  await cleanup();
}
process.exit(exitCode);
