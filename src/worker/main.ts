/** The worker process: card workflows and their activities on the `cards` task queue. */
import { Client, Connection } from '@temporalio/client';
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
// A client for activities that act on cards (a mail batch's hand-over sends each card an Update).
const clientConnection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
const client = new Client({ connection: clientConnection, namespace: config.TEMPORAL_NAMESPACE });
// It also starts the workflows of the cards registered on its task queue (the outbox, `CardStarter`).
const worker = await createCardWorker({
  connection,
  namespace: config.TEMPORAL_NAMESPACE,
  taskQueue: config.TEMPORAL_TASK_QUEUE,
  orm,
  client,
  databaseUrl: config.DATABASE_URL,
  log,
});
log.info({ taskQueue: config.TEMPORAL_TASK_QUEUE }, 'worker ready');
await worker.run();
await clientConnection.close();
await connection.close();
await orm.close();
log.info('worker stopped');
