/** The API process. */
import 'reflect-metadata';
import { Logger } from 'nestjs-pino';
import { createApp } from './app.factory.js';
import { describeConfig, loadAppConfig } from './config/app-config.js';

const config = loadAppConfig();
const app = await createApp();
const log = app.get(Logger);
log.log({ config: describeConfig(config) }, 'api starting');
await app.listen(config.PORT, config.HOST);
log.log(`api listening on ${config.HOST}:${config.PORT}`);
