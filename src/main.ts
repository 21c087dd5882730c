/** The API process. */
import 'reflect-metadata';
import { Logger } from 'nestjs-pino';
import { pino } from 'pino';
import { installTemporalRuntime } from './temporal/runtime.js';
import { createApp } from './app.factory.js';
import { describeConfig, loadAppConfig } from './config/app-config.js';

const config = loadAppConfig();
// The replay check runs a replay worker inside the API: its logs go to the API's log, not the console.
installTemporalRuntime(pino({ level: config.LOG_LEVEL, base: { process: 'api', component: 'temporal' } }));
const app = await createApp();
const log = app.get(Logger);
log.log({ config: describeConfig(config) }, 'api starting');
await app.listen(config.PORT, config.HOST);
log.log(`api listening on ${config.HOST}:${config.PORT}`);
