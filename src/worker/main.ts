/** The worker process: card workflows and their activities on the `cards` task queue. */
import { NativeConnection, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import { pino } from 'pino';
import { describeConfig, loadAppConfig } from '../config/app-config.js';
import { openOrm } from '../database/database.js';
import { createCardWorker } from './card-worker.js';

const config = loadAppConfig();
const log = pino({ level: config.LOG_LEVEL, base: { process: 'worker' } });
Runtime.install({
  logger: {
    log: (level, message, meta) => log[level === 'TRACE' ? 'trace' : (level.toLowerCase() as 'info')]({ ...meta }, message),
    trace: (m, meta) => log.trace(meta ?? {}, m),
    debug: (m, meta) => log.debug(meta ?? {}, m),
    info: (m, meta) => log.info(meta ?? {}, m),
    warn: (m, meta) => log.warn(meta ?? {}, m),
    error: (m, meta) => log.error(meta ?? {}, m),
  },
  telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} } },
});
log.info({ config: describeConfig(config) }, 'worker starting');
const orm = await openOrm(config.DATABASE_URL);
const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
const worker = await createCardWorker({ connection, namespace: config.TEMPORAL_NAMESPACE, taskQueue: config.TEMPORAL_TASK_QUEUE, orm });
log.info({ taskQueue: config.TEMPORAL_TASK_QUEUE }, 'worker ready');
await worker.run();
await connection.close();
await orm.close();
log.info('worker stopped');
