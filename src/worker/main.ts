/** The worker process: card workflows and their activities on the `cards` task queue. */
import { NativeConnection } from '@temporalio/worker';
import { pino } from 'pino';
import { describeConfig, loadAppConfig } from '../config/app-config.js';
import { openOrm } from '../database/database.js';
import { installTemporalRuntime } from '../temporal/runtime.js';
import { createCardWorker } from './card-worker.js';

const config = loadAppConfig();
const log = pino({ level: config.LOG_LEVEL, base: { process: 'worker' } });
installTemporalRuntime(log, { handleSignals: true });
log.info({ config: describeConfig(config) }, 'worker starting');
const orm = await openOrm(config.DATABASE_URL);
const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
const worker = await createCardWorker({ connection, namespace: config.TEMPORAL_NAMESPACE, taskQueue: config.TEMPORAL_TASK_QUEUE, orm });
log.info({ taskQueue: config.TEMPORAL_TASK_QUEUE }, 'worker ready');
await worker.run();
await connection.close();
await orm.close();
log.info('worker stopped');
