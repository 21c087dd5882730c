/**
 * Starts the real parts every test file shares: an embedded PostgreSQL (throw-away, fsync off) with
 * the migrations applied, and the Temporal dev server in memory. Test files read their addresses
 * from the environment; each file uses its own task queue so that files never steal each other's work.
 * The ward calendar's slots are generated once, here: an API that generated them at its start (as it
 * does outside tests) would close, as outside the day's hours, the slots of today that another file
 * running at the same time made for its no-show and walk-in stories.
 * Plain ESM over the SWC build in dist/ (`npm test` builds it first): Jest loads this file outside
 * its module system.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate } from '../dist/src/database/database.js';
import { freePort, startEmbeddedPostgres, startTemporalDevServer } from '../dist/src/dev/local-stack.js';
import { workflowBundle } from '../dist/src/worker/replay.js';

export default async function globalSetup() {
  const dir = mkdtempSync(join(tmpdir(), 'koto-card-test-'));
  // As root, PostgreSQL runs as its own user, which must be able to reach its data directory.
  chmodSync(dir, 0o755);
  const [pgPort, temporalPort] = [await freePort(), await freePort()];
  const [pg, temporal, bundle] = await Promise.all([
    startEmbeddedPostgres({ dir: join(dir, 'pg'), port: pgPort, database: 'cards_test', ephemeral: true }),
    startTemporalDevServer({ cliPath: process.env.TEMPORAL_CLI_PATH, port: temporalPort }),
    workflowBundle(),
  ]);
  // Migrations as the owner; the tests, like the application, connect as the role `cards_app`.
  await migrate(pg.url);
  execFileSync(process.execPath, ['dist/src/cli.js', 'slots', 'generate'], { env: { ...process.env, DATABASE_URL: pg.appUrl }, stdio: ['ignore', 'ignore', 'inherit'] });
  process.env.SLOT_GENERATION_MINUTES = '0';
  const bundlePath = join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);
  process.env.DATABASE_URL = pg.appUrl;
  process.env.MIGRATION_DATABASE_URL = pg.url;
  process.env.TEMPORAL_ADDRESS = temporal.address;
  process.env.TEST_WORKFLOW_BUNDLE = bundlePath;
  process.env.LOG_LEVEL = process.env.LOG_LEVEL ?? 'silent';
  // Dates must come out in Asia/Tokyo whatever the machine's time zone.
  process.env.TZ = 'America/Los_Angeles';
  globalThis.__kotoStack = { pg, temporal, dir };
}
