/** The print worker process: PDF rendering on the `print` task queue (see print-worker.ts). */
import { NativeConnection } from '@temporalio/worker';
import { pino } from 'pino';
import { describeConfig, loadAppConfig } from '../config/app-config.js';
import { loadWardConfig } from '../config/ward-config.js';
import { openOrm } from '../database/database.js';
import { installTemporalRuntime } from '../temporal/runtime.js';
import { createPrintWorker } from './print-worker.js';

const config = loadAppConfig();
const log = pino({ level: config.LOG_LEVEL, base: { process: 'print-worker' } });
installTemporalRuntime(log, { handleSignals: true });
log.info({ config: describeConfig(config) }, 'print worker starting');
const orm = await openOrm(config.DATABASE_URL);
const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
const created = await createPrintWorker({
  connection,
  namespace: config.TEMPORAL_NAMESPACE,
  taskQueue: config.PRINT_TASK_QUEUE,
  orm,
  ward: loadWardConfig(),
  publicUrl: config.publicUrl,
  printDir: config.PRINT_DIR,
  chunkItems: config.PRINT_CHUNK_ITEMS,
}).catch((e: Error) => {
  // No print font (or Chromium): printing waits on its task queue until this is fixed and the
  // worker restarted; the rest of the system runs. Staying up avoids a restart loop.
  log.error({ err: e.message }, 'printing unavailable');
  return undefined;
});
if (!created) {
  await new Promise<void>((resolve) => ['SIGINT', 'SIGTERM'].forEach((s) => process.once(s, () => resolve())));
  await connection.close();
  await orm.close();
  process.exit(0);
}
const { worker, renderer } = created;
log.info({ taskQueue: config.PRINT_TASK_QUEUE }, 'print worker ready');
await worker.run();
await renderer.close();
await connection.close();
await orm.close();
log.info('print worker stopped');
