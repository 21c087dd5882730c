import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Client, Connection } from '@temporalio/client';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';

export const TEMPORAL_CONNECTION = Symbol('TEMPORAL_CONNECTION');

/** The Temporal client. The connection is lazy so that the API starts (and reports it down) without Temporal. */
@Global()
@Module({
  providers: [
    { provide: TEMPORAL_CONNECTION, inject: [APP_CONFIG], useFactory: (c: AppConfig) => Connection.lazy({ address: c.TEMPORAL_ADDRESS }) },
    {
      provide: Client,
      inject: [TEMPORAL_CONNECTION, APP_CONFIG],
      useFactory: (connection: Connection, c: AppConfig) => new Client({ connection, namespace: c.TEMPORAL_NAMESPACE }),
    },
  ],
  exports: [Client, TEMPORAL_CONNECTION],
})
export class TemporalModule implements OnApplicationShutdown {
  constructor(@Inject(TEMPORAL_CONNECTION) private readonly connection: Connection) {}
  async onApplicationShutdown(): Promise<void> {
    await this.connection.close();
  }
}
